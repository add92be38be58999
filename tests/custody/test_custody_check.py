"""`check`'s custody findings, and the operations custody calls are all declared."""

from __future__ import annotations

import json

import pytest

from breakglass_aws.permissions import CUSTODY_TASKS, OPERATION_ACTIONS
from breakglass_aws.readiness.custody import check_custody, lone_reader
from breakglass_aws.runtime import build_runtime
from breakglass_aws.settings import load_settings
from tests.custody.support import NAMES, configure
from tests.support.rotation import SECRET, USER, make_user


@pytest.fixture
def custodians(monkeypatch, tmp_path):
    return configure(monkeypatch, tmp_path)


def findings(users=(USER,)):
    return check_custody(build_runtime(load_settings()), list(users))


def test_check_reports_custody(aws_clients, cli, custodians, store_env):
    iam, sm = aws_clients
    make_user(iam, sm, keys=1)
    before = findings()
    assert any(f.severity == "error" and "plaintext" in f.message for f in before), "never rotated under custody"
    assert sum("share is missing" in f.message for f in before) == len(NAMES)
    assert cli("rotate", "--user", USER).exit_code == 0
    after = findings()
    assert after[0].severity == "info" and "2 of 3: alice, bob, carol" in after[0].message
    # the tool made the share secrets itself: nothing but IAM keeps others from reading them
    unguarded = [f for f in after if f.severity == "warning"]
    assert sorted(f.subject for f in unguarded) == [f"{SECRET}/custody/{n}" for n in NAMES]
    assert all("terraform/modules/custody" in f.remediation for f in unguarded)
    for name in NAMES:
        guard(sm, name, [f"arn:aws:iam::123456789012:role/custodian-{name}"])
    assert [f.severity for f in findings()] == ["info"]
    guard(sm, "carol", ["arn:aws:iam::123456789012:role/custodian-carol", "arn:aws:iam::123456789012:role/admin"])
    assert [f.subject for f in findings() if f.severity == "warning"] == [f"{SECRET}/custody/carol"]
    sm.delete_secret(SecretId=f"{SECRET}/custody/bob", ForceDeleteWithoutRecovery=True)
    assert [f.subject for f in findings() if f.severity == "error"] == [f"{SECRET}/custody/bob"]


def guard(sm, name: str, readers: list[str]) -> None:
    """The resource policy terraform/modules/custody puts on a share secret, for these readers."""
    deny = {
        "Sid": "OnlyTheCustodianReads",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "secretsmanager:GetSecretValue",
        "Resource": "*",
        "Condition": {"ArnNotEquals": {"aws:PrincipalArn": readers[0] if len(readers) == 1 else readers}},
    }
    policy = {"Version": "2012-10-17", "Statement": [deny]}
    sm.put_resource_policy(SecretId=f"{SECRET}/custody/{name}", ResourcePolicy=json.dumps(policy))


@pytest.mark.parametrize(
    "statement",
    [
        {"Effect": "Allow", "Principal": "*", "Action": "secretsmanager:GetSecretValue"},
        {"Effect": "Deny", "Principal": {"AWS": "arn:aws:iam::1:root"}, "Action": "*", "Condition": {}},
        {
            "Effect": "Deny",
            "Principal": "*",
            "Action": "secretsmanager:PutSecretValue",
            "Condition": {"ArnNotEquals": {"aws:PrincipalArn": "arn:aws:iam::1:role/a"}},
        },
        {
            "Effect": "Deny",
            "Principal": "*",
            "NotAction": "secretsmanager:PutSecretValue",
            "Condition": {"ArnNotEquals": {"aws:PrincipalArn": "arn:aws:iam::1:role/a"}},
        },
        {
            "Effect": "Deny",
            "Principal": "*",
            "Action": "secretsmanager:*",
            "Condition": {"StringNotEquals": {"aws:username": "a"}},
        },
    ],
)
def test_policies_that_leave_others_reading_are_not_a_lone_reader(statement):
    assert lone_reader(json.dumps({"Statement": [statement]})) is None


def test_a_deny_to_all_but_one_names_that_one():
    arn = "arn:aws:iam::1:role/custodian-a"
    for action in ("secretsmanager:GetSecretValue", ["secretsmanager:Get*"], "*"):
        statement = {
            "Effect": "Deny",
            "Principal": {"AWS": "*"},
            "Action": action,
            "Condition": {"ArnNotLike": {"aws:PrincipalArn": [arn]}},
        }
        assert lone_reader(json.dumps({"Statement": [statement]})) == arn


def test_no_custody_no_findings(aws_clients):
    make_user(*aws_clients, keys=1)
    assert findings() == []


class Recorder:
    def __init__(self):
        self.calls: set[str] = set()

    def __call__(self, model=None, **_):
        self.calls.add(model.name)


def test_custody_calls_only_declared_operations(aws_clients, cli, custodians):
    make_user(*aws_clients, keys=1, login=True)
    recorded = {}
    for task in CUSTODY_TASKS:
        recorded[task] = Recorder()
    assert cli("rotate", "--user", USER, hooks=[("before-call", recorded["custody-rotate"])]).exit_code == 0
    blobs = []
    for name in ("alice", "bob"):
        run = cli(
            "custody",
            "share",
            "--user",
            USER,
            "--identity",
            str(custodians.identity(name)),
            hooks=[("before-call", recorded["custody-share"])],
        )
        blobs.append(run.stdout.strip())
    args = [a for b in blobs for a in ("--share", b)]
    opened = cli("custody", "open", "--user", USER, *args, hooks=[("before-call", recorded["custody-open"])])
    assert opened.exit_code == 0, opened.stderr
    for task, rec in recorded.items():
        assert rec.calls - set(CUSTODY_TASKS[task]) == set(), task
        assert rec.calls <= set(OPERATION_ACTIONS)
    assert "CreateSecret" in recorded["custody-rotate"].calls
