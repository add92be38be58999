"""Every AWS operation the tool calls is declared, with its IAM action, in one place."""

from __future__ import annotations

import json
import logging
import re

import boto3
import pytest

from breakglass_aws.permissions import OPERATION_ACTIONS, RESTORE_FUNCTION, TASKS, actions_for
from tests.conftest import ACCOUNT
from tests.support.evidence import event
from tests.support.rotation import USER, make_user
from tests.support.terraform import allows


class Recorder:
    def __init__(self):
        self.by_task: dict[str, set[str]] = {}
        self.task = "?"

    def __call__(self, model=None, **_):
        self.by_task.setdefault(self.task, set()).add(model.name)


def test_every_called_operation_is_declared(
    org,
    iam,
    aws_clients,
    cli,
    seeded_cloudtrail,
    topic,
    monkeypatch,
    tmp_path,
):
    rec = Recorder()
    hooks = [("before-call", rec)]

    def run(task, *args):
        rec.task = task
        result = cli(*args, hooks=hooks)
        assert result.exit_code in (0, 4), (task, result.stderr)
        return result

    policy = org.new_policy("Deny")
    org.attach(policy, org.account)
    make_user(*aws_clients, keys=1, login=True)
    boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="locked", ObjectLockEnabledForBucket=True)
    seeded_cloudtrail["us-east-1"] = [event(1, "DetachPolicy", "x", params={"policyId": policy})]
    opened = run(
        "scp-detach", "scp", "detach", "--target", org.account, "--reason", "x", "--yes", "--output", "json"
    ).json()
    run("scp-restore", "scp", "restore", opened["incident_id"])
    creds = run("role-assume", "role", "assume", "--account", ACCOUNT, "--reason", "x", "--format", "json").json()
    run("role-revoke", "close", creds["incident_id"], "--yes")
    run("rotate", "rotate", "--user", USER)
    run(
        "evidence",
        "evidence",
        "collect",
        opened["incident_id"],
        "--out",
        str(tmp_path / "b"),
        "--upload",
        "s3://locked/x",
        "--retain-days",
        "1",
    )
    run("watch", "watch")
    called = set().union(*rec.by_task.values())
    assert called - set(OPERATION_ACTIONS) == set(), "an operation is called but not declared"
    for task, operations in rec.by_task.items():
        assert operations - set(TASKS[task]) == set(), f"{task} calls undeclared operations"
    assert "organizations:DetachPolicy" in actions_for("scp-detach")


def test_every_declared_operation_has_an_iam_action():
    """Each task names only declared operations, and every IAM action is service:Action."""
    for task, operations in TASKS.items():
        assert set(operations) - set(OPERATION_ACTIONS) == set(), f"{task} names an undeclared operation"
    assert all(re.fullmatch(r"[a-z0-9-]+:[A-Z][A-Za-z]+", a) for a in actions_for()), sorted(actions_for())
    assert actions_for("check") >= {
        "organizations:ListAccounts",
        "sns:GetTopicAttributes",
        "sns:ListSubscriptionsByTopic",
        "events:ListRules",
        "events:ListTargetsByRule",
        "scheduler:GetSchedule",
        "scheduler:ListSchedules",
        "iam:ListAccountAliases",
        "iam:ListMFADevices",
        "cloudtrail:DescribeTrails",
        "cloudtrail:GetTrailStatus",
        "cloudtrail:GetEventSelectors",
        "events:DescribeEventBus",
        "secretsmanager:ListSecretVersionIds",
    }
    assert "secretsmanager:GetSecretValue" not in actions_for("check"), "reading a break-glass secret is an alarm"
    assert actions_for("drill") >= actions_for("scp-detach", "role-assume", "role-revoke", "rotate", "evidence")


def _sandbox_env(monkeypatch, sb):
    for key, value in sb.settings().items():
        if key not in ("evidence_dir", "store"):
            text = json.dumps(value) if isinstance(value, list) else str(value)
            monkeypatch.setenv(f"BREAKGLASS_{key.upper()}", text)


def test_check_and_drill_call_only_declared_operations(aws, cli, monkeypatch, tmp_path):
    """`check`, `check --outage-probe` and `drill --account` on the sandbox staging (as Terraform
    would stage it), every call recorded."""
    from breakglass_aws.readiness.sandbox import stage
    from breakglass_aws.testing import install_cloudtrail_lookup

    sb = stage()
    _sandbox_env(monkeypatch, sb)
    undo = install_cloudtrail_lookup(lambda region: [])
    rec = Recorder()
    try:
        for task, args in [
            ("check", ["check"]),
            ("check", ["check", "--outage-probe"]),
            ("drill", ["drill", "--account", sb.account, "--token-code", "123456", "--out", str(tmp_path / "ev")]),
        ]:
            rec.task = task
            result = cli(*args, hooks=[("before-call", rec)])
            assert result.exit_code in (0, 4), (task, result.stderr)
    finally:
        undo()
    assert "PASSED" in result.stdout, result.stdout + result.stderr
    assert {"ListAccounts", "GetTopicAttributes", "ListRules", "GetSchedule", "GetRole"} <= rec.by_task["check"]
    assert "ListAccountAliases" in rec.by_task["check"]
    assert {"DescribeTrails", "GetTrailStatus", "DescribeEventBus", "ListMFADevices"} <= rec.by_task["check"]
    assert "GetSecretValue" not in rec.by_task["check"]
    assert {"DetachPolicy", "AttachPolicy", "AssumeRole", "PutRolePolicy"} <= rec.by_task["drill"]
    for task, operations in rec.by_task.items():
        assert operations - set(TASKS[task]) == set(), f"{task} calls undeclared operations"


