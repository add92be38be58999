"""Evidence collection: peak memory at 1,000 and 100,000 synthetic events, and the event rate
against a CloudTrail stub on 127.0.0.1 that throttles above 2 requests per second per region."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from benchmarks.evidence_worker import incident
from benchmarks.harness import tool
from breakglass_aws.journal import SqliteStore
from breakglass_aws.testing import env_for

REGION_RE = re.compile(r"Credential=[^/]+/\d+/([a-z0-9-]+)/")


def memory() -> dict[str, Any]:
    runs = {}
    for count in (1_000, 100_000):
        out = subprocess.run(
            [sys.executable, "-m", "benchmarks.evidence_worker", str(count)], capture_output=True, text=True, check=True
        ).stdout
        runs[count] = json.loads(out)
    small, large = runs[1_000]["peak_mib"], runs[100_000]["peak_mib"]
    return {
        "name": "evidence memory (synthetic source)",
        "peak_mib_1k": small,
        "peak_mib_100k": large,
        "ratio": round(large / small, 3),
        "seconds_100k": runs[100_000]["seconds"],
        "goal": "<= 64 MiB at 100k events and <= 1.2x the peak at 1k",
        "passed": large <= 64 and large / small <= 1.2,
    }


class ThrottledCloudTrail:
    """LookupEvents over `count` synthetic events for one Username; ThrottlingException beyond
    `limit` requests per second per region, as CloudTrail does."""

    def __init__(self, count: int, username: str, limit: float = 2.0) -> None:
        self.count, self.username, self.limit = count, username, limit
        self.stamps: dict[str, list[float]] = {}
        self.served, self.throttled, self.big_requests = 0, 0, []
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def allow(self, region: str) -> bool:
        now = time.monotonic()
        with self.lock:
            recent = [t for t in self.stamps.get(region, []) if now - t < 1.0]
            if len(recent) >= self.limit:
                self.throttled += 1
                self.stamps[region] = recent
                return False
            self.stamps[region] = [*recent, now]
        return True

    def page(self, body: dict[str, Any]) -> dict[str, Any]:
        attribute = body["LookupAttributes"][0]
        if (attribute["AttributeKey"], attribute["AttributeValue"]) != ("Username", self.username):
            return {"Events": []}
        offset = int(body.get("NextToken") or 0)
        self.big_requests.append(time.monotonic())
        stop = min(offset + 50, self.count)
        events = [
            {
                "EventId": f"{n:08d}",
                "EventName": "GetObject",
                "EventTime": 1767225600 + n,
                "EventSource": "s3.amazonaws.com",
                "Username": self.username,
                "CloudTrailEvent": "{}",
            }
            for n in range(offset, stop)
        ]
        self.served += len(events)
        return {"Events": events, **({"NextToken": str(stop)} if stop < self.count else {})}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_: Any) -> None:
                return None

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
                match = REGION_RE.search(self.headers.get("Authorization", ""))
                region = match.group(1) if match else "?"
                if stub.allow(region):
                    status, payload = 200, stub.page(body)
                else:
                    status, payload = 400, {"__type": "ThrottlingException", "message": "Rate exceeded"}
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/x-amz-json-1.1")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler


def throttled_rate(count: int = 3_000) -> dict[str, Any]:
    folder = Path(tempfile.mkdtemp(prefix="bg-evidence-rate-"))
    now = datetime.now(UTC) - timedelta(days=1)
    record = incident(now)
    store = SqliteStore(folder / "state" / "breakglass" / "journal.sqlite3")
    store.create_incident(record)
    store.append(record.incident_id, "opened", {"incident": record.public()})
    assert record.role is not None
    stub = ThrottledCloudTrail(count, record.role.session_name)
    env = {**env_for(stub.url), "XDG_STATE_HOME": str(folder / "state"), "XDG_CONFIG_HOME": str(folder / "cfg")}
    start = time.perf_counter()
    result = subprocess.run(
        [
            tool("breakglass"),
            "evidence",
            "collect",
            record.incident_id,
            "--out",
            str(folder / "bundle"),
            "--output",
            "json",
            "-q",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - start
    stub.server.shutdown()
    collected = json.loads(result.stdout)["event_count"] if result.returncode == 0 else 0
    span = stub.big_requests[-1] - stub.big_requests[0] + 0.5 if len(stub.big_requests) > 1 else wall
    rate = stub.served / span
    return {
        "name": "evidence rate (throttled at 2 req/s)",
        "events": count,
        "collected": collected,
        "failures": int(result.returncode != 0 or collected != count),
        "throttled_answers": stub.throttled,
        "events_per_second": round(rate, 1),
        "ratio": round(rate / 100.0, 3),
        "wall_seconds": round(wall, 1),
        "goal": ">= 95% of 100 events/s per region, zero failures",
        "passed": result.returncode == 0 and collected == count and rate >= 95.0,
    }
