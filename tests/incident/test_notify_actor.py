"""SNS messages: who acted (from STS, never a typed name), retries of a throttled publish, and the
dead-man schedule failure notice."""

from __future__ import annotations

import pytest

from breakglass_aws.models import FULL_AWS_ACCESS
from tests.conftest import ACCOUNT
from tests.support.approvals import locked_out
from tests.support.faults import reject


def sns_fails_once(code="Throttling"):
    name, hook = reject("Publish", code, times=1)
    return [(name.replace("organizations", "sns"), hook)]


@pytest.fixture
def run_as(cli, people, monkeypatch):
    """Run as a moto IAM user, declaring any name (the declared name is the spoofable part)."""

    def run(who, declared, *args, **kwargs):
        key, secret, _ = people[who]
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", key)
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)
        monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
        monkeypatch.setenv("BREAKGLASS_REQUESTER_NAME", declared)
        return cli(*args, fresh_session=True, **kwargs)

    return run


def test_every_message_names_the_actor_from_sts(org, run_as, topic, monkeypatch):
    monkeypatch.setenv("BREAKGLASS_APPROVALS_REQUIRED", "1")
    before = locked_out(org)
    asked = run_as(
        "alice", "alice", "scp", "detach", "--target", org.account, "--reason", "r", "--yes", "--output", "json"
    )
    incident_id = asked.json()["incident_id"]
    assert run_as("bob", "bob", "approve", incident_id).exit_code == 0
    assert run_as("alice", "alice", "activate", incident_id).exit_code == 0
    assert org.scps(org.account) == {FULL_AWS_ACCESS}
    # carol restores while declaring herself "alice": the declared name is not who acted
    restored = run_as("carol", "alice", "scp", "restore", incident_id)
    assert restored.exit_code == 0, restored.stderr
    assert org.snapshot() == before
    sent = [m for _, m in topic()]
    actors: dict[str, set[str]] = {}
    for m in sent:
        actors.setdefault(m["event"], set()).add(m["actor"])
    assert actors.pop("requested") == {"alice"} and actors.pop("activated") == {"alice"}
    assert actors.pop("closing") == {"carol"} and actors.pop("closed") == {"carol"}
    assert actors and set().union(*actors.values()) == {"bob"}, "every approval event names bob"
    assert all(m["actor_arn"] == f"arn:aws:iam::{ACCOUNT}:user/{m['actor']}" for m in sent)
    assert all((m["who"], m["who_arn"]) == (m["actor"], m["actor_arn"]) for m in sent)
    assert {(m["requester"], m["requester_arn"]) for m in sent} == {("alice", f"arn:aws:iam::{ACCOUNT}:user/alice")}


def test_throttled_notification_is_retried_and_journaled(org, cli, topic):
    before = locked_out(org)
    opened = cli(
        "scp", "detach", "--target", org.account, "--reason", "x", "--yes", "--output", "json", hooks=sns_fails_once()
    )
    assert opened.exit_code == 0, opened.stderr
    assert "notification 'activated' failed (attempt 1)" in opened.stderr and "Throttling" in opened.stderr
    assert org.scps(org.account) == {FULL_AWS_ACCESS}
    incident_id = opened.json()["incident_id"]
    assert [m["event"] for _, m in topic()] == ["activated"], "delivered exactly once"
    journal = cli("show", incident_id, "--output", "json").json()["journal"]
    failed = [e["data"] for e in journal if e["kind"] == "notify-failed"]
    assert [(d["event"], d["attempt"]) for d in failed] == [("activated", 1)] and "Throttling" in failed[0]["error"]
    assert [e["data"]["event"] for e in journal if e["kind"] == "notified"] == ["activated"]
    assert cli("scp", "restore", incident_id).exit_code == 0 and org.snapshot() == before


def test_missing_topic_is_not_retried_in_vain(org, cli, monkeypatch):
    monkeypatch.setenv("BREAKGLASS_SNS_TOPIC_ARN", f"arn:aws:sns:us-east-1:{ACCOUNT}:deleted-topic")
    locked_out(org)
    opened = cli("scp", "detach", "--target", org.account, "--reason", "x", "--yes", "--output", "json")
    assert opened.exit_code == 0 and org.scps(org.account) == {FULL_AWS_ACCESS}
    assert "was not sent; see its journal" in opened.stderr
    journal = cli("show", opened.json()["incident_id"], "--output", "json").json()["journal"]
    assert [e["data"]["attempt"] for e in journal if e["kind"] == "notify-failed"] == [1]


def test_dead_man_schedule_failure_is_notified(org, cli, topic, monkeypatch):
    monkeypatch.setenv("BREAKGLASS_RESTORE_FUNCTION_ARN", f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:restore")
    monkeypatch.setenv("BREAKGLASS_SCHEDULER_ROLE_ARN", f"arn:aws:iam::{ACCOUNT}:role/scheduler")
    name, hook = reject("CreateSchedule", "AccessDeniedException", status=403)
    locked_out(org)
    opened = cli(
        "scp",
        "detach",
        "--target",
        org.account,
        "--reason",
        "x",
        "--yes",
        "--output",
        "json",
        hooks=[(name.replace("organizations", "scheduler"), hook)],
    )
    assert opened.exit_code == 0, opened.stderr
    assert org.scps(org.account) == {FULL_AWS_ACCESS}, "the emergency went ahead"
    assert "could not create-schedule" in opened.stderr
    sent = {m["event"]: m for _, m in topic()}
    assert set(sent) == {"activated", "create-schedule-failed"}
    failed = sent["create-schedule-failed"]
    assert failed["incident_id"] == opened.json()["incident_id"] and failed["detail"]
