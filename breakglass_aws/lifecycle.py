"""Status transitions in one place: saved, journaled and notified together."""

from __future__ import annotations

from breakglass_aws.clock import isoformat
from breakglass_aws.models import Incident, IncidentStatus
from breakglass_aws.notify import message_for, publish_with_retry
from breakglass_aws.redact import redact
from breakglass_aws.runtime import Runtime

__all__ = ["notify", "set_status"]


def set_status(rt: Runtime, incident: Incident, status: IncidentStatus, reason: str) -> None:
    incident.status = status
    incident.status_reason = reason
    if status is IncidentStatus.CLOSED and incident.closed_at is None:
        incident.closed_at = rt.clock()
    rt.store.save_incident(incident)
    rt.store.append(incident.incident_id, f"status:{status.value}", {"reason": reason})
    notify(rt, incident, status.value, reason)
    if status is IncidentStatus.CLOSED:
        from breakglass_aws.deadman import disarm

        disarm(rt, incident)


def notify(rt: Runtime, incident: Incident, event: str, detail: str | None = None) -> None:
    """Publish a lifecycle event. A failed notification never blocks the emergency: each failed
    attempt is journaled, it is tried again, and a final failure is reported; the work goes on."""
    if rt.notifier is None:
        return
    message, subject = message_for(incident, event, detail, isoformat(rt.clock()))

    def failed(attempt: int, err: Exception) -> None:
        reason = redact(f"{type(err).__name__}: {err}")[:300]
        rt.store.append(incident.incident_id, "notify-failed", {"event": event, "attempt": attempt, "error": reason})
        rt.progress(f"warning: notification '{event}' failed (attempt {attempt}): {reason}")

    message_id = publish_with_retry(rt.notifier, message, subject, failed)
    if message_id is None:
        rt.progress(f"warning: notification '{event}' for {incident.incident_id} was not sent; see its journal")
        return
    rt.store.append(incident.incident_id, "notified", {"event": event, "message_id": message_id})
