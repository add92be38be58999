"""The incident report of a large bundle: `python -m benchmarks.report_large [--events N] [--format html|md]`.

Seeds a bundle of N synthetic CloudTrail events (default 100,000: 60 operations over 10 services,
errors, access denials, calls outside the window) through `collect_evidence`, and a 1,000-event
one, then renders each report in a fresh process and prints, for both: the report's size, the
render time, the peak of Python's allocations during the render (tracemalloc, in a second run:
tracing slows it) and the process's peak RSS. Bounded memory shows as about the same peak at
both sizes. Not part of the test suite."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks.evidence_worker import incident, peak_rss_kib
from breakglass_aws.aws import ClientFactory
from breakglass_aws.evidence.report_write import write_report
from breakglass_aws.incident.evidence import EvidenceOptions, collect_evidence
from breakglass_aws.journal import SqliteStore
from breakglass_aws.runtime import Runtime

NOW = datetime(2026, 1, 1, tzinfo=UTC)
SERVICES = ["s3", "ec2", "iam", "kms", "sts", "lambda", "dynamodb", "cloudtrail", "logs", "rds"]
VERBS = [("Get", True), ("List", True), ("Describe", True), ("Put", False), ("Delete", False), ("Update", False)]


class SyntheticSource:
    """`count` events of the break-glass session (its Username lookup in us-east-1)."""

    def __init__(self, count: int, session: str, key: str) -> None:
        self.count, self.session, self.key = count, session, key

    def lookup(
        self, region: str, attribute: tuple[str, str], start: datetime, end: datetime
    ) -> Iterator[dict[str, Any]]:
        if region != "us-east-1" or attribute != ("Username", self.session):
            return
        for n in range(self.count):
            yield self.event(n, start)

    def event(self, n: int, start: datetime) -> dict[str, Any]:
        service, (verb, read_only) = SERVICES[n % 10], VERBS[(n // 10) % 6]
        name = f"{verb}{service.capitalize()}Thing"
        detail: dict[str, Any] = {
            "eventName": name,
            "eventSource": f"{service}.amazonaws.com",
            "userIdentity": {
                "type": "AssumedRole",
                "arn": f"arn:aws:sts::123456789012:assumed-role/BreakGlassAdmin/{self.session}",
                "accessKeyId": self.key,
                "sourceIdentity": "alice",
            },
            "requestParameters": {"resource": f"thing-{n:08d}"},
        }
        if n % 50 == 0:
            detail["errorCode"], detail["errorMessage"] = "AccessDenied", "explicit deny in an SCP"
        elif n % 37 == 0:
            detail["errorCode"] = "ThrottlingException"
        offset = 360 if n % 1000 else 1  # one call in a thousand before the opening (in the margin)
        return {
            "EventId": f"{n:08d}-0000-4000-8000-000000000000",
            "EventName": name,
            "EventTime": start + timedelta(seconds=offset + n % 3000),
            "EventSource": f"{service}.amazonaws.com",
            "Username": self.session,
            "AccessKeyId": self.key,
            "ReadOnly": "true" if read_only else "false",
            "Resources": [],
            "CloudTrailEvent": json.dumps(detail),
        }


def seed(count: int, folder: Path) -> tuple[Path, float]:
    """A final bundle of `count` events (collected a day after the opening)."""
    store = SqliteStore(folder / "journal.sqlite3")
    record = incident(NOW)
    store.create_incident(record, entries=[("opened", {"incident": record.public()})])
    rt = Runtime(factory=ClientFactory(), store=store, clock=lambda: NOW + timedelta(days=1))
    role = record.role
    if role is None:
        raise SystemExit("the benchmark incident has no role")
    source = SyntheticSource(count, role.session_name, role.sessions[0].access_key_id)
    started = time.perf_counter()
    result = collect_evidence(rt, record.incident_id, folder / "bundle", EvidenceOptions(), source=source)
    return Path(result.folder), time.perf_counter() - started


def render(bundle: Path, fmt: str) -> dict[str, Any]:
    """In this (fresh) process: the timed render, then a traced one for Python's peak allocations."""
    started = time.perf_counter()
    result = write_report(bundle, fmt, NOW + timedelta(days=1))
    seconds = time.perf_counter() - started
    peak_kib = peak_rss_kib()
    tracemalloc.start()
    write_report(bundle, fmt, NOW + timedelta(days=1))
    traced = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return {
        "events": result.events,
        "findings": result.findings,
        "bytes": result.bytes,
        "seconds": round(seconds, 2),
        "traced_peak_mib": round(traced / 2**20, 1),
        "peak_rss_mib": round(peak_kib / 1024, 1),
        "report": result.report,
    }


def measure(count: int, fmt: str, work: Path) -> dict[str, Any]:
    bundle, seeded = seed(count, work / f"n{count}")
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.report_large", "--render", str(bundle), "--format", fmt],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    found = json.loads(out)
    found["seed_seconds"] = round(seeded, 1)
    found["events_file_mib"] = round((bundle / "cloudtrail-events.jsonl").stat().st_size / 2**20, 1)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--format", default="html", choices=["html", "md"])
    parser.add_argument("--render", metavar="BUNDLE", help=argparse.SUPPRESS)  # the child process
    args = parser.parse_args()
    if args.render:
        print(json.dumps(render(Path(args.render), args.format)))
        return
    with tempfile.TemporaryDirectory(prefix="bg-report-") as work:
        runs = {n: measure(n, args.format, Path(work)) for n in (1_000, args.events)}
    print(f"{'events':>8} {'events file':>12} {'report':>10} {'render':>8} {'traced peak':>12} {'peak RSS':>9}")
    for n, r in runs.items():
        print(
            f"{n:>8} {r['events_file_mib']:>9} MiB {r['bytes'] / 1024:>6.0f} KiB {r['seconds']:>7}s "
            f"{r['traced_peak_mib']:>8} MiB {r['peak_rss_mib']:>5} MiB"
        )
    print(json.dumps({"format": args.format, "runs": runs}, indent=2))


if __name__ == "__main__":
    main()
