"""One pass over cloudtrail-events.jsonl, line by line: each event is classified (the tool's own
calls, the break-glass session's, another principal's, errors, access denials), counted into the
timeline's bins and the grouped calls, and checked for what an auditor should look at. Memory stays
bounded whatever the number of events: every count is exact, every list is capped."""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from breakglass_aws.evidence.report_text import parse_time

__all__ = ["BINS", "KINDS", "MAX_FINDINGS", "MAX_GROUPS", "REASONS", "Context", "Finding", "Group", "Scan", "scan"]

KINDS = ("tool", "session", "other", "error", "denied")
BINS = 2400  # fine time bins over the collection window; the timeline zooms to the busy part
MAX_GROUPS = 2000  # (service, operation) pairs counted one by one; any further pair counts under "(others)"
MAX_FINDINGS = 500  # flagged calls listed; every one, and every finding, is counted
DENIED = re.compile(r"AccessDenied|Unauthori[sz]ed|Forbidden|NotAuthorized", re.IGNORECASE)
READ_PREFIXES = ("Get", "List", "Describe", "Head", "Lookup", "BatchGet", "Search", "Select", "Query", "Scan")
WATCHED_SERVICES = ("iam", "cloudtrail")
REASONS = {
    "outside-window": "a call with the break-glass credentials outside the emergency window",
    "after-cutoff": "a call with the break-glass credentials after the revocation cut-off",
    "access-denied": "access denied",
    "iam-cloudtrail": "a change to IAM or CloudTrail made with the break-glass credentials",
    "break-glass-resource": "a call on the break-glass resources themselves",
    "other-principal": "a change of the kind the tool makes, by another principal",
}


@dataclass(frozen=True)
class Context:
    """What the bundle says about the incident, to classify its events."""

    opened: datetime
    ended: datetime  # the close, or the expiry of an incident still open
    axis: tuple[datetime, datetime]  # the timeline's first and last moment
    requester: frozenset[str]  # the names the requester appears under in CloudTrail
    session_name: str | None = None
    session_keys: frozenset[str] = frozenset()
    cutoff: datetime | None = None  # sessions issued before it are denied (revocation)
    watched: tuple[str, ...] = ()  # the break-glass resources' names and ids

    @property
    def has_session(self) -> bool:
        return bool(self.session_name or self.session_keys)


@dataclass
class Group:
    """The calls of one (service, operation)."""

    service: str
    name: str
    write: bool
    count: int = 0
    errors: int = 0
    denied: int = 0
    first: datetime | None = None
    last: datetime | None = None

    def add(self, when: datetime | None, kind: str) -> None:
        self.count += 1
        self.errors += kind in ("error", "denied")
        self.denied += kind == "denied"
        if when is not None:
            self.first = when if self.first is None else min(self.first, when)
            self.last = when if self.last is None else max(self.last, when)


@dataclass
class Finding:
    """One flagged call and every reason it was flagged for."""

    reasons: list[str]
    time: datetime | None
    service: str
    name: str
    who: str
    detail: str
    event_id: str


@dataclass
class _Event:
    event_id: str
    time: datetime | None
    service: str
    name: str
    who: str
    key: str
    identity_arn: str
    lookup: str
    error: str
    write: bool
    record: dict[str, Any]
    detail: dict[str, Any]
    raw: bytes  # the line as stored: a cheap first look for the break-glass resources' names


@dataclass
class Scan:
    events: int = 0
    unreadable: int = 0  # lines that are not an event record
    untimed: int = 0  # events without a readable time (not on the timeline)
    before_axis: int = 0
    after_axis: int = 0
    by_kind: Counter[str] = field(default_factory=Counter)
    bins: dict[str, list[int]] = field(default_factory=lambda: {k: [0] * BINS for k in KINDS})
    groups: dict[tuple[str, str], Group] = field(default_factory=dict)
    others: Group = field(default_factory=lambda: Group("(others)", f"(beyond the first {MAX_GROUPS})", False))
    grouped: int = 0  # calls counted in the grouped table (the session's, or all without a session)
    session_first: datetime | None = None
    session_last: datetime | None = None
    findings: list[Finding] = field(default_factory=list)  # the first MAX_FINDINGS flagged calls
    finding_counts: Counter[str] = field(default_factory=Counter)  # by reason
    flagged: int = 0  # calls with at least one finding

    @property
    def findings_total(self) -> int:
        return sum(self.finding_counts.values())


def scan(path: Path, ctx: Context) -> Scan:
    """Read the events file line by line (never whole) and fold every event into a Scan."""
    result = Scan()
    with path.open("rb") as handle:
        for line in handle:
            if not line.strip():
                continue
            event = _parse(line)
            if event is None:
                result.unreadable += 1
                continue
            _fold(result, ctx, event)
    return result


def _fold(result: Scan, ctx: Context, event: _Event) -> None:
    result.events += 1
    session = _is_session(ctx, event)
    kind = _kind(ctx, event, session)
    result.by_kind[kind] += 1
    _place(result, ctx, event.time, kind)
    if session or not ctx.has_session:
        _group(result, event, kind)
    if session and event.time is not None:
        result.session_first = min(filter(None, [result.session_first, event.time]))
        result.session_last = max(filter(None, [result.session_last, event.time]))
    reasons = _reasons(ctx, event, session, kind)
    if not reasons:
        return
    result.flagged += 1
    result.finding_counts.update(reasons)
    if len(result.findings) < MAX_FINDINGS:
        result.findings.append(_finding(reasons, event))


