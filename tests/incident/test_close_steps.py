"""`close`: bad input changes nothing, each step proves its result, needs-attention names the
exact step and what to do, the wrong mode is refused, and the evidence hand-off resumes."""

from __future__ import annotations

from datetime import datetime

import pytest

from breakglass_aws.role.revoke import POLICY_NAME
from tests.support.crash import Crash
from tests.support.faults import reject
from tests.support.role import assume, revoke_policy
from tests.support.rotation import USER, keys, make_user, secret
from tests.support.scp import scp_incident


def journal_length(cli, incident_id):
    return len(cli("show", incident_id, "--output", "json").json()["journal"])


def status(cli, incident_id):
    return next(i for i in cli("list", "--output", "json").json() if i["incident_id"] == incident_id)


@pytest.mark.parametrize("missing", ["user", "secret"])
def test_close_with_unknown_user_or_secret_changes_nothing(org, aws_clients, cli, missing):
    iam, sm = aws_clients
    old = make_user(iam, sm, keys=1)
    incident_id, before = scp_incident(org, cli)
    detached = org.snapshot()
    assert detached != before
    if missing == "secret":
        sm.delete_secret(SecretId=f"breakglass/{USER}", ForceDeleteWithoutRecovery=True)
    name = "nosuch" if missing == "user" else USER
    entries = journal_length(cli, incident_id)
    calls: list[str] = []
    run = cli(
        "close",
        incident_id,
        "--yes",
        "--user",
        name,
        hooks=[("before-call", lambda model=None, **_: calls.append(model.name))],
    )
    assert run.exit_code == 2, run.stderr
    assert len(run.stderr.strip().splitlines()) == 1 and "hint:" in run.stderr
    assert (
        "IAM user 'nosuch' not found" if missing == "user" else f"secret 'breakglass/{USER}' not found"
    ) in run.stderr
    assert org.snapshot() == detached, "the SCPs are still detached"
    assert status(cli, incident_id)["status"] == "active"
    assert journal_length(cli, incident_id) == entries, "nothing journaled"
    assert not {"AttachPolicy", "DetachPolicy", "CreateAccessKey", "PutSecretValue"} & set(calls)
    assert set(keys(iam)) == set(old)


def test_close_rotation_failure_names_the_step_then_finishes(org, aws_clients, cli):
    iam, sm = aws_clients
    make_user(iam, sm, keys=1)
    incident_id, before = scp_incident(org, cli)
    refuse = ("before-call.iam.CreateAccessKey", reject("CreateAccessKey", "LimitExceeded", status=409)[1])
    run = cli("close", incident_id, "--yes", "--user", USER, hooks=[refuse])
    assert run.exit_code == 8
    assert f"close stopped at rotate:{USER} (could not create a new access key of {USER})" in run.stderr
    assert "LimitExceeded" in run.stderr
    assert run.stderr.count(f"breakglass close {incident_id}") == 1, "one instruction, not two"
    assert org.snapshot() == before, "the restore finished before the rotation stopped"
    listed = status(cli, incident_id)
    assert listed["status"] == "needs-attention"
    reason = listed["status_reason"]
    assert reason.startswith(f"close stopped at rotate:{USER} (could not create a new access key of {USER})")
    assert reason.endswith("; to finish: AWS refused the request (LimitExceeded, HTTP 409): fix what its message names")
    text = cli("list").stdout
    assert text.count(f"breakglass close {incident_id}") == 1, text
    calls: list[str] = []
    again = cli(
        "close",
        incident_id,
        "--yes",
        "--user",
        USER,
        hooks=[("before-call", lambda model=None, **_: calls.append(model.name))],
    )
    assert again.exit_code == 0, again.stderr
    assert "AttachPolicy" not in calls and "ListPoliciesForTarget" not in calls, "the restore is not repeated"
    assert keys(iam) == {secret(sm)["access_key_id"]: "Active"}


def test_close_reports_what_it_read_back(iam, aws_clients, cli):
    """Role incident: the revocation policy and the rotated keys are read back and reported."""
    _, sm = aws_clients
    old = make_user(iam, sm, keys=2, inactive=1, login=True)
    opened = assume(cli, "--format", "json").json()
    run = cli("close", opened["incident_id"], "--yes", "--user", USER, "--output", "json")
    assert run.exit_code == 0, run.stderr
    body = run.json()
    stored = secret(sm)
    (rotated,) = body["rotated"]
    assert rotated["verified"] == {
        "active_key_id": stored["access_key_id"],
        "secret_key_id": stored["access_key_id"],
        "old_keys_gone": sorted(old),
    }
    assert keys(iam) == {stored["access_key_id"]: "Active"}
    cutoff = revoke_policy(iam)["Statement"][0]["Condition"]["DateLessThan"]["aws:TokenIssueTime"]
    assert body["revoke_verified"] == {
        "role_arn": body["revoked"]["role_arn"],
        "policy_name": POLICY_NAME,
        "cutoff": cutoff,
    }
    created = cli("show", opened["incident_id"], "--output", "json").json()["created_at"]
    parse = lambda value: datetime.fromisoformat(value.replace("Z", "+00:00"))  # noqa: E731
    assert parse(cutoff) >= parse(created), "every session issued during the incident is cut off"
    text = cli("show", opened["incident_id"]).stdout
    assert "verified" in text


