"""Restore SCP incidents: re-attach first, remove FullAWSAccess last, verify against the snapshot.

State-based and idempotent: it compares what AWS holds now with the snapshot, so a rerun after a
crash at any point finishes the job, and a second run on a closed incident is a no-op.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from pydantic import BaseModel, ConfigDict

from breakglass_aws.aws import aws_errors
from breakglass_aws.errors import BreakglassError, PartialApplyError, UsageError
from breakglass_aws.evidence.source import RateLimiter
from breakglass_aws.gate import StepFailed, apply_steps
from breakglass_aws.journal.base import (
    UPDATE_ATTEMPTS,
    IncidentChanged,
    UnreadableIncident,
    refresh,
    update_incident,
)
from breakglass_aws.journal.deferred import deferred_journal
from breakglass_aws.lifecycle import set_status
from breakglass_aws.models import ACTIVE_STATUSES, Incident, IncidentStatus, Mode, ScpTargetSnapshot
from breakglass_aws.runtime import Runtime
from breakglass_aws.scp import attached_scps, build_restore_plan, merge_snapshots, perform_step
from breakglass_aws.validate import validate_incident_id

__all__ = [
    "RestoreResult",
    "TargetRestore",
    "restore_expired",
    "restore_incident",
    "restore_targets",
    "unrecoverable_reason",
]


class TargetRestore(BaseModel):
    model_config = ConfigDict(extra="forbid")
    target: str
    reattached: list[str]
    removed_full_access: bool
    drift: list[str]
    unrecoverable: list[str]
    final: list[str]
    matches_snapshot: bool
    held_by: list[str] = []


class RestoreResult(BaseModel):
    model_config = ConfigDict(extra="forbid")
    incident_id: str
    status: IncidentStatus
    noop: bool = False
    targets: list[TargetRestore] = []
    error: str | None = None
    exit_code: int = 0


def restore_incident(rt: Runtime, incident_id: str, accept_drift: bool = False) -> RestoreResult:
    validate_incident_id(incident_id)
    return _restore(rt, rt.store.get_incident(incident_id), accept_drift)


def _restore(rt: Runtime, incident: Incident, accept_drift: bool = False) -> RestoreResult:
    """Restore from a record read earlier (by this call or by the sweep that listed it): the
    compare-and-set that marks it closing proves it is still current. Its journal entries are
    written together: everything before each re-attach or detach, then the rest at the end."""
    with deferred_journal(rt, incident.incident_id) as deferred:
        return _restore_now(deferred, incident, accept_drift)


def _restore_now(rt: Runtime, incident: Incident, accept_drift: bool) -> RestoreResult:
    for _ in range(UPDATE_ATTEMPTS):
        _check_restorable(incident)
        if incident.status in (IncidentStatus.CLOSED, IncidentStatus.FAILED):
            return RestoreResult(incident_id=incident.incident_id, status=incident.status, noop=True)
        held = rt.store.holders_of(incident.incident_id, [snap.target for snap in incident.scp])
        try:  # after reading the holders: a hand-over landing since then makes this save fail
            set_status(rt, incident, IncidentStatus.CLOSING, "restore started")
        except IncidentChanged:
            refresh(rt.store, incident)
            continue
        return _finish(rt, incident, restore_targets(rt, incident, held), accept_drift)
    raise IncidentChanged(incident.incident_id)


def _check_restorable(incident: Incident) -> None:
    incident_id = incident.incident_id
    if incident.mode is not Mode.SCP:
        raise UsageError(
            f"{incident_id} is a {incident.mode} incident", f"close it with: breakglass close {incident_id}"
        )
    if incident.status not in (*ACTIVE_STATUSES, IncidentStatus.CLOSED, IncidentStatus.FAILED):
        raise UsageError(
            f"{incident_id} is {incident.status}: nothing was detached", "see: breakglass show " + incident_id
        )


def restore_targets(rt: Runtime, incident: Incident, held: dict[str, list[str]] | None = None) -> list[TargetRestore]:
    """Put every target of the incident back; the caller decides what the outcome means.
    `held`: each target's holders, read before the incident was last saved (its save then
    proves no hand-over landed since); without it they are read now."""
    return [_restore_target(rt, incident, snap, (held or {}).get(snap.target)) for snap in incident.scp]


def unrecoverable_reason(targets: list[TargetRestore]) -> str | None:
    lost = [d for t in targets if t.unrecoverable for d in t.drift]
    return "; ".join(lost) if lost else None


def _stored_snapshot(rt: Runtime, incident_id: str, snap: ScpTargetSnapshot) -> ScpTargetSnapshot:
    """The snapshot as stored now: a holder that left meanwhile merged its policies into it
    (always before letting go, so once we see it gone, its hand-over is visible)."""
    latest = rt.store.get_incident(incident_id)
    stored = next((s for s in latest.scp if s.target == snap.target), snap)
    return merge_snapshots(stored, snap)


def _hand_over(
    rt: Runtime, incident: Incident, snap: ScpTargetSnapshot, held: list[str] | None
) -> tuple[ScpTargetSnapshot, list[str]]:
    """Overlapping incidents: a holder that is not the last hands its detached policies to the
    others and lets go. Returns the snapshot to restore with, and who still holds the target.
    `held`: the holders read before the incident's last save, or None to read them now."""
    if held is not None and held in ([], [incident.incident_id]):
        return snap, []  # the last holder, and the save after that read saw no hand-over
    others = [h for h in rt.store.holders(snap.target) if h != incident.incident_id]
    if not others:
        return _stored_snapshot(rt, incident.incident_id, snap), []  # the last holder: restore now
    snap = _stored_snapshot(rt, incident.incident_id, snap)  # hand over what others handed us too
    for other_id in others:

        def take(other: Incident) -> None:
            other.scp = [merge_snapshots(s, snap) if s.target == snap.target else s for s in other.scp]

        other = update_incident(rt.store, other_id, take)  # compare-and-set: concurrent hand-overs all land
        rt.store.append(
            other_id, "snapshot", {"scp": [s.model_dump(mode="json") for s in other.scp], "from": incident.incident_id}
        )
    rt.store.append(incident.incident_id, "handed-over", {"target": snap.target, "to": others})
    rt.store.release_locks(incident.incident_id, incident.lock_targets())
    still = rt.store.holders(snap.target)
    if still:
        return snap, still
    return _stored_snapshot(rt, incident.incident_id, snap), []  # they left too, merging into us


