"""Test and benchmark helpers shipped with the library: a moto server on loopback, started and
stopped by PID, and a fault proxy in front of it (delay, hang, throttle, fail by operation); the
stand-ins for what moto lacks (CloudTrail LookupEvents here, centralized root access in
`testing_root`).

Nothing here is imported by the tool itself.
"""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from breakglass_aws.testing_root import install_root_tasks, seed_root_credentials

__all__ = [
    "FAKE_KEY_ID",
    "FAKE_SECRET",
    "FaultProxy",
    "MotoServer",
    "Span",
    "critical_depth",
    "endpoint_variables",
    "env_for",
    "free_port",
    "install_cloudtrail_lookup",
    "install_root_tasks",
    "lookup_page",
    "operation_of",
    "region_of",
    "seed_root_credentials",
    "seeded_file_events",
    "serve_with_cloudtrail",
    "service_of",
    "unset_variables",
]

LOOPBACK = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def _port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind((LOOPBACK, port))
        except OSError:
            return False
        return True


@dataclass
class MotoServer:
    """`python -m moto.server` on 127.0.0.1, in its own process; stop() kills it by PID."""

    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    cloudtrail_seed: str | None = None  # a JSON-lines file of events LookupEvents answers from
    environment: dict[str, str] | None = None  # set for the server process, over this one's environment

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def start(self, timeout: float = 30.0) -> MotoServer:
        if not _port_is_free(self.port):
            raise RuntimeError(f"port {self.port} on {LOOPBACK} is in use: another server would answer for this one")
        cmd = [sys.executable, "-m", "moto.server", "-H", LOOPBACK, "-p", str(self.port)]
        if self.cloudtrail_seed is not None:
            seed, parent = self.cloudtrail_seed, os.getpid()
            code = f"from breakglass_aws.testing import serve_with_cloudtrail as s; s({self.port}, {seed!r}, {parent})"
            cmd = [sys.executable, "-c", code]
        env = {**os.environ, **(self.environment or {})}
        self.process = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                with urllib.request.urlopen(f"{self.url}/moto-api/", timeout=1):  # noqa: S310 - loopback
                    if self.process.poll() is None:  # the answer came from our own process
                        return self
            except OSError:
                time.sleep(0.1)
        exit_code = self.process.poll()
        self.stop()
        ended = f" (it exited with {exit_code})" if exit_code is not None else ""
        raise RuntimeError(f"moto server did not start on {self.url}{ended}")

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def reset(self) -> None:
        request = urllib.request.Request(f"{self.url}/moto-api/reset", method="POST")  # noqa: S310
        with urllib.request.urlopen(request, timeout=10):  # noqa: S310 - loopback only
            pass

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None


def _scope_part(headers: Any, index: int) -> str:
    """One part of a request's SigV4 credential scope (KEY/DATE/REGION/SERVICE/aws4_request)."""
    auth = str(headers.get("Authorization") or "")
    marker = "Credential="
    if marker not in auth:
        return ""
    scope = auth.split(marker, 1)[1].split(",", 1)[0].split("/")
    return scope[index] if len(scope) > index else ""


def service_of(headers: Any) -> str:
    """The signing service of a request, from its SigV4 credential scope."""
    return _scope_part(headers, 3)


def region_of(headers: Any) -> str:
    """The signing region of a request, from its SigV4 credential scope."""
    return _scope_part(headers, 2)


def operation_of(headers: Any, body: bytes) -> str:
    """The API operation of a request: JSON protocols name it in X-Amz-Target, query ones in Action."""
    target = headers.get("X-Amz-Target") or ""
    if target:
        return str(target).rsplit(".", 1)[-1]
    for part in body.decode(errors="replace").split("&"):
        if part.startswith("Action="):
            return part[len("Action=") :]
    return ""


@dataclass(frozen=True)
class Span:
    """One request as the proxy saw it: from its arrival to the end of its answer."""

    operation: str
    phase: str
    start: float
    end: float


def critical_depth(spans: list[Span]) -> int:
    """The request levels on the critical path: the longest chain of requests each sent after the
    one before it was answered (requests in flight together are one level)."""
    ordered = sorted(spans, key=lambda span: span.start)
    longest: list[int] = []
    for i, span in enumerate(ordered):
        before = [longest[j] for j in range(i) if ordered[j].end <= span.start]
        longest.append(1 + max(before, default=0))
    return max(longest, default=0)


