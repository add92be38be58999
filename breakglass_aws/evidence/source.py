"""Where evidence comes from: the `EvidenceSource` interface and its CloudTrail LookupEvents
implementation (one lookup attribute per call, paged, at most 2 requests per second per region)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, Protocol, cast, get_args

from breakglass_aws.aws import ClientFactory, aws_errors

if TYPE_CHECKING:
    from mypy_boto3_cloudtrail import CloudTrailClient

__all__ = ["CloudTrailSource", "EvidenceSource", "RateLimiter"]

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
            for page in pages:
                events = page.get("Events", [])
                if self.on_page is not None:
                    self.on_page(region, attribute, len(events))
                yield from (cast("dict[str, Any]", event) for event in events)  # passed on as recorded
