"""Evidence: CloudTrail events, a paged source over them, a role incident to collect for, and collect runs."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from breakglass_aws.errors import AwsFailure
from breakglass_aws.testing import lookup_page
from tests.conftest import ACCOUNT


def event(
    n,
    name="GetObject",
    username=None,
    when=None,
    region_source="s3.amazonaws.com",
    key=None,
    params=None,
    source_identity=None,
):
    when = when or datetime.now(UTC)
    record = {
        "eventName": name,
        "requestParameters": params or {},
        "userIdentity": {"accessKeyId": key, "sourceIdentity": source_identity},
    }
    return {
        "EventId": f"evt-{n:06d}",
        "EventName": name,
        "Username": username,
        "AccessKeyId": key,
        "EventTime": when.isoformat(),
        "EventSource": region_source,
        "ReadOnly": "false",
        "Resources": [],
        "CloudTrailEvent": json.dumps(record),
    }


class FakeSource:
    """The EvidenceSource interface over seeded events, paged like CloudTrail."""

    def __init__(self, by_region):
        self.by_region = by_region
        self.requests: list[tuple[str, tuple[str, str]]] = []

    def lookup(self, region, attribute, start, end):
        body = {
            "LookupAttributes": [{"AttributeKey": attribute[0], "AttributeValue": attribute[1]}],
            "StartTime": start.timestamp(),
            "EndTime": end.timestamp(),
        }
        while True:
            self.requests.append((region, attribute))
            page = lookup_page(self.by_region.get(region, []), body)
            for item in page["Events"]:
                yield {**item, "EventTime": datetime.fromtimestamp(item["EventTime"], UTC)}
            if "NextToken" not in page:
                return
            body["NextToken"] = page["NextToken"]


def open_role_incident(cli, region="eu-west-1"):
    return cli(
        "role", "assume", "--account", ACCOUNT, "--reason", "IdP down", "--format", "json", "--region", region
    ).json()


def read_events(folder):
    return [json.loads(line) for line in (Path(folder) / "cloudtrail-events.jsonl").read_text().splitlines()]


FILES = ["incident.json", "journal.jsonl", "cloudtrail-events.jsonl", "summary.json"]


def session_of(creds):
    return f"breakglass-{creds['incident_id']}"


def collect(cli, incident_id, folder, *extra):
    return cli("evidence", "collect", incident_id, "--out", str(folder), *extra)


def siblings(folder: Path) -> list[str]:
    """The folder and any hidden staging/old copies of it next to it."""
    return sorted(p.name for p in folder.parent.iterdir() if folder.name in p.name)


@pytest.fixture
def incident(iam, cli, seeded_cloudtrail):
    creds = open_role_incident(cli)
    seeded_cloudtrail["eu-west-1"] = [event(n, "PutObject", session_of(creds)) for n in range(5)]
    return creds


class FailingSource:
    """Yields a few events, then CloudTrail fails for good."""

    def lookup(self, region, attribute, start, end):
        yield event(900, "PutObject", "x", when=start + timedelta(seconds=1))
        raise AwsFailure("CloudTrail LookupEvents failed after retries: InternalError", "try again later")
