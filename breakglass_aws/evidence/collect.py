"""Collect an incident's evidence into a bundle: the incident, its journal, and every CloudTrail
event of the break-glass session and of the tool's changes, streamed to disk in constant memory."""

from __future__ import annotations

import json
import secrets
import shutil
import sqlite3
import tempfile
from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from breakglass_aws.clock import isoformat
from breakglass_aws.errors import UsageError
from breakglass_aws.evidence.bundle import MANIFEST, SIGNATURE, Manifest, write_manifest
from breakglass_aws.evidence.source import Attribute, EvidenceSource
from breakglass_aws.models import Incident, JournalEntry, Mode
from breakglass_aws.validate import REGION_RE

__all__ = [
    "CollectResult",
    "Window",
    "check_out_folder",
    "collect_bundle",
    "plan_queries",
    "regions_for",
    "window_for",
]

GLOBAL_REGION = "us-east-1"
SCP_EVENTS = ("AttachPolicy", "DetachPolicy")
ROLE_EVENTS = ("PutRolePolicy", "DeleteRolePolicy")
ROTATION_EVENTS = ("CreateAccessKey", "UpdateAccessKey", "DeleteAccessKey", "UpdateLoginProfile")
MAX_LISTED_CHANGES = 1000


class Window(BaseModel):
    model_config = ConfigDict(extra="forbid")
    start: datetime
    end: datetime
    final: bool


def window_for(incident: Incident, now: datetime, margin: timedelta, delay: timedelta) -> Window:
    """From the opening minus a margin to the close plus CloudTrail's delivery delay."""
    end = (incident.closed_at or now) + delay
    return Window(start=incident.created_at - margin, end=min(end, now), final=now >= end)


def _session_queries(incident: Incident, regions: list[str]) -> list[tuple[str, Attribute, str]]:
    role = incident.role
    if role is None or not role.session_name:
        return []
    found = [(r, ("Username", role.session_name), "session") for r in regions]
    found += [(r, ("AccessKeyId", s.access_key_id), "session") for s in role.sessions for r in regions]
    return found


def regions_for(incident: Incident, entries: list[JournalEntry], extra: Iterable[str] = ()) -> list[str]:
    """us-east-1 (global services log there), the configured regions, the role's region, and every
    region a journaled step recorded (a regional STS endpoint of an issued session, ...)."""
    found = {GLOBAL_REGION, *extra}
    if incident.role is not None:
        found.add(incident.role.region)
    for entry in entries:
        step = entry.data.get("step")
        for holder in (entry.data, step if isinstance(step, dict) else {}):
            region = holder.get("region")
            if isinstance(region, str) and REGION_RE.fullmatch(region):
                found.add(region)
    return sorted(found)


def plan_queries(
    incident: Incident, entries: list[JournalEntry], extra_regions: Iterable[str] = ()
) -> list[tuple[str, Attribute, str]]:
    """(region, lookup attribute, purpose). Tool changes (IAM, Organizations) log in us-east-1."""
    regions = regions_for(incident, entries, extra_regions)
    queries = _session_queries(incident, regions)
    names: list[str] = []
    if incident.mode is Mode.SCP or any(e.data.get("step", {}).get("action") in ("attach", "detach") for e in entries):
        names += SCP_EVENTS
    if incident.role is not None:
        names += ROLE_EVENTS
    if any(str(e.data.get("step", {}).get("action", "")).endswith("-key") for e in entries):
        names += ROTATION_EVENTS
    queries += [(GLOBAL_REGION, ("EventName", n), "tool") for n in names]
    caller = incident.requester.arn.rsplit("/", 1)[-1]
    queries += [(r, ("Username", caller), "requester") for r in regions]
    return queries


class CollectResult(BaseModel):
    model_config = ConfigDict(extra="forbid")
    incident_id: str
    folder: str
    final: bool
    final_after: str
    event_count: int
    manifest_sha256: str
    files: list[str]
    regions: list[str] = []
    signed: bool = False  # manifest.sig holds the KMS signature of the manifest


