"""`root audit` and `root delete-credentials` on a member account whose (stand-in) root user holds a
console password, access keys, an MFA device and a signing certificate."""

from __future__ import annotations

import pytest

from breakglass_aws.testing_root import STAND_IN_ROOT_USER, seed_root_credentials
from tests.support.root import AssumeRootSpy

AUDIT = "arn:aws:iam::aws:policy/root-task/IAMAuditRootUserCredentials"
DELETE = "arn:aws:iam::aws:policy/root-task/IAMDeleteRootUserCredentials"


def root_user(account):
    """What the member account's IAM backend holds for its root user."""
    from moto.iam.models import iam_backends

    backend = iam_backends[account]["aws"]
    user = backend.get_user(STAND_IN_ROOT_USER)
    devices = [serial for serial in backend.virtual_mfa_devices if f":{account}:" in serial]
    return {
        "password": user.password is not None,
        "keys": [k.access_key_id for k in user.access_keys],
        "mfa": list(user.mfa_devices),
        "virtual_devices": devices,
        "certificates": list(user.signing_certificates),
    }


def test_audit_reports_the_root_credentials(ready, cli, journal_store):
    seeded = seed_root_credentials(ready.account, access_keys=2)
    spy = AssumeRootSpy()
    run = cli("root", "audit", "--account", ready.account, "--output", "json", hooks=spy.hooks())
    assert run.exit_code == 0, run.stderr
    found = run.json()["found"]
    assert found["login_profile"] is True
    assert sorted(k["access_key_id"] for k in found["access_keys"]) == sorted(seeded.access_keys)
    assert [m["serial"] for m in found["mfa_devices"]] == [seeded.mfa_serial]
    assert [c["certificate_id"] for c in found["signing_certificates"]] == [seeded.certificate_id]
    assert run.json()["status"] == "closed" and run.json()["target"] == f"root-credentials@{ready.account}"
    assert [s["params"]["TaskPolicyArn.arn"] for s in spy.sent] == [AUDIT]
    (journaled,) = [e.data for e in journal_store().entries(run.json()["incident_id"]) if e.kind == "root-credentials"]
    assert journaled["access_keys"] == found["access_keys"]
    text = cli("root", "audit", "--account", ready.account)
    assert "console password (login profile): yes" in text.stdout
    assert f"MFA devices: {seeded.mfa_serial}" in text.stdout
    assert root_user(ready.account)["keys"] == seeded.access_keys, "an audit changes nothing"


def test_audit_of_an_account_without_root_credentials(ready, cli):
    run = cli("root", "audit", "--account", ready.account)
    assert run.exit_code == 0, run.stderr
    assert "console password (login profile): none" in run.stdout and "access keys: none" in run.stdout


def test_delete_credentials_removes_every_one_journaled_step_by_step(ready, cli, journal_store):
    seeded = seed_root_credentials(ready.account, access_keys=2)
    spy = AssumeRootSpy()
    run = cli(
        "root",
        "delete-credentials",
        "--account",
        ready.account,
        "--reason",
        "INC-80 root keys leaked",
        "--yes",
        "--output",
        "json",
        hooks=spy.hooks(),
    )
    assert run.exit_code == 0, run.stderr
    assert root_user(ready.account) == {
        "password": False,
        "keys": [],
        "mfa": [],
        "virtual_devices": [],
        "certificates": [],
    }
    assert run.json()["remaining"]["access_keys"] == [] and run.json()["status"] == "closed"
    assert [s["params"]["TaskPolicyArn.arn"] for s in spy.sent] == [DELETE]
    entries = journal_store().entries(run.json()["incident_id"])
    done = [
        (e.data["step"]["action"], e.data["step"]["credential"])
        for e in entries
        if e.kind == "outcome" and e.data["step"]["action"] != "assume-root"
    ]
    assert done == [
        ("delete-login-profile", ""),
        *[("delete-access-key", key) for key in seeded.access_keys],
        ("delete-signing-certificate", seeded.certificate_id),
        ("deactivate-mfa-device", seeded.mfa_serial),
        ("delete-virtual-mfa-device", seeded.mfa_serial),
    ]
    intents = [e.seq for e in entries if e.kind == "intent"]
    outcomes = [e.seq for e in entries if e.kind == "outcome"]
    assert all(i < o for i, o in zip(intents, outcomes, strict=True)), "each intent before its call's outcome"


def test_delete_credentials_dry_run_and_declined_change_nothing(ready, cli, journal_store):
    seeded = seed_root_credentials(ready.account)
    dry = cli("root", "delete-credentials", "--account", ready.account, "--reason", "x", "--dry-run")
    assert dry.exit_code == 0, dry.stderr
    assert "IAMDeleteRootUserCredentials" in dry.stdout and "deactivate each MFA device" in dry.stdout
    declined = cli("root", "delete-credentials", "--account", ready.account, "--reason", "x", input="n\n")
    assert declined.exit_code == 3, declined.stderr
    assert root_user(ready.account)["keys"] == seeded.access_keys
    assert journal_store().list_incidents() == []


@pytest.mark.parametrize("task", ["audit", "delete-credentials"])
def test_an_open_credentials_incident_blocks_the_other_task(ready, cli, make_runtime, task):
    """One open incident per target: the other credentials task is refused, naming it."""
    from breakglass_aws.incident.root import RootAsk, run_root_task
    from breakglass_aws.runtime import whoami
    from tests.support.crash import Crash

    seed_root_credentials(ready.account)
    other = "delete-credentials" if task == "audit" else "audit"

    def crash(model=None, **_):
        raise Crash("kill -9")

    rt = make_runtime(hooks=[("before-call.iam.ListAccessKeys", crash)])
    with pytest.raises(Crash):
        run_root_task(rt, RootAsk(other, ready.account, "us-east-1"), whoami(rt), "x", None)  # type: ignore[arg-type]
    (open_one,) = rt.store.list_incidents()
    argv = ["root", task, "--account", ready.account, *(["--reason", "x", "--yes"] if task != "audit" else [])]
    run = cli(*argv)
    assert run.exit_code == 4, run.stderr
    assert f"has an open {other} incident {open_one.incident_id}" in run.stderr
