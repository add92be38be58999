"""CloudTrail events as `watch` reads them."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from tests.conftest import ACCOUNT


def ct(event_id, name, params, username="someone", when=None):
    when = when or datetime.now(UTC) - timedelta(minutes=1)
    record = {
        "eventName": name,
        "requestParameters": params,
        "userIdentity": {"arn": f"arn:aws:iam::{ACCOUNT}:user/{username}", "userName": username},
    }
    return {
        "EventId": event_id,
        "EventName": name,
        "EventTime": when.isoformat(),
        "Username": username,
        "EventSource": "sts.amazonaws.com",
        "CloudTrailEvent": json.dumps(record),
    }


# --- one sample event per break-glass kind (see breakglass_aws.watch.coverage) ------------------

USER = "breakglass-1"
TOPIC_NAME = "breakglass-alerts"  # the `topic` fixture's
OTHER_ACCOUNT = "210987654321"

# kind -> (event name, request parameters about the glass, the same about something else | None)
SAMPLES = {
    "assume-role": (
        "AssumeRole",
        {"roleArn": f"arn:aws:iam::{ACCOUNT}:role/BreakGlassAdmin", "roleSessionName": "manual"},
        {"roleArn": f"arn:aws:iam::{ACCOUNT}:role/ReadOnly", "roleSessionName": "manual"},
    ),
    "assume-root": (
        "AssumeRoot",
        {
            "targetPrincipal": OTHER_ACCOUNT,
            "taskPolicyArn": {"arn": "arn:aws:iam::aws:policy/root-task/S3UnlockBucketPolicy"},
        },
        None,
    ),
    "console-login": ("ConsoleLogin", {}, None),
    "root-console-login": ("ConsoleLogin", {}, None),
    "user-credentials": ("CreateAccessKey", {"userName": USER}, {"userName": "alice"}),
    "user-mfa-deleted": (
        "DeleteVirtualMFADevice",
        {"serialNumber": f"arn:aws:iam::{ACCOUNT}:mfa/{USER}"},
        {"serialNumber": f"arn:aws:iam::{ACCOUNT}:mfa/alice"},
    ),
    "role-changed": (
        "UpdateAssumeRolePolicy",
        {"roleName": "BreakGlassAdmin", "policyDocument": "{}"},
        {"roleName": "ReadOnly", "policyDocument": "{}"},
    ),
    "secret-read": ("GetSecretValue", {"secretId": f"breakglass/{USER}"}, {"secretId": "app/database"}),
    "trail-changed": ("StopLogging", {"name": "organization-trail"}, None),
    "alert-rule-changed": ("DisableRule", {"name": "breakglass-assume-role"}, {"name": "app-nightly"}),
    "alert-target-removed": (
        "RemoveTargets",
        {"rule": "breakglass-assume-role", "ids": ["notify"]},
        {"rule": "app-nightly", "ids": ["x"]},
    ),
    "topic-unsubscribed": (
        "Unsubscribe",
        {"subscriptionArn": f"arn:aws:sns:us-east-1:{ACCOUNT}:{TOPIC_NAME}:0b1c2d3e"},
        {"subscriptionArn": f"arn:aws:sns:us-east-1:{ACCOUNT}:app-events:0b1c2d3e"},
    ),
    "scp-change": ("DetachPolicy", {"policyId": "p-denyall1", "targetId": "ou-root-deny"}, None),
}


def identity(kind: str, who: str = "mallory", key: str | None = None) -> dict:
    if kind == "root-console-login":
        return {"type": "Root", "arn": f"arn:aws:iam::{ACCOUNT}:root", "accountId": ACCOUNT}
    name = USER if kind == "console-login" else who
    found = {"type": "IAMUser", "arn": f"arn:aws:iam::{ACCOUNT}:user/{name}", "userName": name, "accountId": ACCOUNT}
    return {**found, "accessKeyId": key} if key else found


def record(kind: str, region: str, params: dict, event_name: str | None = None, who: str = "mallory") -> dict:
    from breakglass_aws.watch.coverage import COVERAGE

    spec = next(k for k in COVERAGE if k.kind == kind)
    return {
        "eventVersion": "1.09",
        "eventSource": spec.event_source,
        "eventName": event_name or SAMPLES[kind][0],
        "awsRegion": region,
        "recipientAccountId": ACCOUNT,
        "userIdentity": identity(kind, who),
        "requestParameters": params,
    }


def sample(kind: str, region: str, when=None, event_id: str | None = None, concerning: bool = True, **more) -> dict:
    """A LookupEvents answer's event of `kind` recorded in `region` (about the glass, or not)."""
    _name, ours, theirs = SAMPLES[kind]
    params = ours if concerning else theirs
    full = record(kind, region, dict(params or {}), **more)
    when = when or datetime.now(UTC) - timedelta(minutes=1)
    return {
        "EventId": event_id or f"{kind}@{region}",
        "EventName": full["eventName"],
        "EventTime": when.isoformat(),
        "Username": full["userIdentity"].get("userName", "root"),
        "EventSource": full["eventSource"],
        "CloudTrailEvent": json.dumps(full),
    }


def as_eventbridge(kind: str, full: dict) -> dict:
    """The record as EventBridge delivers it to a rule."""
    from breakglass_aws.watch.coverage import COVERAGE

    spec = next(k for k in COVERAGE if k.kind == kind)
    return {
        "version": "0",
        "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
        "detail-type": spec.detail_type,
        "source": spec.source,
        "account": ACCOUNT,
        "time": "2026-12-05T08:00:00Z",
        "region": full["awsRegion"],
        "resources": [],
        "detail": full,
    }
