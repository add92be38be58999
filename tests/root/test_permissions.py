"""Every AWS call of the root commands is declared in permissions.py: the caller's calls in
ROOT_TASKS, the root session's in ROOT_SESSION (allowed by the task policy, not the caller's)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from breakglass_aws.clock import utcnow
from breakglass_aws.permissions import OPERATION_ACTIONS, ROOT_SESSION, ROOT_TASKS, TASKS, actions_for
from breakglass_aws.testing import seed_root_credentials
from tests.support.crash import Crash
from tests.support.root import locked_bucket, locked_queue, unlock_bucket, unlock_queue


class ByWho:
    """Each call's operation, by who made it: the caller, or a root session (its access key is one
    AssumeRoot answered)."""

    def __init__(self):
        self.task = "?"
        self.sessions: set[str] = set()
        self.caller: dict[str, set[str]] = {}
        self.root: dict[str, set[str]] = {}

    def hooks(self):
        return [("before-call", self.call), ("after-call.sts.AssumeRoot", self.issued)]

    def issued(self, parsed=None, **_):
        self.sessions.add(parsed["Credentials"]["AccessKeyId"])

    def call(self, model=None, request_signer=None, **_):
        creds = request_signer._credentials
        by_root = creds is not None and creds.access_key in self.sessions
        (self.root if by_root else self.caller).setdefault(self.task, set()).add(model.name)


def test_every_root_call_is_declared(ready, cli, topic, tmp_path, tmp_path_factory):
    rec = ByWho()
    hooks = rec.hooks()
    locked_bucket(ready.account)
    url, _ = locked_queue(ready.account)
    seed_root_credentials(ready.account)
    fixed = tmp_path / "fixed.json"
    fixed.write_text(
        '{"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "sqs:SendMessage", "Resource": "*"}]}'
    )

    def run(task, *args, runner=cli, **kwargs):
        rec.task = task
        result = runner(*args, hooks=hooks, **kwargs) if runner is cli else runner(cli, *args, hooks=hooks, **kwargs)
        assert result.exit_code == 0, (task, result.stderr)

    run("root-unlock", ready.account, "--yes", runner=unlock_bucket)
    run("root-unlock", ready.account, url, "--replace-with", str(fixed), "--yes", runner=unlock_queue)
    run("root-audit", "root", "audit", "--account", ready.account)
    run("root-delete-credentials", "root", "delete-credentials", "--account", ready.account, "--reason", "x", "--yes")

    def crash(model=None, **_):
        raise Crash("kill -9")

    locked_bucket(ready.account, name="stale-bucket")
    with pytest.raises(Crash):
        unlock_bucket(
            cli, ready.account, "--yes", bucket="stale-bucket", hooks=[("after-call.s3.DeleteBucketPolicy", crash)]
        )
    later = utcnow() + timedelta(minutes=16)
    rec.task = "root-end"
    swept = cli("restore", "--expired", hooks=hooks, clock=lambda: later)
    assert swept.exit_code == 0, swept.stderr
    assert "AssumeRoot" in rec.caller["root-end"] and "GetBucketPolicy" in rec.root["root-end"]
    for task in ROOT_TASKS:
        assert rec.caller[task] <= set(ROOT_TASKS[task]), f"{task}: the caller makes undeclared calls"
        assert rec.root.get(task, set()) <= set(ROOT_SESSION[task]), f"{task}: the root session makes undeclared calls"
    called = set().union(*rec.caller.values(), *rec.root.values())
    assert called <= set(OPERATION_ACTIONS)
    assert {"DeleteBucketPolicy", "SetQueueAttributes"} <= rec.root["root-unlock"]
    assert "AssumeRoot" not in rec.root["root-unlock"], "AssumeRoot is the caller's call"


def test_root_actions_stay_out_of_the_terraform_granted_tasks():
    """Root-task mode is opt-in: its actions are asked for by name, never part of actions_for()."""
    assert "sts:AssumeRoot" not in actions_for()
    assert {"sts:AssumeRoot", "iam:ListOrganizationsFeatures", "organizations:ListDelegatedAdministrators"} <= (
        actions_for("root-unlock")
    )
    assert "s3:DeleteBucketPolicy" not in actions_for(*ROOT_TASKS), "the root session's rights come from the task"
    assert not set(ROOT_TASKS) & set(TASKS)
