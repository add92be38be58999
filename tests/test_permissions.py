"""Every AWS operation the tool calls is declared, with its IAM action, in one place."""

from __future__ import annotations

import json

import boto3

from breakglass_aws.permissions import OPERATION_ACTIONS, TASKS, actions_for
from tests.conftest import ACCOUNT
from tests.test_evidence import event
from tests.test_rotation import USER, make_user


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
    assert json.dumps(sorted(actions_for()))
