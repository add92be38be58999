"""Where evidence comes from: the `EvidenceSource` interface and its CloudTrail LookupEvents
implementation (one lookup attribute per call, paged, at most 2 requests per second per region).
An endpoint that does not implement LookupEvents (a plain moto server answers HTTP 500) is named
after its first answer, not after botocore's retries."""

from __future__ import annotations

import ipaddress
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, Protocol, cast, get_args

from breakglass_aws.aws import ClientFactory, aws_errors
from breakglass_aws.errors import AwsFailure

if TYPE_CHECKING:
    from mypy_boto3_cloudtrail import CloudTrailClient

__all__ = ["CloudTrailSource", "EvidenceSource", "RateLimiter", "lookup_unimplemented"]

Attribute = tuple[str, str]
LookupKey = Literal[
    "AccessKeyId", "EventId", "EventName", "EventSource", "ReadOnly", "ResourceName", "ResourceType", "Username"
]
ATTRIBUTE_KEYS: dict[str, LookupKey] = {key: key for key in get_args(LookupKey)}


class EvidenceSource(Protocol):
    """Yields raw CloudTrail events (LookupEvents' shape) for one attribute in one region."""

    def lookup(self, region: str, attribute: Attribute, start: datetime, end: datetime) -> Iterator[dict[str, Any]]: ...


SAFETY = 1.02  # pace 2% under the limit: arrival jitter must not push two requests into one second


class RateLimiter:
    """At most `rate` calls per second, spaced evenly (CloudTrail allows 2 per second per region)."""

    def __init__(
        self, rate: float, clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        self.interval = SAFETY / rate
        self.clock, self.sleep = clock, sleep
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        with self._lock:
            now = self.clock()
            start = max(now, self._next)
            self._next = start + self.interval
        if start > now:
            self.sleep(start - now)


# What an endpoint without LookupEvents answers: moto's server (Werkzeug's page for the
# NotImplementedError it raises), or an emulator that says so.
_UNIMPLEMENTED = re.compile(rb"not (?:yet )?implemented|notimplemented|not yet been emulated", re.IGNORECASE)
_WERKZEUG_500 = (b"<title>500 Internal Server Error</title>", b"unable to complete your request")
KIT = "test against `breakglass sandbox serve` or the pytest fixture `breakglass_sandbox`"


def _is_loopback(endpoint: str) -> bool:
    from urllib.parse import urlsplit

    host = urlsplit(endpoint).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def lookup_unimplemented(endpoint: str, detail: str, moto: bool = False) -> AwsFailure:
    """The one line for an endpoint that does not implement LookupEvents (exit 7)."""
    message = f"the CloudTrail endpoint {endpoint} does not implement LookupEvents ({detail})"
    if moto or _is_loopback(endpoint):
        hint = (
            "a plain moto server has no LookupEvents; "
            f"{KIT} (breakglass-aws's testing kit: its CloudTrail answers LookupEvents from seeded events)"
        )
    else:
        hint = "point AWS_ENDPOINT_URL_CLOUDTRAIL (or AWS_ENDPOINT_URL) at an endpoint with LookupEvents, or unset it"
    return AwsFailure(message, hint)


class _RefuseUnimplemented:
    """needs-retry handler: an answer that says LookupEvents is not implemented stops the retries."""

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint

    def __call__(self, response: Any = None, **_: Any) -> None:
        http = response[0] if response else None
        if http is None or int(http.status_code) < 500:
            return
        body = bytes(http.content or b"")[:4096]
        werkzeug = all(marker in body for marker in _WERKZEUG_500)  # Werkzeug's page: moto's server
        if werkzeug or _UNIMPLEMENTED.search(body):
            said = f"it answered HTTP {http.status_code}" + (", as a moto server does" if werkzeug else "")
            raise lookup_unimplemented(self.endpoint, said, moto=werkzeug)


class CloudTrailSource:
    """LookupEvents through botocore's paginator, one client and one limiter per region."""

    def __init__(
        self,
        factory: ClientFactory,
        rate: float = 2.0,
        on_page: Callable[[str, Attribute, int], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """on_page(region, attribute, events on the page) after every page; clock and sleep pace
        the requests (injectable so tests can count the pacing without waiting)."""
        self.factory = factory
        self.rate = rate
        self.on_page = on_page
        self.clock, self.sleep = clock, sleep
        self._limiters: dict[str, RateLimiter] = {}

    def _client(self, region: str) -> CloudTrailClient:
        client = self.factory.client("cloudtrail", region)
        if region not in self._limiters:
            limiter = self._limiters[region] = RateLimiter(self.rate, self.clock, self.sleep)
            # before-send: every HTTP attempt is paced, botocore's retries included
            client.meta.events.register("before-send.cloudtrail.LookupEvents", lambda **_: limiter.wait())
            client.meta.events.register(
                "needs-retry.cloudtrail.LookupEvents",
                _RefuseUnimplemented(client.meta.endpoint_url),
                unique_id="breakglass-lookup-unimplemented",  # once per (cached) client
            )
        return client

    def lookup(self, region: str, attribute: Attribute, start: datetime, end: datetime) -> Iterator[dict[str, Any]]:
        key, value = ATTRIBUTE_KEYS.get(attribute[0]), attribute[1]
        if key is None:
            raise ValueError(f"not a LookupEvents attribute: {attribute[0]}")
        paginator = self._client(region).get_paginator("lookup_events")
        pages = paginator.paginate(
            LookupAttributes=[{"AttributeKey": key, "AttributeValue": value}],
            StartTime=start,
            EndTime=end,
            PaginationConfig={"PageSize": 50},
        )
        with aws_errors():
            for page in _unless_unimplemented(pages):
                events = page.get("Events", [])
                if self.on_page is not None:
                    self.on_page(region, attribute, len(events))
                yield from (cast("dict[str, Any]", event) for event in events)  # passed on as recorded


def _unless_unimplemented(pages: Iterable[Any]) -> Iterator[Any]:
    """In-process moto (mock_aws) without the stand-in raises NotImplementedError from the call."""
    try:
        yield from pages
    except NotImplementedError as err:
        raise AwsFailure(
            f"the in-process moto (mock_aws) does not implement CloudTrail LookupEvents ({err})",
            "install the stand-in first: breakglass_aws.testing.install_cloudtrail_lookup(events_for), "
            "or use the pytest fixture `breakglass_sandbox`",
        ) from err