def test_restore_function_calls_only_declared_operations(aws, cli, monkeypatch):
    """The restore function restores an expired SCP incident and finishes a role close that stopped
    (the revocation could not be confirmed): every call it makes is in RESTORE_FUNCTION."""
    from dataclasses import replace
    from datetime import timedelta

    from breakglass_aws import lambda_handler
    from breakglass_aws.clock import utcnow
    from breakglass_aws.readiness.sandbox import stage
    from breakglass_aws.runtime import build_runtime

    sb = stage()
    _sandbox_env(monkeypatch, sb)
    monkeypatch.delenv("BREAKGLASS_MFA_SERIAL")
    past = utcnow() - timedelta(hours=3)
    scp = cli(
        "scp", "detach", "--target", sb.account, "--reason", "x", "--yes", "--output", "json", clock=lambda: past
    ).json()
    role = cli("role", "assume", "--account", sb.account, "--reason", "x", "--format", "json").json()

    def tamper(params=None, **_):
        params["PolicyDocument"] = params["PolicyDocument"].replace("Deny", "Allow")

    stopped = cli("close", role["incident_id"], "--yes", hooks=[("before-parameter-build.iam.PutRolePolicy", tamper)])
    assert stopped.exit_code == 8, stopped.stderr
    rec = Recorder()
    rec.task = "restore-function"
    real = lambda_handler.build_runtime
    monkeypatch.setattr(
        lambda_handler, "build_runtime", lambda s, inj: real(s, replace(inj, hooks=[("before-call", rec)]))
    )
    assert build_runtime is real
    monkeypatch.delenv("BREAKGLASS_ROTATE_USERS")  # as Terraform configures the function
    package_log = logging.getLogger("breakglass_aws")
    before = list(package_log.handlers)
    try:
        summary = lambda_handler.handler({}, None)
    finally:
        package_log.handlers[:] = before  # the function's stderr handler outlives pytest's capture
    assert scp["incident_id"] in summary["restored"] and summary["failed"] == []
    for incident in (scp, role):
        shown = cli("show", incident["incident_id"], "--output", "json").json()
        assert shown["status"] == "closed", shown
    sm = boto3.client("secretsmanager", region_name="us-east-1")
    stored = sm.get_secret_value(SecretId="breakglass/breakglass-1")
    assert json.loads(stored["SecretString"])["rotated_at"], "the planned rotation was resumed"
    assert {"AttachPolicy", "AssumeRole", "PutRolePolicy", "CreateAccessKey"} <= rec.by_task["restore-function"]
    assert rec.by_task["restore-function"] - set(RESTORE_FUNCTION) == set()


def test_the_policy_evaluator_of_the_contract_tests():
    """tests.support.terraform.allows, which the Terraform contract tests evaluate rendered
    policies with: wildcards, one statement for every resource of a request, conditions."""
    org = "arn:aws:organizations::1"
    scp, target = f"{org}:policy/o-a/service_control_policy/p-x", f"{org}:root/o-a/r-1"
    statement = {
        "Effect": "Allow",
        "Action": "organizations:Attach*",
        "Resource": [f"{org}:policy/o-*/service_control_policy/p-?", f"{org}:root/*"],
        "Condition": {"StringEquals": {"organizations:PolicyType": "SERVICE_CONTROL_POLICY"}},
    }
    doc = json.dumps({"Version": "2012-10-17", "Statement": [statement]})
    scp_type = {"organizations:PolicyType": "SERVICE_CONTROL_POLICY"}
    assert allows(doc, "organizations:attachpolicy", [scp, target], scp_type)  # actions are case-insensitive
    assert not allows(doc, "organizations:DetachPolicy", [scp, target], scp_type)
    assert not allows(doc, "organizations:AttachPolicy", [scp + "y", target], scp_type)  # ? is one character
    assert not allows(doc, "organizations:AttachPolicy", [scp, target], {"organizations:PolicyType": "TAG_POLICY"})
    assert not allows(doc, "organizations:AttachPolicy", [scp, target])  # the key is missing from the request
    policy_only, target_only = dict(statement, Resource=statement["Resource"][0]), dict(statement, Resource=target)
    split = json.dumps({"Statement": [policy_only, target_only]})
    assert not allows(split, "organizations:AttachPolicy", [scp, target], scp_type), "one statement names both"
    assert allows(split, "organizations:AttachPolicy", [target], scp_type)
    with pytest.raises(ValueError, match="not modelled"):
        allows(json.dumps({"Statement": [dict(statement, Effect="Deny")]}), "organizations:AttachPolicy", [scp])
    other = {"Statement": [dict(statement, Condition={"Bool": {"aws:SecureTransport": "true"}})]}
    with pytest.raises(ValueError, match="Bool is not modelled"):
        allows(json.dumps(other), "organizations:AttachPolicy", [scp, target])
