"""Incident records: the one way a record is opened (with its `opened` entry, in one atomic
write), reading one or many, and who really holds a target (an incident that has ended holds
nothing)."""

from __future__ import annotations

from typing import Any

from breakglass_aws.errors import UsageError
from breakglass_aws.journal.base import IncidentNotFound, TargetLocked
from breakglass_aws.models import ENDED_STATUSES, Incident, JournalEntry
from breakglass_aws.runtime import Runtime
from breakglass_aws.validate import validate_incident_id

__all__ = ["get_incident", "held_by", "list_incidents", "open_record"]


def open_record(
    rt: Runtime, incident: Incident, join: bool = False, extra: list[tuple[str, dict[str, Any]]] | None = None
) -> None:
    """Store a new incident, hold its targets, and journal its `opened` entry (and `extra`),
    all in one write: there is never a record without its opening. A target still held by an
    incident that has ended is let go of first."""
    entries = [("opened", {"incident": incident.public()}), *(extra or [])]
    try:
        rt.store.create_incident(incident, join, entries)
    except TargetLocked as err:
        if err.holder == incident.incident_id or held_by(rt, err.target):
            raise
        rt.store.create_incident(incident, join, entries)  # the holder had ended: released above


def held_by(rt: Runtime, target: str, exclude: str | None = None) -> list[str]:
    """The incidents holding `target`, oldest first, but for `exclude`. A holder that has ended
    (closed, failed, denied: a crash between its end and its release, or a store written by an
    earlier version) is released here, journaled in its own journal, and never counted: no
    incident joins, hands over to, or is blocked by it."""
    live = []
    for holder in rt.store.holders(target):
        if holder == exclude:
            continue
        if _ended(rt, holder):
            rt.store.release_locks(holder, [target])
            rt.store.append(holder, "repaired", {"released": target, "why": "still held after the incident ended"})
            rt.progress(f"{target}: released by {holder}, which had ended without letting go")
            continue
        live.append(holder)
    return live


def _ended(rt: Runtime, incident_id: str) -> bool:
    try:
        return rt.store.get_incident(incident_id).status in ENDED_STATUSES
    except IncidentNotFound:
        return False  # a holder whose record cannot be found is left alone: nothing says it ended


def get_incident(rt: Runtime, incident_id: str) -> tuple[Incident, list[JournalEntry]]:
    validate_incident_id(incident_id)
    return rt.store.get_incident(incident_id), rt.store.entries(incident_id)


def list_incidents(rt: Runtime, limit: int = 50) -> list[Incident]:
    if limit < 1:
        raise UsageError(f"--limit must be at least 1, got {limit}", "use e.g. --limit 20")
    return rt.store.list_incidents(limit)