def _place(result: Scan, ctx: Context, when: datetime | None, kind: str) -> None:
    if when is None:
        result.untimed += 1
        return
    start, end = ctx.axis
    span = max((end - start).total_seconds(), 1.0)
    offset = (when - start).total_seconds()
    result.before_axis += offset < 0
    result.after_axis += offset > span
    column = min(max(int(offset / span * BINS), 0), BINS - 1)
    result.bins[kind][column] += 1


def _group(result: Scan, event: _Event, kind: str) -> None:
    result.grouped += 1
    key = (event.service, event.name)
    group = result.groups.get(key)
    if group is None and len(result.groups) < MAX_GROUPS:
        group = result.groups[key] = Group(event.service, event.name, event.write)
    (group or result.others).add(event.time, kind)


def _kind(ctx: Context, event: _Event, session: bool) -> str:
    if event.error:
        return "denied" if DENIED.search(event.error) else "error"
    if session:
        return "session"
    return "tool" if _is_requester(ctx, event) else "other"


def _reasons(ctx: Context, event: _Event, session: bool, kind: str) -> list[str]:
    found = ["access-denied"] if kind == "denied" else []
    if session:
        when = event.time
        if when is not None and (when < ctx.opened or when > ctx.ended):
            found.append("outside-window")
        if when is not None and ctx.cutoff is not None and when > ctx.cutoff:
            found.append("after-cutoff")
        if event.write and event.service in WATCHED_SERVICES:
            found.append("iam-cloudtrail")
        if _names_watched(ctx, event):
            found.append("break-glass-resource")
    elif event.write and not _is_requester(ctx, event):
        found.append("other-principal")
    return found


def _finding(reasons: list[str], event: _Event) -> Finding:
    parts = ["write" if event.write else "read-only", f"error {event.error}" if event.error else ""]
    message = event.detail.get("errorMessage")
    if isinstance(message, str) and message:
        parts.append(message)
    detail = "; ".join(p for p in parts if p)
    return Finding(reasons, event.time, event.service, event.name, event.who, detail, event.event_id)


def _is_session(ctx: Context, event: _Event) -> bool:
    if not ctx.has_session:
        return False
    if event.key and event.key in ctx.session_keys:
        return True
    name = ctx.session_name
    if not name:
        return False
    return event.who == name or event.identity_arn.endswith("/" + name) or event.lookup == f"Username={name}"


def _is_requester(ctx: Context, event: _Event) -> bool:
    return event.who in ctx.requester or event.identity_arn in ctx.requester


def _names_watched(ctx: Context, event: _Event) -> bool:
    """A break-glass resource named in the request's parameters or the event's resources (the
    line is searched first: most lines name none, and need no closer look)."""
    if not any(not name.isascii() or name.encode() in event.raw for name in ctx.watched):
        return False
    haystack = _text(event.detail.get("requestParameters"), 20000) + _text(event.record.get("Resources"), 20000)
    return any(name in haystack for name in ctx.watched)


def _parse(line: bytes) -> _Event | None:
    try:
        record = json.loads(line)
    except ValueError:
        return None
    if not isinstance(record, dict):
        return None
    detail = _detail(record.get("CloudTrailEvent"))
    identity = detail.get("userIdentity")
    identity = identity if isinstance(identity, dict) else {}
    name = _text(record.get("EventName") or detail.get("eventName")) or "(unnamed)"
    source = _text(record.get("EventSource") or detail.get("eventSource"))
    return _Event(
        event_id=_text(record.get("EventId")),
        time=parse_time(record.get("EventTime") or detail.get("eventTime")),
        service=source.removesuffix(".amazonaws.com") if source else "(unknown)",
        name=name,
        who=_text(record.get("Username") or identity.get("arn") or identity.get("principalId")),
        key=_text(record.get("AccessKeyId") or identity.get("accessKeyId")),
        identity_arn=_text(identity.get("arn")),
        lookup=_text(record.get("lookup")),
        error=_text(detail.get("errorCode") or record.get("errorCode")),
        write=not _read_only(record, detail, name),
        record=record,
        detail=detail,
        raw=line,
    )


def _detail(raw: object) -> dict[str, Any]:
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            return {}
    return raw if isinstance(raw, dict) else {}


def _read_only(record: dict[str, Any], detail: dict[str, Any], name: str) -> bool:
    """CloudTrail's own flag when the event carries one, else the operation's name."""
    for flag in (record.get("ReadOnly"), detail.get("readOnly")):
        if isinstance(flag, bool):
            return flag
        if isinstance(flag, str) and flag.lower() in ("true", "false"):
            return flag.lower() == "true"
    return name.startswith(READ_PREFIXES)


def _text(value: object, limit: int = 1000) -> str:
    """A field as text, bounded (a field may hold anything, of any size)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value[:limit]
    try:
        return json.dumps(value, sort_keys=True, default=str)[:limit]
    except (TypeError, ValueError):
        return str(value)[:limit]


def padded(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    """An axis never shorter than a second."""
    return (start, end) if end > start else (start, start + timedelta(seconds=1))