def _restore_target(
    rt: Runtime, incident: Incident, snap: ScpTargetSnapshot, held: list[str] | None = None
) -> TargetRestore:
    snap, held_by = _hand_over(rt, incident, snap, held)
    if held_by:
        rt.progress(f"{snap.target}: still held by {', '.join(held_by)}; its policies come back when they close")
        return TargetRestore(
            target=snap.target,
            reattached=[],
            removed_full_access=False,
            drift=[],
            unrecoverable=[],
            final=[],
            matches_snapshot=False,
            held_by=held_by,
        )
    org = rt.factory.client("organizations")
    with aws_errors():
        plan = build_restore_plan(org, snap)
    rt.store.append(incident.incident_id, "restore-plan", plan.model_dump(mode="json"))
    try:
        apply_steps(
            rt.store,
            incident.incident_id,
            plan.steps,
            lambda s: perform_step(org, s),
            lambda s: rt.progress(f"done: {s.describe()}"),
        )
    except StepFailed as failed:
        _mark_attention(rt, incident, f"restore of {snap.target} stopped: {failed.error.message}")
        if failed.done == 0:
            raise failed.error from failed
        raise PartialApplyError(f"{incident.incident_id}: {incident.status_reason}", incident.incident_id) from failed
    with aws_errors():
        final = sorted(p.id for p in attached_scps(org, snap.target))
    if final != plan.expected:
        plan.drift.append(f"verification: {snap.target} holds {final}, expected {plan.expected}")
        plan.unrecoverable.append("verification")
    return TargetRestore(
        target=snap.target,
        reattached=[s.policy_id for s in plan.steps if s.action == "attach"],
        removed_full_access=any(s.action == "detach" for s in plan.steps),
        drift=plan.drift,
        unrecoverable=plan.unrecoverable,
        final=final,
        matches_snapshot=set(final) == snap.original_ids(),
    )


def _finish(rt: Runtime, incident: Incident, targets: list[TargetRestore], accept_drift: bool) -> RestoreResult:
    drift = [d for t in targets for d in t.drift]
    if drift:
        rt.store.append(incident.incident_id, "drift", {"drift": drift})
    reason = unrecoverable_reason(targets)
    lost = reason is not None
    if reason and not accept_drift:
        _mark_attention(rt, incident, reason)
        return RestoreResult(
            incident_id=incident.incident_id,
            status=incident.status,
            targets=targets,
            error=reason,
            exit_code=PartialApplyError.exit_code,
        )
    _set_status(rt, incident, IncidentStatus.CLOSED, "drift accepted" if lost else "restored")
    rt.store.release_locks(incident.incident_id, incident.lock_targets())
    return RestoreResult(incident_id=incident.incident_id, status=incident.status, targets=targets)


def _set_status(rt: Runtime, incident: Incident, status: IncidentStatus, reason: str) -> None:
    """A status change that keeps whatever another holder handed over meanwhile: on a lost
    compare-and-set the object is re-read and the change applied again (the save comes before
    the journal entry and the notification, so nothing is recorded twice)."""
    for _ in range(UPDATE_ATTEMPTS):
        try:
            set_status(rt, incident, status, reason)
            return
        except IncidentChanged:
            refresh(rt.store, incident)
    raise IncidentChanged(incident.incident_id)


def _mark_attention(rt: Runtime, incident: Incident, reason: str) -> None:
    _set_status(rt, incident, IncidentStatus.NEEDS_ATTENTION, reason)


def restore_expired(rt: Runtime, workers: int = 4, max_rps: float | None = None) -> list[RestoreResult]:
    """Restore every SCP incident past its expiry, `workers` at a time, at most `max_rps`
    Organizations requests per second; one failure never stops the others."""
    now = rt.clock()
    unreadable: list[str] = []
    due = sorted(
        (
            i
            for i in rt.store.list_incidents(limit=100_000, skipped=unreadable)
            if i.mode is Mode.SCP and i.status in ACTIVE_STATUSES and i.expires_at <= now
        ),
        key=lambda i: i.expires_at,
    )
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


def _restore_due(rt: Runtime, incident: Incident) -> RestoreResult:
    rt.progress(f"restoring {incident.incident_id} (expired {incident.expires_at:%Y-%m-%d %H:%M}Z)")
    try:
        return _restore(rt, incident)
    except BreakglassError as err:
        current = rt.store.get_incident(incident.incident_id)
        return RestoreResult(
            incident_id=incident.incident_id, status=current.status, error=err.message, exit_code=err.exit_code
        )
