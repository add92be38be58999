"""`watch` explains an AssumeRoot by the root-task incident that made it (its account, task policy,
requester and window); any other AssumeRoot is a finding."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from tests.support.root import locked_bucket, unlock_bucket
from tests.support.watch import sample


def assume_root(event_id: str, account: str, caller: str, policy: str) -> dict:
    event = sample("assume-root", "eu-west-1", when=datetime.now(UTC), event_id=event_id)
    record = json.loads(event["CloudTrailEvent"])
    record["requestParameters"] = {"targetPrincipal": account, "taskPolicyArn": {"arn": policy}}
    record["userIdentity"]["arn"] = caller
    return {**event, "CloudTrailEvent": json.dumps(record)}


def test_the_tools_own_assume_root_is_explained(ready, cli, seeded_cloudtrail, monkeypatch):
    monkeypatch.setenv("BREAKGLASS_ALERT_REGIONS", "eu-west-1")
    locked_bucket(ready.account)
    run = unlock_bucket(cli, ready.account, "--yes", "--output", "json")
    assert run.exit_code == 0, run.stderr
    shown = cli("show", run.json()["incident_id"], "--output", "json").json()
    requester, policy = shown["requester"]["arn"], shown["root"]["task_policy_arn"]
    other_policy = "arn:aws:iam::aws:policy/root-task/IAMDeleteRootUserCredentials"
    seeded_cloudtrail["eu-west-1"] = [
        assume_root("ours", ready.account, requester, policy),
        assume_root("other-caller", ready.account, "arn:aws:iam::123456789012:user/mallory", policy),
        assume_root("other-task", ready.account, requester, other_policy),
        assume_root("other-account", "210987654321", requester, policy),
    ]
    found = cli("watch", "--output", "json")
    assert {f["event_id"] for f in found.json()["findings"]} == {"other-caller", "other-task", "other-account"}
