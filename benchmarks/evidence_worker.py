"""Run one evidence collection in this process and print its peak memory (used by the evidence
benchmark: `python -m benchmarks.evidence_worker EVENTS`)."""

from __future__ import annotations

import json
import resource
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from breakglass_aws.aws import ClientFactory
from breakglass_aws.incident.evidence import EvidenceOptions, collect_evidence
from breakglass_aws.journal import SqliteStore
from breakglass_aws.models import Incident, IncidentStatus, IssuedSession, Mode, Requester, RoleAccess
from breakglass_aws.runtime import Runtime

ACCOUNT = "123456789012"


class SyntheticSource:
    """`count` events for the break-glass session's Username lookup in us-east-1, 50 to a page."""

    def __init__(self, count: int, session: str) -> None:
        self.count, self.session = count, session

    def lookup(
        self, region: str, attribute: tuple[str, str], start: datetime, end: datetime
    ) -> Iterator[dict[str, Any]]:
        if region != "us-east-1" or attribute != ("Username", self.session):
            return
        for n in range(self.count):
            record = {
                "eventVersion": "1.09",
                "eventName": "GetObject",
                "awsRegion": "us-east-1",
                "userIdentity": {"type": "AssumedRole", "sourceIdentity": "alice"},
                "requestParameters": {"bucketName": "data", "key": f"objects/{n:08d}.json"},
            }
            yield {
                "EventId": f"{n:08d}-0000-4000-8000-000000000000",
                "EventName": "GetObject",
                "EventTime": start + timedelta(seconds=n % 3600),
                "EventSource": "s3.amazonaws.com",
                "Username": self.session,
                "ReadOnly": "true",
                "Resources": [],
                "CloudTrailEvent": json.dumps(record),
            }


def incident(now: datetime) -> Incident:
    incident_id = f"bg-{now:%Y%m%d-%H%M%S}-abcdef"
    return Incident(
        incident_id=incident_id,
        mode=Mode.ROLE,
        status=IncidentStatus.CLOSED,
        requester=Requester(arn=f"arn:aws:iam::{ACCOUNT}:user/alice", account=ACCOUNT, user_id="AIDA", name="alice"),
        reason="benchmark",
        targets=[f"arn:aws:iam::{ACCOUNT}:role/BreakGlassAdmin"],
        created_at=now,
        expires_at=now + timedelta(hours=1),
        closed_at=now + timedelta(hours=1),
        role=RoleAccess(
            role_arn=f"arn:aws:iam::{ACCOUNT}:role/BreakGlassAdmin",
            session_name=f"breakglass-{incident_id}",
            source_identity="alice",
            region="us-east-1",
            duration_seconds=3600,
            chained=False,
            sessions=[IssuedSession(access_key_id="ASIAEXAMPLE", expiration=now, issued_at=now)],
        ),
    )


def peak_rss_kib() -> int:
    """This process's peak resident memory. VmHWM starts afresh at exec; ru_maxrss would still
    count the parent's memory from before the fork."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def main() -> None:
    count = int(sys.argv[1])
    folder = Path(tempfile.mkdtemp(prefix="bg-evidence-"))
    store = SqliteStore(folder / "journal.sqlite3")
    now = datetime(2026, 1, 1, tzinfo=UTC)
    record = incident(now)
    store.create_incident(record)
    store.append(record.incident_id, "opened", {"incident": record.public()})
    rt = Runtime(factory=ClientFactory(), store=store, clock=lambda: now + timedelta(days=1))
    assert record.role is not None
    start = time.perf_counter()
    result = collect_evidence(
        rt,
        record.incident_id,
        folder / "bundle",
        EvidenceOptions(),
        source=SyntheticSource(count, record.role.session_name),
    )
    elapsed = time.perf_counter() - start
    peak_kib = peak_rss_kib()
    print(
        json.dumps({"events": result.event_count, "peak_mib": round(peak_kib / 1024, 1), "seconds": round(elapsed, 2)})
    )


if __name__ == "__main__":
    main()