Rule = Callable[[str], str | None]  # operation -> None (forward) | "hang" | "throttle" | "503" | "delay:SECONDS"


class FaultProxy:
    """An HTTP proxy on 127.0.0.1 that forwards to `upstream` unless a rule says otherwise."""

    def __init__(
        self,
        upstream: str,
        rule: Rule | None = None,
        max_rps: float | None = None,
        services: dict[str | tuple[str, str], str] | None = None,
        latency: float = 0.0,
    ) -> None:
        self.upstream = upstream.removeprefix("http://")
        self.latency = latency  # seconds added to every request, as a distant endpoint would
        self.spans: list[Span] = []
        self.phase = ""
        self.rule: Rule = rule or (lambda _op: None)
        # service, or (service, region) for a regional outage -> "503" | "hang" | "drop"
        self.services: dict[str | tuple[str, str], str] = dict(services or {})
        self.max_rps = max_rps
        self.seen: list[str] = []
        self.throttled = 0
        self.released = threading.Event()
        self._lock = threading.Lock()
        self._window: list[float] = []
        self._server = ThreadingHTTPServer((LOOPBACK, 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self._server.server_address[1]}"

    def start(self) -> FaultProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.released.set()
        self._server.shutdown()
        self._server.server_close()

    def over_rate(self) -> bool:
        if self.max_rps is None:
            return False
        now = time.monotonic()
        with self._lock:
            self._window = [t for t in self._window if now - t < 1.0]
            if len(self._window) >= self.max_rps:
                self.throttled += 1
                return True
            self._window.append(now)
        return False

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_: Any) -> None:
                return None

            def _any(self) -> None:
                started = time.monotonic()
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                operation = operation_of(self.headers, body)
                with proxy._lock:
                    proxy.seen.append(operation)
                try:
                    self._handle(operation, body)
                finally:
                    with proxy._lock:
                        proxy.spans.append(Span(operation, proxy.phase, started, time.monotonic()))

            def _handle(self, operation: str, body: bytes) -> None:
                if proxy.latency:
                    time.sleep(proxy.latency)
                service, region = service_of(self.headers), region_of(self.headers)
                outage = proxy.services.get((service, region)) or proxy.services.get(service)
                action = outage or ("throttle" if proxy.over_rate() else proxy.rule(operation))
                if action == "drop":
                    self.close_connection = True
                    self.connection.close()
                    return
                if action == "hang":
                    proxy.released.wait()
                    self.close_connection = True
                    return
                if action and action.startswith("delay:"):
                    proxy.released.wait(float(action.split(":", 1)[1]))
                if action in ("throttle", "503"):
                    self._answer_error(action)
                    return
                self._forward(body)

            def _answer_error(self, action: str) -> None:
                throttle = action == "throttle"
                status, code = (400, "TooManyRequestsException") if throttle else (503, "ServiceUnavailable")
                payload = f'{{"__type":"{code}","Message":"injected by proxy"}}'.encode() if throttle else b""
                self.send_response(status)
                self.send_header("Content-Type", "application/x-amz-json-1.1" if throttle else "text/plain")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def _forward(self, body: bytes) -> None:
                conn = http.client.HTTPConnection(proxy.upstream, timeout=60)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("connection",)}
                conn.request(self.command, self.path, body=body, headers=headers)
                answer = conn.getresponse()
                payload = answer.read()
                self.send_response(answer.status)
                for key, value in answer.getheaders():
                    if key.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
                conn.close()

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _any

        return Handler


FAKE_KEY_ID = "AKIAFAKEFORTESTS0000"  # a moto server's credentials: fake, never a real key
FAKE_SECRET = "fakeSecretKeyForTests0000000000000000000"  # noqa: S105 - fake


REGION = "us-east-1"
# what would take an AWS client elsewhere than the endpoint: a profile, a real session, a service's own URL
UNSET = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN")


def endpoint_variables(endpoint: str, region: str = REGION) -> dict[str, str]:
    """The variables that point every AWS client (SDKs, the aws CLI, Terraform) at `endpoint`
    with fake credentials."""
    return {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": FAKE_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": FAKE_SECRET,
        "AWS_DEFAULT_REGION": region,
        "AWS_REGION": region,
        "AWS_EC2_METADATA_DISABLED": "true",
    }


