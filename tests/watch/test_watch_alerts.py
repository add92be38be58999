"""`watch --alert`: an alert that could not be published is retried, and sent exactly once overall."""

from __future__ import annotations

import boto3
import pytest

from tests.conftest import ACCOUNT, ROLE
from tests.support.faults import reject
from tests.support.watch import ct


@pytest.fixture
def intruder(iam, seeded_cloudtrail):
    seeded_cloudtrail["us-east-1"] = [
        ct("bad-assume", "AssumeRole", {"roleArn": ROLE, "roleSessionName": "manual"}, "mallory"),
    ]


def test_failed_publish_is_retried_and_sent_once(intruder, cli, topic, monkeypatch):
    missing = f"arn:aws:sns:us-east-1:{ACCOUNT}:no-such-topic"
    monkeypatch.setenv("BREAKGLASS_SNS_TOPIC_ARN", missing)
    failed = cli("watch", "--alert", "--output", "json")
    assert failed.exit_code == 7
    body = failed.json()
    assert body["alerted"] == 0
    assert [f["event_id"] for f in body["alert_failures"]] == ["bad-assume"]
    assert "bad-assume" in failed.stderr and "retries" in failed.stderr

    text = cli("watch", "--alert")
    assert text.exit_code == 7 and "could not be published" in text.stderr

    working = boto3.client("sns", region_name="us-east-1").list_topics()["Topics"][0]["TopicArn"]
    monkeypatch.setenv("BREAKGLASS_SNS_TOPIC_ARN", working)
    sent = cli("watch", "--alert", "--output", "json")
    assert sent.exit_code == 4 and sent.json()["alerted"] == 1 and sent.json()["alert_failures"] == []
    again = cli("watch", "--alert", "--output", "json")
    assert again.exit_code == 4 and again.json()["alerted"] == 0
    messages = [m for _, m in topic() if m["event"] == "out-of-band"]
    assert [m["event_id"] for m in messages] == ["bad-assume"]


def sns_throttled_once():
    """Publish answered once with Throttling (before-call: the request never reaches SNS)."""
    hook_name, hook = reject("Publish", "Throttling", times=1)
    return [(hook_name.replace("organizations", "sns"), hook)]


def test_throttled_publish_is_tried_again_in_the_same_run(intruder, cli, topic):
    run = cli("watch", "--alert", "--output", "json", hooks=sns_throttled_once())
    assert run.exit_code == 4 and run.json()["alerted"] == 1 and run.json()["alert_failures"] == []
    assert "attempt 1" in run.stderr and "Throttling" in run.stderr
    assert [m["event_id"] for _, m in topic() if m["event"] == "out-of-band"] == ["bad-assume"]


@pytest.fixture(params=["sqlite", "dynamodb"])
def store(request, aws, tmp_path):
    from breakglass_aws.aws import ClientFactory
    from breakglass_aws.journal import SqliteStore
    from breakglass_aws.journal.dynamodb import DynamoStore
    from tests.conftest import _shared_botocore
    from tests.support.store import TABLE, make_table

    if request.param == "dynamodb":
        make_table()
        return lambda: DynamoStore(ClientFactory(botocore_session=_shared_botocore()), TABLE)
    return lambda: SqliteStore(tmp_path / "store.sqlite3")


def test_a_forgotten_alert_claim_can_be_taken_again(store):
    assert store().record_alert("watch:e1") is True
    store().forget_alert("watch:e1")
    assert store().record_alert("watch:e1") is True
    assert store().record_alert("watch:e1") is False
    store().forget_alert("watch:never-claimed")