def test_close_text_shows_the_proof(iam, aws_clients, cli):
    _, sm = aws_clients
    old = make_user(iam, sm, keys=1, login=True)
    opened = assume(cli, "--format", "json").json()
    run = cli("close", opened["incident_id"], "--yes", "--user", USER)
    assert run.exit_code == 0, run.stderr
    stored = secret(sm)
    cutoff = revoke_policy(iam)["Statement"][0]["Condition"]["DateLessThan"]["aws:TokenIssueTime"]
    assert f"verified: {POLICY_NAME} read back, denying sessions issued before {cutoff}" in run.stdout
    assert (
        f"verified: {stored['access_key_id']} is the only key left, active and in the secret; old keys gone: {old[0]}"
        in run.stdout
    )
    assert stored["secret_access_key"] not in run.stdout + run.stderr
    assert stored["secret_access_key"] not in run.stdout and stored["password"] not in run.stdout


def test_close_refuses_an_edited_revocation(iam, aws_clients, cli):
    """The read-back catches a revocation policy that does not hold the cut-off we put."""
    opened = assume(cli, "--format", "json").json()

    def tamper(params=None, **_):
        params["PolicyDocument"] = params["PolicyDocument"].replace("Deny", "Allow")

    run = cli("close", opened["incident_id"], "--yes", hooks=[("before-parameter-build.iam.PutRolePolicy", tamper)])
    assert run.exit_code == 8
    assert "close stopped at revoke" in run.stderr and "revocation not confirmed" in run.stderr
    assert status(cli, opened["incident_id"])["status"] == "needs-attention"
    again = cli("close", opened["incident_id"], "--yes")
    assert again.exit_code == 0, again.stderr
    assert revoke_policy(iam)["Statement"][0]["Effect"] == "Deny"


def test_close_refuses_an_active_rotation(aws_clients, cli):
    iam, sm = aws_clients
    make_user(iam, sm, keys=1, login=True)

    def crash(model=None, **_):
        if model.name == "PutSecretValue":
            raise Crash(model.name)

    with pytest.raises(Crash):
        cli("rotate", "--user", USER, hooks=[("after-call", crash)])
    (rotation,) = cli("list", "--output", "json").json()
    assert rotation["status"] == "active" and rotation["mode"] == "rotate"
    keys_before, secret_before, entries = keys(iam), secret(sm), journal_length(cli, rotation["incident_id"])
    calls: list[str] = []
    refused = cli(
        "close",
        rotation["incident_id"],
        "--yes",
        "--user",
        USER,
        hooks=[("before-call", lambda model=None, **_: calls.append(model.name))],
    )
    assert refused.exit_code == 2, refused.stderr
    assert f"{rotation['incident_id']} is a rotation" in refused.stderr
    assert f"breakglass rotate --user {USER}" in refused.stderr
    assert keys(iam) == keys_before and secret(sm) == secret_before
    assert status(cli, rotation["incident_id"])["status"] == "active"
    assert journal_length(cli, rotation["incident_id"]) == entries
    assert not {"CreateAccessKey", "DeleteAccessKey", "UpdateAccessKey", "PutSecretValue"} & set(calls)


def test_close_collects_pending_evidence_after_a_crash(org, cli, seeded_cloudtrail, monkeypatch, tmp_path):
    monkeypatch.setenv("BREAKGLASS_EVIDENCE_DIR", str(tmp_path / "evidence"))
    incident_id, before = scp_incident(org, cli)

    def crash(**_):
        raise Crash("LookupEvents")

    with pytest.raises(Crash):
        cli("close", incident_id, "--yes", "--skip-rotation", hooks=[("before-call.cloudtrail.LookupEvents", crash)])
    assert status(cli, incident_id)["status"] == "closed" and org.snapshot() == before
    folder = tmp_path / "evidence" / incident_id
    assert not (folder / "manifest.json").exists()
    rerun = cli("close", incident_id, "--yes", "--skip-rotation", "--output", "json")
    assert rerun.exit_code == 0, rerun.stderr
    assert rerun.json()["noop"] is False and rerun.json()["evidence"] is not None
    assert cli("evidence", "verify", str(folder)).exit_code == 0
    done = cli("close", incident_id, "--yes", "--skip-rotation")
    assert done.exit_code == 0 and "already closed" in done.stdout