def unset_variables(env: dict[str, str]) -> list[str]:
    """The variables of `env` that would point a client elsewhere (see UNSET, AWS_ENDPOINT_URL_*)."""
    return [key for key in env if key in UNSET or key.startswith("AWS_ENDPOINT_URL_")]


def env_for(endpoint: str, base: dict[str, str] | None = None, region: str = REGION) -> dict[str, str]:
    """A subprocess environment pointing every AWS client at `endpoint`, with fake credentials."""
    env = dict(os.environ if base is None else base)
    for key in unset_variables(env):
        del env[key]
    env.update(endpoint_variables(endpoint, region))
    return env


EventsFor = Callable[[str], list[dict[str, Any]]]


def _event_time(event: dict[str, Any]) -> float:
    value = event["EventTime"]
    if isinstance(value, (int, float)):
        return float(value)
    from datetime import datetime

    return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()


def _matches(event: dict[str, Any], attributes: list[dict[str, str]]) -> bool:
    for attribute in attributes:
        key, value = attribute["AttributeKey"], attribute["AttributeValue"]
        if key in ("ResourceName", "ResourceType"):
            field_name = key.removeprefix("Resource")
            if not any(r.get(f"Resource{field_name}") == value for r in event.get("Resources", [])):
                return False
        elif str(event.get(key)) != value:
            return False
    return True


def lookup_page(events: list[dict[str, Any]], body: dict[str, Any]) -> dict[str, Any]:
    """One LookupEvents answer over seeded events, as CloudTrail pages them (newest first)."""
    start = float(body.get("StartTime", 0))
    end = float(body.get("EndTime", 1e12))
    found = [e for e in events if _matches(e, body.get("LookupAttributes", [])) and start <= _event_time(e) <= end]
    found.sort(key=_event_time, reverse=True)
    offset, size = int(body.get("NextToken") or 0), min(int(body.get("MaxResults") or 50), 50)
    page = [{**e, "EventTime": _event_time(e)} for e in found[offset : offset + size]]
    answer: dict[str, Any] = {"Events": page}
    if offset + size < len(found):
        answer["NextToken"] = str(offset + size)
    return answer


def install_cloudtrail_lookup(events_for: EventsFor) -> Callable[[], None]:
    """Teach moto's CloudTrail handler LookupEvents over seeded events; returns the undo."""
    import json

    from moto.cloudtrail.responses import CloudTrailResponse

    def lookup_events(self: Any) -> str:
        return json.dumps(lookup_page(events_for(self.region), json.loads(self.body)))

    had = getattr(CloudTrailResponse, "lookup_events", None)
    CloudTrailResponse.lookup_events = lookup_events  # type: ignore[attr-defined]

    def undo() -> None:
        if had is None:
            del CloudTrailResponse.lookup_events  # type: ignore[attr-defined]
        else:
            CloudTrailResponse.lookup_events = had  # type: ignore[attr-defined]

    return undo


def seeded_file_events(path: str) -> EventsFor:
    """Seeded events from a JSON-lines file (each with a "region"), re-read on every request."""
    import json

    def events_for(region: str) -> list[dict[str, Any]]:
        try:
            with open(path) as handle:
                lines = handle.read().splitlines()
        except FileNotFoundError:
            return []
        records = [json.loads(line) for line in lines if line.strip()]
        return [{k: v for k, v in r.items() if k != "region"} for r in records if r.get("region") == region]

    return events_for


def _exit_with(parent: int) -> None:
    """End this process when `parent` is gone (killed with -9, it could not stop us by PID)."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(0)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def serve_with_cloudtrail(port: int, seed_file: str, parent: int | None = None) -> None:
    """Entry point of a moto server process whose CloudTrail answers LookupEvents from a file, and
    which stands in for centralized root access (AssumeRoot and its organization features). With
    `parent`, the server also ends when that process (the one that started it) is gone."""
    from moto.server import main

    if parent is not None:
        _exit_with(parent)
    install_cloudtrail_lookup(seeded_file_events(seed_file))
    install_root_tasks()
    main(["-H", LOOPBACK, "-p", str(port)])
