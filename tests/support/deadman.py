"""The dead-man switch's schedules: the restore function and the scheduler role they invoke it with."""

from __future__ import annotations

import boto3
import pytest

FUNCTION = "arn:aws:lambda:us-east-1:123456789012:function:breakglass-restore"
SCHED_ROLE = "arn:aws:iam::123456789012:role/breakglass-scheduler"


@pytest.fixture
def scheduler(org, monkeypatch):
    client = boto3.client("scheduler", region_name="us-east-1")
    client.create_schedule_group(Name="breakglass")
    monkeypatch.setenv("BREAKGLASS_RESTORE_FUNCTION_ARN", FUNCTION)
    monkeypatch.setenv("BREAKGLASS_SCHEDULER_ROLE_ARN", SCHED_ROLE)
    return client
