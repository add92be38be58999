"""Crash before or after every mutating call of `rotate` and `close`; the rerun finishes, and the
credentials are rotated exactly once."""

from __future__ import annotations

import pytest

from breakglass_aws.models import FULL_AWS_ACCESS
from tests.test_rotation import USER, keys, make_user, secret

pytestmark = pytest.mark.reliability

MUTATING = {
    "DeleteAccessKey",
    "UpdateAccessKey",
    "CreateAccessKey",
    "UpdateLoginProfile",
    "PutSecretValue",
    "AttachPolicy",
    "DetachPolicy",
    "PutRolePolicy",
}


class Crash(BaseException):
    pass


class Injector:
    def __init__(self, k):
        self.k = k
        self.seen = 0

    def __call__(self, model=None, **_):
        if model.name in MUTATING:
            self.seen += 1
            if self.seen == self.k:
                raise Crash(model.name)


class Counter:
    def __init__(self):
        self.creates = 0

    def __call__(self, model=None, **_):
        if model.name == "CreateAccessKey":
            self.creates += 1


ROTATE_MUTATIONS = 6  # delete inactive, create, store, set password, deactivate old, delete old


@pytest.mark.parametrize("event", ["before-call", "after-call"])
@pytest.mark.parametrize("k", range(1, ROTATE_MUTATIONS + 1))
def test_rotate_crash_then_rerun(aws_clients, cli, event, k):
    iam, sm = aws_clients
    make_user(iam, sm, keys=2, inactive=1, login=True)
    counter = Counter()
    with pytest.raises(Crash):
        cli("rotate", "--user", USER, hooks=[(event, Injector(k)), ("before-call", counter)])
    rerun = cli("rotate", "--user", USER, "--output", "json", hooks=[("before-call", counter)])
    assert rerun.exit_code == 0, rerun.stderr
    assert rerun.json()["resumed"] is True
    stored = secret(sm)
    assert keys(iam) == {stored["access_key_id"]: "Active"}
    lost_create = (event, k) in (("after-call", 2), ("before-call", 3))  # the new secret key was never stored
    assert counter.creates == (2 if lost_create else 1), "one rotation, a lost key is replaced once"
    again = cli("rotate", "--user", USER, "--output", "json", hooks=[("before-call", counter)])
    assert again.json()["resumed"] is False, "the finished rotation is not resumed"


def scp_incident(org, cli):
    for n in range(3):
        org.attach(org.new_policy(f"Deny{n}"), org.account)
    org.detach(FULL_AWS_ACCESS, org.account)
    before = org.snapshot()
    opened = cli("scp", "detach", "--target", org.account, "--reason", "x", "--yes", "--output", "json").json()
    return opened["incident_id"], before


CLOSE_MUTATIONS = 4 + ROTATE_MUTATIONS


@pytest.mark.parametrize("event", ["before-call", "after-call"])
@pytest.mark.parametrize("k", range(1, CLOSE_MUTATIONS + 1))
def test_close_crash_then_close_again(org, aws_clients, cli, event, k):
    iam, sm = aws_clients
    make_user(iam, sm, keys=2, inactive=1, login=True)
    incident_id, before = scp_incident(org, cli)
    counter = Counter()
    with pytest.raises(Crash):
        cli("close", incident_id, "--yes", "--user", USER, hooks=[(event, Injector(k)), ("before-call", counter)])
    rerun = cli("close", incident_id, "--yes", "--user", USER, "--output", "json", hooks=[("before-call", counter)])
    assert rerun.exit_code == 0, rerun.stderr
    assert rerun.json()["status"] == "closed"
    assert org.snapshot() == before
    stored = secret(sm)
    assert keys(iam) == {stored["access_key_id"]: "Active"}
    lost_create = (event, k - 4) in (("after-call", 2), ("before-call", 3))
    assert counter.creates == (2 if lost_create else 1)
    assert cli("journal", "verify", incident_id).exit_code == 0
    done = cli("close", incident_id, "--yes", "--user", USER, hooks=[("before-call", counter)])
    assert done.exit_code == 0 and "already closed" in done.stdout
    assert counter.creates == (2 if lost_create else 1)


def test_close_reports_rotation_and_restore(org, aws_clients, cli):
    iam, sm = aws_clients
    old = make_user(iam, sm, keys=1, login=True)
    incident_id, _before = scp_incident(org, cli)
    run = cli("close", incident_id, "--yes", "--user", USER)
    assert run.exit_code == 0, run.stderr
    stored = secret(sm)
    assert (
        f"rotated {USER}: new access key {stored['access_key_id']} in breakglass/{USER}; deleted {old[0]}" in run.stdout
    )
    assert "console password reset" in run.stdout and "matches the snapshot" in run.stdout
    assert stored["secret_access_key"] not in run.stdout and stored["password"] not in run.stdout


def test_close_with_rotation_failure_needs_attention_then_finishes(org, aws_clients, cli):
    iam, sm = aws_clients
    make_user(iam, sm, keys=1)
    incident_id, before = scp_incident(org, cli)
    sm.delete_secret(SecretId=f"breakglass/{USER}", ForceDeleteWithoutRecovery=True)
    run = cli("close", incident_id, "--yes", "--user", USER)
    assert run.exit_code == 8
    assert "not found" in run.stderr and f"breakglass close {incident_id}" in run.stderr
    assert org.snapshot() == before, "the restore finished before the rotation stopped"
    assert cli("list", "--output", "json").json()[0]["status"] == "needs-attention"
    sm.create_secret(Name=f"breakglass/{USER}", SecretString="{}")
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


def test_close_skip_rotation_and_mode_errors(org, aws_clients, cli):
    iam, sm = aws_clients
    old = make_user(iam, sm, keys=1)
    incident_id, _before = scp_incident(org, cli)
    run = cli("close", incident_id, "--yes", "--user", USER, "--skip-rotation")
    assert run.exit_code == 0 and set(keys(iam)) == set(old)
    rotation = cli("rotate", "--user", USER, "--output", "json").json()["incident_id"]
    refused = cli("close", rotation, "--yes")
    assert refused.exit_code == 0 and "already closed" in refused.stdout
    restore_role = cli("scp", "restore", rotation)
    assert restore_role.exit_code == 2 and "is a rotate incident" in restore_role.stderr
