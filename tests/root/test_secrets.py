"""The root session's secret key and session token never reach the journal, the evidence, the
logs, the output or an error message (nor any file the tool writes)."""

from __future__ import annotations

import re

import pytest

from breakglass_aws.testing import seed_root_credentials
from tests.support.root import AssumeRootSpy, locked_bucket, unlock_bucket

pytestmark = pytest.mark.reliability


def refuse_delete(model=None, **_):
    from botocore.exceptions import ClientError

    raise ClientError({"Error": {"Code": "AccessDenied", "Message": "denied by an RCP"}}, model.name)


def test_no_root_secret_is_written_or_shown(ready, cli, seeded_cloudtrail, tmp_path, monkeypatch, capfd):
    monkeypatch.setenv("BREAKGLASS_EVIDENCE_DIR", str(tmp_path / "evidence"))
    locked_bucket(ready.account)
    seed_root_credentials(ready.account)
    spy = AssumeRootSpy()
    runs = [
        unlock_bucket(cli, ready.account, "-vv", "--yes", "--output", "json", hooks=spy.hooks()),
        cli("-vv", "root", "audit", "--account", ready.account, "--output", "json", hooks=spy.hooks()),
        cli(
            "-vv", "root", "delete-credentials", "--account", ready.account, "--reason", "x", "--yes", hooks=spy.hooks()
        ),
        unlock_bucket(cli, ready.account, "--yes", bucket="not-this-bucket", hooks=spy.hooks()),
    ]
    assert [r.exit_code for r in runs] == [0, 0, 0, 2], [r.stderr for r in runs]
    locked_bucket(ready.account, name="second-bucket")
    stopped = unlock_bucket(
        cli,
        ready.account,
        "--yes",
        bucket="second-bucket",
        hooks=[*spy.hooks(), ("before-call.s3.DeleteBucketPolicy", refuse_delete)],
    )
    assert stopped.exit_code == 8 and "root task stopped" in stopped.stderr, stopped.stderr
    incident_id = runs[0].json()["incident_id"]
    stopped_id = re.search(r"error: (bg-[0-9-]+-[0-9a-f]+): ", stopped.stderr).group(1)
    closed = cli("close", stopped_id, "--yes")
    assert closed.exit_code == 0, closed.stderr
    runs += [stopped, cli("show", incident_id, "--output", "json"), cli("list"), closed]
    assert len(spy.secrets) == 2 * 5, "five root sessions, each a key and a token"
    captured = capfd.readouterr()
    texts = [r.stdout + r.stderr for r in runs] + [captured.out, captured.err]
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.name == "journal.jsonl" for p in files) and any(p.suffix == ".sqlite3" for p in files)
    for secret in spy.secrets:
        for text in texts:
            assert secret not in text
        for path in files:
            assert secret.encode() not in path.read_bytes(), path
    shown = runs[5].json()
    keys = [
        e["data"]["result"]["access_key_id"]
        for e in shown["journal"]
        if e["kind"] == "outcome" and e["data"]["step"]["action"] == "assume-root"
    ]
    assert keys and all(k.startswith("ASIA") for k in keys), "the access key id is journaled (it is no secret)"
