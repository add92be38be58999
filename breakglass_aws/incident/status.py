"""Status transitions in one place: saved together with their journal entry (and the release of
the targets an incident lets go of) in one atomic write, then noticed with the head they made."""

from __future__ import annotations

from collections.abc import Sequence

from breakglass_aws.incident.notice import notify
from breakglass_aws.journal.base import Entries
from breakglass_aws.models import Incident, IncidentStatus, JournalEntry
from breakglass_aws.runtime import Runtime

__all__ = ["set_status"]


def set_status(
    rt: Runtime,
    incident: Incident,
    status: IncidentStatus,
    reason: str,
    entries: Entries = (),
    release: Sequence[str] = (),
    after: Entries = (),
) -> None:
    """Save the new status with its journal entry (after `entries`, before `after`) in one
    atomic write, letting go of the `release`d targets in the same write; then notify. Closing
    is signed when a signing key is configured."""
    incident.status = status
    incident.status_reason = reason
    if status is IncidentStatus.CLOSED and incident.closed_at is None:
        incident.closed_at = rt.clock()
    status_entry = (f"status:{status.value}", {"reason": reason})
    written = rt.store.save_incident(incident, [*entries, status_entry, *after], release)
    notify(rt, incident, status.value, reason, head=_head_of(written), sign=status is IncidentStatus.CLOSED)


def _head_of(written: list[JournalEntry]) -> tuple[int, str] | None:
    return (written[-1].seq, written[-1].hash) if written else None
