"""The sweep: what cron, `restore --expired` and the scheduled function run. One pass restores
every SCP incident past its expiry, closes every role incident past its expiry (its sessions
revoked, the configured users rotated), finishes every close that stopped or was cut off (any mode),
and lapses requests never activated in time. One failure never stops the others; an incident
another closer is working on is left to it."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from pydantic import BaseModel, ConfigDict

from breakglass_aws.errors import BreakglassError
from breakglass_aws.evidence.source import RateLimiter
from breakglass_aws.incident.approvals import lapse_requests
from breakglass_aws.incident.close import as_restore, finish_close, restore_incident
from breakglass_aws.incident.plan import CloseRequest, CloseResult, plan_from_journal
from breakglass_aws.incident.restore import RestoreResult
from breakglass_aws.journal.base import UnreadableIncident
from breakglass_aws.models import ACTIVE_STATUSES, Incident, IncidentStatus, Mode
from breakglass_aws.runtime import Runtime
from breakglass_aws.validate import validate_incident_id

__all__ = ["SweepResult", "end_expired", "restore_expired", "sweep"]


class SweepResult(BaseModel):
    model_config = ConfigDict(extra="forbid")
    restored: list[RestoreResult] = []  # SCP incidents past their expiry, and role incidents closed at it
    finished: list[CloseResult] = []  # closes that had stopped or been cut off
    lapsed: list[str] = []  # requests never activated before their expiry

    @property
    def pending(self) -> list[str]:
        """Incidents this sweep could not finish: the next one tries again."""
        left = [r.incident_id for r in self.restored if r.exit_code]
        return left + [c.incident_id for c in self.finished if c.exit_code or c.status is not IncidentStatus.CLOSED]


def sweep(rt: Runtime, workers: int = 4, max_rps: float | None = None) -> SweepResult:
    unreadable: list[str] = []
    listed = rt.store.list_incidents(limit=100_000, skipped=unreadable)
    due = _due(rt, listed)
    result = SweepResult(restored=_restore_all(rt, due, unreadable, workers, max_rps))
    for incident in _stopped_closes(rt, listed, {i.incident_id for i in due}):
        rt.progress(f"finishing the close of {incident.incident_id}")
        result.finished.append(_finish(rt, incident))
    result.lapsed = [request.incident_id for request in lapse_requests(rt)]
    return result


def restore_expired(rt: Runtime, workers: int = 4, max_rps: float | None = None) -> list[RestoreResult]:
    """Restore every SCP incident past its expiry, `workers` at a time, at most `max_rps`
    Organizations requests per second; one failure never stops the others."""
    unreadable: list[str] = []
    listed = rt.store.list_incidents(limit=100_000, skipped=unreadable)
    return _restore_all(rt, _due(rt, listed), unreadable, workers, max_rps)


def _due(rt: Runtime, listed: list[Incident]) -> list[Incident]:
    now = rt.clock()
    due = (i for i in listed if _expired(i, now))
    return sorted(due, key=lambda i: i.expires_at)


def _expired(incident: Incident, now: datetime) -> bool:
    """An SCP incident past its expiry and not closed; a role incident past its expiry and
    still active (a role close that stopped is finished as a stopped close)."""
    if incident.expires_at > now:
        return False
    if incident.mode in (Mode.SCP, Mode.ROOT):  # a root incident past its session: ended, nothing more sent
        return incident.status in ACTIVE_STATUSES
    return incident.mode is Mode.ROLE and incident.status is IncidentStatus.ACTIVE


def _stopped_closes(rt: Runtime, listed: list[Incident], skip: set[str]) -> list[Incident]:
    """Closing or needing attention with a close begun (a plan saved, or journaled by an earlier
    version): a close that stopped, or whose process was cut off."""
    found = []
    for incident in listed:
        stopped = incident.status in (IncidentStatus.CLOSING, IncidentStatus.NEEDS_ATTENTION)
        if incident.incident_id in skip or not stopped:
            continue
        if incident.closing is not None or plan_from_journal(incident, rt.store.entries(incident.incident_id)):
            found.append(incident)
    return found


def _restore_all(
    rt: Runtime, due: list[Incident], unreadable: list[str], workers: int, max_rps: float | None
) -> list[RestoreResult]:
    skipped = [_unreadable(rt, incident_id) for incident_id in unreadable]
    org = rt.factory.client("organizations")  # built before the threads share it
    if max_rps:
        limiter = RateLimiter(max_rps)
        org.meta.events.register("before-send.organizations", lambda **_: limiter.wait(), unique_id="bg-max-rps")
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        return [*skipped, *pool.map(lambda incident: _restore_due(rt, incident), due)]


def _unreadable(rt: Runtime, incident_id: str) -> RestoreResult:
    """A stored record that no longer validates: reported (it may be an expired incident that
    nobody can restore until it is repaired), never a reason to stop the sweep."""
    try:
        rt.store.get_incident(incident_id)
        message = f"incident {incident_id} could not be read during the sweep"
        code = UnreadableIncident.exit_code
    except BreakglassError as err:
        message, code = err.message, err.exit_code
    rt.progress(f"skipped {incident_id}: {message}")
    return RestoreResult(incident_id=incident_id, status=IncidentStatus.NEEDS_ATTENTION, error=message, exit_code=code)


def end_expired(rt: Runtime, incident_id: str) -> RestoreResult:
    """The dead-man schedule of one incident: restore an SCP incident; close a role incident
    once past its expiry (before it, e.g. a schedule that fired early, nothing is done)."""
    validate_incident_id(incident_id)
    incident = rt.store.get_incident(incident_id)
    if incident.mode is not Mode.ROLE:
        return restore_incident(rt, incident_id)
    if not _expired(incident, rt.clock()):
        return RestoreResult(incident_id=incident_id, status=incident.status, noop=True)
    return _restore_due(rt, incident)


def _restore_due(rt: Runtime, incident: Incident) -> RestoreResult:
    what = "restoring" if incident.mode is Mode.SCP else "closing"
    rt.progress(f"{what} {incident.incident_id} (expired {incident.expires_at:%Y-%m-%d %H:%M}Z)")
    # an SCP incident's restore rotates nobody unless asked; a role incident's close at expiry
    # owes what `close` owes: the revocation and the configured rotations
    request = CloseRequest(restore_only=incident.mode is Mode.SCP, wait=False, by="sweep")
    try:
        return as_restore(finish_close(rt, incident, None, request))
    except BreakglassError as err:
        current = rt.store.get_incident(incident.incident_id)
        return RestoreResult(
            incident_id=incident.incident_id, status=current.status, error=err.message, exit_code=err.exit_code
        )


def _finish(rt: Runtime, incident: Incident) -> CloseResult:
    request = CloseRequest(restore_only=True, wait=False, by="sweep")
    try:
        return finish_close(rt, incident, None, request)
    except BreakglassError as err:
        current = rt.store.get_incident(incident.incident_id)
        return CloseResult(
            incident_id=incident.incident_id, mode=incident.mode, status=current.status, exit_code=err.exit_code
        )
