"""A per-incident schedule whose invocation fails is heard: the one-time schedule carries a retry
policy, and the dead-letter queue of `schedule_dead_letter_arn` when it is set (read back from
EventBridge Scheduler as stored)."""

from __future__ import annotations

import boto3
import pytest

from breakglass_aws.incident.deadman import RETRY_POLICY

FUNCTION = "arn:aws:lambda:us-east-1:123456789012:function:breakglass-restore"
SCHED_ROLE = "arn:aws:iam::123456789012:role/breakglass-scheduler"


@pytest.fixture
def scheduler(org, monkeypatch):
    client = boto3.client("scheduler", region_name="us-east-1")
    client.create_schedule_group(Name="breakglass")
    monkeypatch.setenv("BREAKGLASS_RESTORE_FUNCTION_ARN", FUNCTION)
    monkeypatch.setenv("BREAKGLASS_SCHEDULER_ROLE_ARN", SCHED_ROLE)
    return client


def armed_target(org, scheduler, cli) -> dict:
    org.attach(org.new_policy("Deny"), org.account)
    opened = cli("scp", "detach", "--target", org.account, "--reason", "x", "--yes", "--output", "json")
    assert opened.exit_code == 0, opened.stderr
    name = f"breakglass-restore-{opened.json()['incident_id']}"
    return scheduler.get_schedule(Name=name, GroupName="breakglass")["Target"]


def test_one_time_schedule_has_retries_and_the_dead_letter_queue(org, scheduler, cli, monkeypatch):
    sqs = boto3.client("sqs", region_name="us-east-1")
    url = sqs.create_queue(QueueName="breakglass-restore-dead-letters")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    monkeypatch.setenv("BREAKGLASS_SCHEDULE_DEAD_LETTER_ARN", queue_arn)
    target = armed_target(org, scheduler, cli)
    assert target["RetryPolicy"] == {"MaximumRetryAttempts": 3, "MaximumEventAgeInSeconds": 3600}
    assert target["DeadLetterConfig"] == {"Arn": queue_arn}
    assert target["Arn"] == FUNCTION and target["RoleArn"] == SCHED_ROLE


def test_without_a_dead_letter_queue_the_schedule_still_retries(org, scheduler, cli):
    target = armed_target(org, scheduler, cli)
    assert target["RetryPolicy"] == RETRY_POLICY
    assert "DeadLetterConfig" not in target
