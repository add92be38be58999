"""Crash before or after every mutating call of `rotate` and `close` (SCP and role incidents); the
rerun finishes, and the credentials are rotated exactly once."""

from __future__ import annotations

from datetime import datetime

import pytest

from tests.support.crash import Crash
from tests.support.role import assume, revoke_policy
from tests.support.rotation import USER, keys, make_user, secret
from tests.support.scp import scp_incident

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


def test_close_skip_rotation_and_finished_rotation(org, aws_clients, cli):
    """--skip-rotation leaves the keys alone; a FINISHED rotation is a no-op for close and is
    refused by scp restore. (An active rotation refused by close: test_close_steps.)"""
    iam, sm = aws_clients
    old = make_user(iam, sm, keys=1)
    incident_id, _before = scp_incident(org, cli)
    run = cli("close", incident_id, "--yes", "--user", USER, "--skip-rotation")
    assert run.exit_code == 0 and set(keys(iam)) == set(old)
    rotation = cli("rotate", "--user", USER, "--output", "json").json()["incident_id"]
    rotated = keys(iam)
    closed = cli("close", rotation, "--yes")
    assert closed.exit_code == 0 and "already closed" in closed.stdout
    assert keys(iam) == rotated
    restore_role = cli("scp", "restore", rotation)
    assert restore_role.exit_code == 2 and "is a rotate incident" in restore_role.stderr


ROLE_CLOSE_MUTATIONS = 1 + ROTATE_MUTATIONS  # put the revocation policy, then rotate


@pytest.mark.parametrize("event", ["before-call", "after-call"])
@pytest.mark.parametrize("k", range(1, ROLE_CLOSE_MUTATIONS + 1))
def test_role_close_crash_then_close_again(iam, aws_clients, cli, event, k):
    _, sm = aws_clients
    make_user(iam, sm, keys=2, inactive=1, login=True)
    opened = assume(cli, "--format", "json").json()
    incident_id = opened["incident_id"]
    created = cli("show", incident_id, "--output", "json").json()["created_at"]
    counter = Counter()
    with pytest.raises(Crash):
        cli("close", incident_id, "--yes", "--user", USER, hooks=[(event, Injector(k)), ("before-call", counter)])
    rerun = cli("close", incident_id, "--yes", "--user", USER, "--output", "json", hooks=[("before-call", counter)])
    assert rerun.exit_code == 0, rerun.stderr
    assert rerun.json()["status"] == "closed"
    # the revocation: present, deny-all, cut-off after the incident opened and as journaled
    document = revoke_policy(iam)
    (statement,) = document["Statement"]
    assert statement["Effect"] == "Deny" and statement["Action"] == ["*"]
    cutoff = statement["Condition"]["DateLessThan"]["aws:TokenIssueTime"]
    assert parse(cutoff) >= parse(created)
    journal = cli("show", incident_id, "--output", "json").json()["journal"]
    revoked = [
        e["data"]["step"]["cutoff"]
        for e in journal
        if e["kind"] == "outcome" and e["data"]["ok"] and e["data"]["step"]["action"] == "revoke-sessions"
    ]
    assert revoked and revoked[-1] == cutoff
    # the rotation: exactly one active key, the one in the secret, rotated once
    stored = secret(sm)
    assert keys(iam) == {stored["access_key_id"]: "Active"}
    lost_create = (event, k - 1) in (("after-call", 2), ("before-call", 3))
    assert counter.creates == (2 if lost_create else 1), "no second rotation"
    assert cli("journal", "verify", incident_id).exit_code == 0
    done = cli("close", incident_id, "--yes", "--user", USER, hooks=[("before-call", counter)])
    assert done.exit_code == 0 and "already closed" in done.stdout
    assert counter.creates == (2 if lost_create else 1)
    assert revoke_policy(iam) == document


def parse(value):
    return datetime.fromisoformat(value.replace("Z", "+00:00"))