class _Summary:
    def __init__(self) -> None:
        self.by_service: Counter[str] = Counter()
        self.by_operation: Counter[str] = Counter()
        self.scp_changes: list[dict[str, Any]] = []
        self.session_first: str | None = None
        self.session_last: str | None = None
        self.session_events = 0

    def add(self, event: dict[str, Any], purpose: str) -> None:
        self.by_service[str(event.get("EventSource"))] += 1
        self.by_operation[str(event.get("EventName"))] += 1
        when = str(event.get("EventTime"))
        if event.get("EventName") in SCP_EVENTS and len(self.scp_changes) < MAX_LISTED_CHANGES:
            params = (event.get("CloudTrailEvent") or {}).get("requestParameters") or {}
            self.scp_changes.append(
                {
                    "time": when,
                    "event": event.get("EventName"),
                    "user": event.get("Username"),
                    "policy": params.get("policyId"),
                    "target": params.get("targetId"),
                }
            )
        if purpose == "session":
            self.session_events += 1
            self.session_first = min(filter(None, [self.session_first, when]))
            self.session_last = max(filter(None, [self.session_last, when]))


def _normalize(event: dict[str, Any], region: str, lookup: str) -> dict[str, Any]:
    record = {k: v for k, v in event.items() if k != "CloudTrailEvent"}
    record["EventTime"] = (
        isoformat(event["EventTime"]) if isinstance(event.get("EventTime"), datetime) else event.get("EventTime")
    )
    raw = event.get("CloudTrailEvent")
    record["CloudTrailEvent"] = json.loads(raw) if isinstance(raw, str) else raw
    record["region"], record["lookup"] = region, lookup
    return record


def _stream(
    source: EvidenceSource, queries: list[tuple[str, Attribute, str]], window: Window, seen: sqlite3.Connection
) -> Iterator[tuple[dict[str, Any], str]]:
    """Events of every query, each EventId once (the dedupe set lives on disk, not in memory)."""
    for region, attribute, purpose in queries:
        for event in source.lookup(region, attribute, window.start, window.end):
            try:
                seen.execute("INSERT INTO seen VALUES (?)", (str(event["EventId"]),))
            except sqlite3.IntegrityError:
                continue
            yield _normalize(event, region, f"{attribute[0]}={attribute[1]}"), purpose


def check_out_folder(folder: Path, incident_id: str) -> None:
    """The bundle folder may be new, empty, or an earlier bundle of this incident holding only the
    files its manifest lists (it is replaced whole); anything else is refused, untouched."""
    if folder.is_symlink():
        raise UsageError(
            f"--out {folder} is a symbolic link", "pass the real folder (the bundle replaces the folder whole)"
        )
    if not folder.exists():
        return
    if not folder.is_dir():
        raise UsageError(f"--out {folder} is a file, not a folder", "pass a new or empty folder for the bundle")
    present = sorted(folder.iterdir())
    if not present:
        return
    hint = "choose a new or empty folder with --out, or move those files away"
    try:
        manifest = Manifest.model_validate_json((folder / MANIFEST).read_text())
    except (OSError, ValueError) as err:
        raise UsageError(f"--out {folder} already holds files and is not an evidence bundle", hint) from err
    if manifest.incident_id != incident_id:
        raise UsageError(f"--out {folder} holds the bundle of another incident, {manifest.incident_id}", hint)
    known = {*manifest.files, SIGNATURE}
    if stray := [p.name for p in present if p.name != MANIFEST and (p.name not in known or not p.is_file())]:
        raise UsageError(
            f"--out {folder} holds files its bundle did not write: {', '.join(stray[:5])}",
            "move them away (recollecting replaces the whole folder), or choose another --out",
        )


STALE_STAGING = timedelta(hours=24)  # no collect runs this long: its staging folder was abandoned


def recover_leftovers(folder: Path, now: datetime) -> None:
    """What a collect killed mid-way left next to the bundle: an earlier bundle moved aside
    (`.NAME.old-*`) goes back in place if the bundle is missing, and is removed once a bundle is
    there; staging folders (`.NAME.partial-*`) untouched for a day are removed."""
    if not folder.parent.is_dir():
        return
    olds = sorted(folder.parent.glob(f".{folder.name}.old-*"), key=lambda p: p.stat().st_mtime)
    if olds and not folder.exists():
        olds.pop().rename(folder)
    for old in olds:
        shutil.rmtree(old, ignore_errors=True)
    for partial in folder.parent.glob(f".{folder.name}.partial-*"):
        if now - _last_touched(partial) > STALE_STAGING:
            shutil.rmtree(partial, ignore_errors=True)


def _last_touched(path: Path) -> datetime:
    stamps = [path.stat().st_mtime, *(p.stat().st_mtime for p in path.rglob("*"))]
    return datetime.fromtimestamp(max(stamps), tz=UTC)


