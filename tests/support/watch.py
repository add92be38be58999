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
