"""A crash between the sealed secret and the shares, and a scan of everything custody writes."""

from __future__ import annotations

import json

import pytest

from tests.custody.support import NAMES, caller_arn, configure, main_secret, open_print, share_of
from tests.support.crash import Crash
from tests.support.rotation import SECRET, USER, keys, make_user


@pytest.fixture
def custodians(monkeypatch, tmp_path):
    return configure(monkeypatch, tmp_path)


def crash_on_shares(params=None, **_):
    """before-call: `params` is the request about to be sent (its body names the secret)."""
    body = params["body"]
    if "/custody/" in (body.decode() if isinstance(body, bytes) else str(body)):
        raise Crash


def test_crash_before_the_shares_keeps_the_previous_key_and_a_rerun_finishes(aws_clients, cli, custodians, store_env):
    iam, sm = aws_clients
    make_user(iam, sm, keys=1, login=True)
    assert cli("rotate", "--user", USER).exit_code == 0
    before = json.loads(open_print(cli, *(share_of(cli, custodians, n) for n in ("alice", "bob"))).stdout)
    with pytest.raises(Crash):
        cli("rotate", "--user", USER, hooks=[("before-call.secretsmanager.PutSecretValue", crash_on_shares)])
    assert main_secret(sm)["rotation_id"] != main_secret(sm, "AWSPREVIOUS")["rotation_id"], "the seal was written"
    assert keys(iam)[before["AccessKeyId"]] == "Active", "the previous key is kept until the shares are written"
    assert caller_arn(before).endswith(f":user/{USER}")
    rerun = cli("rotate", "--user", USER, "--output", "json")
    assert rerun.exit_code == 0, rerun.stderr
    assert rerun.json()["resumed"] is True
    after = json.loads(open_print(cli, *(share_of(cli, custodians, n) for n in ("bob", "carol"))).stdout)
    assert keys(iam) == {after["AccessKeyId"]: "Active"}, "the old key and the unsealed one are both gone"
    assert caller_arn(after).endswith(f":user/{USER}")


def _all_secret_values(sm) -> str:
    values = []
    for listed in sm.list_secrets()["SecretList"]:
        versions = sm.list_secret_version_ids(SecretId=listed["Name"], IncludeDeprecated=True)["Versions"]
        for version in versions:
            got = sm.get_secret_value(SecretId=listed["Name"], VersionId=version["VersionId"])
            values.append(got["SecretString"])
    return "\n".join(values)


def _files(root) -> bytes:
    return b"\n".join(p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file())


def test_nothing_plain_is_written_anywhere(aws_clients, cli, custodians, monkeypatch, tmp_path):
    iam, sm = aws_clients
    safe = tmp_path / "safe"
    monkeypatch.setenv("BREAKGLASS_CUSTODY_SHARES_OUT", str(safe))
    make_user(iam, sm, keys=1, login=True)
    outputs = []
    for _ in range(2):
        run = cli("rotate", "--user", USER, "--output", "json")
        assert run.exit_code == 0, run.stderr
        outputs += [run.stdout, run.stderr]
    blobs = [share_of(cli, custodians, n) for n in NAMES]
    opened = open_print(cli, *blobs[:2])
    checked = cli("custody", "open", "--user", USER, "--share", blobs[1], "--share", blobs[2])
    creds = json.loads(opened.stdout)
    outputs += [opened.stderr, checked.stdout, checked.stderr]
    assert sorted(p.name.split(".")[1] for p in safe.iterdir() if main_secret(sm)["incident"] in p.name) == sorted(
        NAMES
    )
    plain = [creds["SecretAccessKey"], creds["ConsolePassword"], *(b.split(".")[1] for b in blobs)]
    written = {
        "journal and state files": _files(tmp_path / "state").decode("latin-1"),
        "offline share files": _files(safe).decode("latin-1"),
        "secrets": _all_secret_values(sm),
        "command output": "\n".join(outputs),
    }
    for where, text in written.items():
        for secret in plain:
            assert secret not in text, f"a plaintext secret in the {where}"
    assert SECRET  # the main secret was scanned with every version