def _install(staging: Path, folder: Path) -> None:
    """Move the complete new bundle into place. An earlier bundle is moved aside first and deleted
    only once the new one is in place (a crash in between leaves it whole in .NAME.old-*)."""
    if not folder.exists():
        staging.rename(folder)
        return
    old = folder.with_name(f".{folder.name}.old-{secrets.token_hex(4)}")
    folder.rename(old)
    try:
        staging.rename(folder)
    except OSError:
        old.rename(folder)
        raise
    shutil.rmtree(old, ignore_errors=True)


def collect_bundle(
    incident: Incident,
    entries: list[JournalEntry],
    source: EvidenceSource,
    folder: Path,
    window: Window,
    final_after: datetime,
    now: datetime,
    extra_regions: Iterable[str] = (),
) -> CollectResult:
    """Collect into a fresh hidden sibling folder, then move it into place: a failed collect
    leaves no partial bundle and never damages an earlier one."""
    recover_leftovers(folder, now)
    check_out_folder(folder, incident.incident_id)
    folder.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.partial-", dir=folder.parent))
    try:
        result = _collect_into(incident, entries, source, staging, window, final_after, now, extra_regions)
        check_out_folder(folder, incident.incident_id)
        _install(staging, folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return result.model_copy(update={"folder": str(folder)})


def _collect_into(
    incident: Incident,
    entries: list[JournalEntry],
    source: EvidenceSource,
    folder: Path,
    window: Window,
    final_after: datetime,
    now: datetime,
    extra_regions: Iterable[str],
) -> CollectResult:
    (folder / "incident.json").write_text(json.dumps(incident.public(), indent=2, sort_keys=True) + "\n")
    with (folder / "journal.jsonl").open("w") as out:
        for entry in entries:
            out.write(entry.model_dump_json() + "\n")
    summary, count = _Summary(), 0
    queries = plan_queries(incident, entries, extra_regions)
    with tempfile.TemporaryDirectory() as scratch:
        seen = sqlite3.connect(Path(scratch) / "seen.sqlite3", isolation_level=None)
        seen.execute("CREATE TABLE seen (id TEXT PRIMARY KEY)")
        seen.execute("BEGIN")
        with (folder / "cloudtrail-events.jsonl").open("w") as out:
            for record, purpose in _stream(source, queries, window, seen):
                out.write(json.dumps(record, sort_keys=True, default=str) + "\n")
                summary.add(record, purpose)
                count += 1
        seen.close()
    _write_summary(folder, incident, summary, count, window)
    regions = sorted({q[0] for q in queries})
    manifest, digest = write_manifest(
        folder,
        ["incident.json", "journal.jsonl", "cloudtrail-events.jsonl", "summary.json"],
        incident_id=incident.incident_id,
        collected_at=isoformat(now),
        window_start=isoformat(window.start),
        window_end=isoformat(window.end),
        final=window.final,
        final_after=isoformat(final_after),
        event_count=count,
        regions=regions,
        journal_chain_head=entries[-1].hash if entries else "",
    )
    return CollectResult(
        incident_id=incident.incident_id,
        folder=str(folder),
        final=window.final,
        final_after=manifest.final_after,
        event_count=count,
        manifest_sha256=digest,
        files=sorted([*manifest.files, MANIFEST]),
        regions=regions,
    )


def _write_summary(folder: Path, incident: Incident, summary: _Summary, count: int, window: Window) -> None:
    data = {
        "incident_id": incident.incident_id,
        "mode": incident.mode.value,
        "status": incident.status.value,
        "who": {"name": incident.requester.name, "arn": incident.requester.arn},
        "why": {"reason": incident.reason, "ticket": incident.ticket},
        "when": {
            "opened": isoformat(incident.created_at),
            "closed": isoformat(incident.closed_at) if incident.closed_at else None,
            "window_start": isoformat(window.start),
            "window_end": isoformat(window.end),
        },
        "targets": incident.targets,
        "events": count,
        "by_service": dict(summary.by_service.most_common()),
        "by_operation": dict(summary.by_operation.most_common()),
        "scp_changes": summary.scp_changes,
        "break_glass_session": {
            "events": summary.session_events,
            "first_activity": summary.session_first,
            "last_activity": summary.session_last,
        },
    }
    (folder / "summary.json").write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
