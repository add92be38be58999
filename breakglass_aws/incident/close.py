"""Closing an incident: restore its SCPs (SCP mode), revoke its role's sessions (role mode),
rotate the planned break-glass users, let go of its targets, then say `closed`.

Every path that ends an incident comes here (`close`, `scp restore`, the expiry sweep, the
scheduled function), so they all finish the same plan: the plan (users to rotate, revocation
cut-off) and the steps done are saved with the record, a claim makes one closer work at a time,
and `closed` is saved only when everything the plan owes is done. A rerun finishes what is left;
a rerun on a closed incident checks what it owes and repairs what a crash left behind.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace

from breakglass_aws.errors import BreakglassError, PartialApplyError, UsageError
from breakglass_aws.incident.agent import stop_agents
from breakglass_aws.incident.claim import FencedStore, describe, is_live, is_mine, new_claim, released, renewed
from breakglass_aws.incident.deadman import disarm
from breakglass_aws.incident.ended import check_ended, collect_after_close, journal_the_opening
from breakglass_aws.incident.evidence import EvidenceOptions
from breakglass_aws.incident.gate import StepFailed, deferred_journal
from breakglass_aws.incident.plan import CloseRequest, CloseResult, pending_users, plan_for
from breakglass_aws.incident.restore import (
    Ahead,
    RestoreResult,
    TargetRestore,
    read_ahead,
    restore_target,
    unrecoverable_reason,
)
from breakglass_aws.incident.revoke import revoke_through_gate
from breakglass_aws.incident.root import end_root
from breakglass_aws.incident.rotation import ReadAhead, read_rotations, rotate_in_incident
from breakglass_aws.incident.status import set_status
from breakglass_aws.incident.stopped import journal_failure, try_to_record
from breakglass_aws.journal.base import UPDATE_ATTEMPTS, ClaimLost, Entries, IncidentChanged, refresh
from breakglass_aws.models import (
    ACTIVE_STATUSES,
    ENDED_STATUSES,
    CloseClaim,
    ClosePlan,
    Incident,
    IncidentStatus,
    Mode,
    Requester,
)
from breakglass_aws.runtime import Runtime, whoami
from breakglass_aws.validate import validate_incident_id

__all__ = ["as_restore", "check_restorable", "close_incident", "finish_close", "restore_incident"]


def close_incident(
    rt: Runtime,
    incident_id: str,
    caller: Requester | None,
    users: list[str] | None = None,
    skip_rotation: bool = False,
    accept_drift: bool = False,
    evidence: EvidenceOptions | None = None,
) -> CloseResult:
    """One command to end an incident: restore SCPs, revoke role sessions, rotate the break-glass
    users. Each finished step is saved, so a rerun after a crash does only what is left."""
    validate_incident_id(incident_id)
    request = CloseRequest(users=users, skip_rotation=skip_rotation, accept_drift=accept_drift, evidence=evidence)
    return finish_close(rt, rt.store.get_incident(incident_id), caller, request)


def finish_close(rt: Runtime, incident: Incident, caller: Requester | None, request: CloseRequest) -> CloseResult:
    """The close engine, from a record read by the caller (its compare-and-set saves prove it
    is still current)."""
    if incident.status in ENDED_STATUSES:
        return check_ended(rt, incident, caller, request)
    if incident.mode is Mode.ROOT:  # ended without sending more: its own command finishes the task
        return end_root(rt, incident, request.by, request.evidence)
    _check_closable(incident)
    plan = plan_for(rt, incident, request)
    rotations = read_rotations(rt, pending_users(plan))  # beside the restore
    ahead = read_ahead(rt, incident)  # beside the claim: the first restore waits for no read
    for reads in rotations.values():
        reads.check()  # read-only: an unknown user changes nothing
    repaired = journal_the_opening(rt, incident)
    claimed = _claim(rt, incident, plan, request, ahead.announce() if ahead else ())
    if isinstance(claimed, CloseResult):
        return claimed
    held = ahead.holders.result() if ahead else None
    result = CloseResult(
        incident_id=incident.incident_id, mode=incident.mode, status=incident.status, repaired=repaired
    )
    if incident.mode is Mode.ROLE:
        stop_agents(rt, incident.incident_id)  # no consumer is handed credentials being revoked
    with _as_closer(rt, incident) as closer:
        _work(closer, incident, caller, request, result, held, ahead, rotations)
    if result.exit_code == 0 and rt.evidence_on_close:
        collect_after_close(rt, result, request.evidence)
    return result


def _check_closable(incident: Incident) -> None:
    incident_id = incident.incident_id
    if incident.mode is Mode.ROTATE:
        raise UsageError(
            f"{incident_id} is a rotation", f"resume it with: breakglass rotate --user {incident.targets[0][5:]}"
        )
    if incident.status not in ACTIVE_STATUSES:
        raise UsageError(f"{incident_id} is {incident.status}", f"see: breakglass show {incident_id}")


# the plan ----------------------------------------------------------------------------------------


def _claim(
    rt: Runtime, incident: Incident, plan: ClosePlan, request: CloseRequest, announce: Entries = ()
) -> Incident | CloseResult:
    """Take the close (status closing, the plan saved with this closer's claim, and the changes
    it `announce`s). Another live closer is waited for (or, without `wait`, left to it); the
    users asked for are added to its plan either way, so they are rotated by whoever finishes."""
    for _ in range(UPDATE_ATTEMPTS * 10):
        theirs = incident.closing
        current = theirs.claim if theirs else None
        if theirs is not None and current is not None and is_live(current, rt.clock()):
            if plan.users != theirs.users:
                _save_plan(rt, incident, theirs, plan)  # their close rotates ours too
            if not request.wait:
                return _busy(incident, describe(current))
            _wait_for(rt, incident, describe(current))
            if incident.status in ENDED_STATUSES:
                return CloseResult(incident_id=incident.incident_id, mode=incident.mode, status=incident.status)
            plan = plan_for(rt, incident, request)
            continue
        try:
            _take(rt, incident, plan, request.by, announce)
            return incident
        except IncidentChanged:
            refresh(rt.store, incident)
            if incident.status in ENDED_STATUSES:
                return CloseResult(
                    incident_id=incident.incident_id, mode=incident.mode, status=incident.status, noop=True
                )
            plan = plan_for(rt, incident, request)
    raise IncidentChanged(incident.incident_id)


def _take(rt: Runtime, incident: Incident, plan: ClosePlan, by: str, announce: Entries) -> None:
    before = incident.closing
    entries: list[tuple[str, dict[str, object]]] = []
    if before is None or before.users != plan.users:
        revoke = plan.revoke_before.isoformat() if plan.revoke_before else None
        entries.append(("close-plan", {"users": plan.users, "revoke_before": revoke}))
    incident.closing = plan.model_copy(update={"claim": new_claim(by, rt.clock())})
    if incident.status is IncidentStatus.CLOSING:
        rt.store.save_incident(incident, [*entries, *announce])
    else:
        set_status(rt, incident, IncidentStatus.CLOSING, "closing", entries, after=announce)


def _save_plan(rt: Runtime, incident: Incident, theirs: ClosePlan, plan: ClosePlan) -> None:
    incident.closing = theirs.model_copy(update={"users": plan.users})
    try:
        rt.store.save_incident(incident, [("close-plan", {"users": plan.users, "added_by": "a concurrent close"})])
    except IncidentChanged:
        refresh(rt.store, incident)


def _busy(incident: Incident, who: str) -> CloseResult:
    return CloseResult(incident_id=incident.incident_id, mode=incident.mode, status=incident.status, busy=who)


def _wait_for(rt: Runtime, incident: Incident, who: str) -> None:
    rt.progress(f"{incident.incident_id} is being closed by {who}; waiting for it")
    while True:
        rt.sleep(1.0)
        refresh(rt.store, incident)
        claim = incident.closing.claim if incident.closing else None
        if incident.status in ENDED_STATUSES or not is_live(claim, rt.clock()):
            return


@contextmanager
def _as_closer(rt: Runtime, incident: Incident) -> Iterator[Runtime]:
    """The runtime this closer works with: its journal writes are fenced by its claim, and
    written together (before each change, with each save, and at the end)."""
    mine = _mine(incident)
    fenced = FencedStore(rt.store, incident.incident_id, mine.token)
    try:
        with deferred_journal(replace(rt, store=fenced), incident.incident_id) as closer:
            yield closer
    finally:
        released(mine)  # ended here, however it ended: no closer of this process holds it now


# the steps ---------------------------------------------------------------------------------------


@dataclass
class _Done:
    """A finished step not saved yet: the close saves it with `closed`, in one write."""

    step: str
    entries: list[tuple[str, dict[str, object]]]


def _work(
    rt: Runtime,
    incident: Incident,
    caller: Requester | None,
    request: CloseRequest,
    result: CloseResult,
    held: dict[str, list[str]] | None,
    ahead: Ahead | None,
    rotations: dict[str, ReadAhead],
) -> None:
    step = "restore"
    try:
        while True:
            carried: _Done | None = None
            for snap in list(incident.scp):
                step = f"restore:{snap.target}"
                if step in _done(incident):
                    continue
                last = _is_last(incident, step)
                outcome = _restore_step(rt, incident, snap.target, request, result, held, last, ahead)
                if outcome is False:
                    return
                carried = outcome if isinstance(outcome, _Done) else None
                held = None  # read again after any save
            step = "revoke"
            if incident.mode is Mode.ROLE and step not in _done(incident):
                _revoke_step(rt, incident, caller, result)
            while users := pending_users(_plan(incident)):
                step = f"rotate:{users[0]}"
                _rotate_step(rt, incident, users[0], result, rotations.get(users[0]))
            step = "the closing write"
            if _final(rt, incident, request, result, carried):
                return
    except StepFailed as failed:
        if failed.journal:
            raise journal_failure(rt, incident, failed, "close", changed_before=bool(_done(incident))) from failed
        describe_step = getattr(failed.step, "describe", None)
        described = describe_step() if describe_step else None
        changed = bool(failed.done) or _changed(rt, incident)
        raise _stopped(rt, incident, step, described, failed.error, changed, request) from failed
    except ClaimLost:
        raise
    except BreakglassError as err:
        raise _stopped(rt, incident, step, None, err, _changed(rt, incident), request) from err


def _changed(rt: Runtime, incident: Incident) -> bool:
    """Has this close changed anything in AWS yet (a step done, or a change journaled since the
    close began)? A journal that cannot be read says yes: the safer exit code."""
    if _done(incident):
        return True
    try:
        entries = rt.store.entries(incident.incident_id)
    except BreakglassError:
        return True
    began = max((e.seq for e in entries if e.kind == "close-plan"), default=0)
    return any(e.kind == "outcome" and e.data.get("ok") and e.seq > began for e in entries)


def _is_last(incident: Incident, step: str) -> bool:
    """Nothing but `step` is left: it is saved with `closed` (one write fewer)."""
    done = {*_done(incident), step}
    targets_left = any(f"restore:{s.target}" not in done for s in incident.scp)
    revoke_left = incident.mode is Mode.ROLE and "revoke" not in done
    return not (targets_left or revoke_left or pending_users(_plan(incident)))


def _plan(incident: Incident) -> ClosePlan:
    """The plan this closer claimed before any step (gone: another closer took over)."""
    if incident.closing is None:
        raise ClaimLost(incident.incident_id)
    return incident.closing


def _mine(incident: Incident) -> CloseClaim:
    claim = _plan(incident).claim
    if claim is None:
        raise ClaimLost(incident.incident_id)
    return claim


def _done(incident: Incident) -> list[str]:
    return _plan(incident).done


def _mark(rt: Runtime, incident: Incident, step: str, entries: Entries = (), release: list[str] | None = None) -> bool:
    """Save the step done (renewing the claim), with `entries` and letting go of `release`, in
    one write. False when someone saved the incident meanwhile (it is re-read: a hand-over
    landed, or users were added); ClaimLost when another closer took it over."""
    plan, mine = _plan(incident), _mine(incident)
    incident.closing = plan.model_copy(update={"done": [*plan.done, step], "claim": renewed(mine, rt.clock())})
    try:
        rt.store.save_incident(incident, [*entries, ("close-step", {"name": step})], release or [])
    except IncidentChanged:
        refresh(rt.store, incident)
        if not is_mine(incident.closing.claim if incident.closing else None, mine):
            raise ClaimLost(incident.incident_id) from None
        return False
    return True


def _restore_step(
    rt: Runtime,
    incident: Incident,
    target: str,
    request: CloseRequest,
    result: CloseResult,
    held: dict[str, list[str]] | None,
    last: bool,
    ahead: Ahead | None,
) -> bool | _Done:
    """Restore (or hand over) one target and let go of it in the same write that marks it done
    (or, when it is the `last` thing owed, hand the step to the closing write). False when the
    close stops here (drift it cannot put back)."""
    for _ in range(UPDATE_ATTEMPTS):
        snap = next(s for s in incident.scp if s.target == target)
        restored = restore_target(rt, incident, snap, (held or {}).get(target), ahead)
        held = None
        drift: list[tuple[str, dict[str, object]]] = [("drift", {"drift": restored.drift})] if restored.drift else []
        reason = unrecoverable_reason([restored])
        if reason and not request.accept_drift:
            recorded = _record_restore(result, incident, restored, reason)
            _attention(rt, incident, f"restore: {reason}", drift)
            result.status, result.exit_code = incident.status, PartialApplyError.exit_code
            recorded.status, recorded.exit_code = incident.status, result.exit_code
            return False
        _record_restore(result, incident, restored, None)
        step = f"restore:{target}"
        if last:
            return _Done(step, drift)
        if _mark(rt, incident, step, drift, release=[target]):
            return True
    raise IncidentChanged(incident.incident_id)


def _record_restore(
    result: CloseResult, incident: Incident, restored: TargetRestore, error: str | None
) -> RestoreResult:
    recorded = result.restore or RestoreResult(incident_id=incident.incident_id, status=incident.status)
    earlier = next((t for t in recorded.targets if t.target == restored.target), None)
    if earlier is not None:  # restored again (a hand-over landed meanwhile): say all this close did
        restored.reattached = list(dict.fromkeys([*earlier.reattached, *restored.reattached]))
        restored.removed_full_access = earlier.removed_full_access or restored.removed_full_access
    recorded.targets = [t for t in recorded.targets if t.target != restored.target] + [restored]
    recorded.error = error
    result.restore = recorded
    return recorded


def _revoke_step(rt: Runtime, incident: Incident, caller: Requester | None, result: CloseResult) -> None:
    cutoff = _plan(incident).revoke_before or rt.clock()
    result.revoked, result.revoke_verified = revoke_through_gate(
        rt, incident, incident.access().role_arn, caller or whoami(rt), cutoff
    )
    while True:
        incident.access().revoked_before = cutoff  # on the record as read again by a lost save
        if _mark(rt, incident, "revoke"):
            break
    result.also_revoked = _other_open_role_incidents(rt, incident)


def _rotate_step(rt: Runtime, incident: Incident, user: str, result: CloseResult, ahead: ReadAhead | None) -> None:
    rotated = rotate_in_incident(rt, incident, user, None, with_password=True, raise_step_failed=True, ahead=ahead)
    result.rotated.append(rotated)
    while not _mark(rt, incident, f"rotate:{user}"):
        pass


def _final(rt: Runtime, incident: Incident, request: CloseRequest, result: CloseResult, carried: _Done | None) -> bool:
    """Everything owed is done: disarm the dead-man schedule, then say closed, with the last
    step done and letting go of every target still held, in one write. False when the incident
    changed meanwhile (more to do: a hand-over landed, users were added)."""
    disarm(rt, incident)
    plan = _plan(incident)
    mine = plan.claim
    entries: list[tuple[str, dict[str, object]]] = []
    if carried is not None:
        entries += [*carried.entries, ("close-step", {"name": carried.step})]
        plan = plan.model_copy(update={"done": [*plan.done, carried.step]})
    if rt.evidence_on_close:
        entries.append(("close-step", {"name": "evidence:pending"}))
    incident.closing = plan.model_copy(update={"claim": None})
    reason = "restored" if request.restore_only and not plan.users else "closed"
    if request.accept_drift and result.restore and any(t.unrecoverable for t in result.restore.targets):
        reason = "drift accepted"
    try:
        set_status(rt, incident, IncidentStatus.CLOSED, reason, entries, release=incident.lock_targets())
    except IncidentChanged:
        refresh(rt.store, incident)
        if not is_mine(incident.closing.claim if incident.closing else None, mine):
            raise ClaimLost(incident.incident_id) from None
        return False
    result.status = incident.status
    if result.restore is not None:
        result.restore.status = incident.status
    return True


def _attention(rt: Runtime, incident: Incident, reason: str, entries: Entries = ()) -> None:
    """needs-attention, letting go of the claim: the next command (or the sweep) takes over at
    once. Saved over whatever another writer saved meanwhile (a hand-over, added users)."""
    for _ in range(UPDATE_ATTEMPTS):
        if incident.closing is not None:
            incident.closing = incident.closing.model_copy(update={"claim": None})
        try:
            set_status(rt, incident, IncidentStatus.NEEDS_ATTENTION, reason, entries)
            return
        except IncidentChanged:
            refresh(rt.store, incident)
    raise IncidentChanged(incident.incident_id)


def _stopped(
    rt: Runtime,
    incident: Incident,
    name: str,
    step: str | None,
    err: BreakglassError,
    changed: bool,
    request: CloseRequest,
) -> BreakglassError:
    """needs-attention naming the close step, the exact AWS step that failed, and what to do.
    Exit 8 once something was changed; before that, the failure's own code."""
    where = f"close stopped at {name}" + (f" (could not {step})" if step else "")
    hint = err.cause()
    # `list` adds the command that finishes it: the reason says what to fix, once
    recorded = try_to_record(
        "the stopped close", lambda: _attention(rt, incident, f"{where}: {err.message}; to finish: {hint}")
    )
    message = f"{incident.incident_id}: {where}: {err.message}" + (
        "" if recorded else " (and the journal cannot be written)"
    )
    command = "scp restore" if request.by == "scp restore" else "close"
    remediation = (
        f"{hint}, then rerun the same command: breakglass {command} {incident.incident_id} "
        f"(it resumes at {name}; finished steps are not repeated)"
    )
    if changed:
        return PartialApplyError(message, incident.incident_id, remediation, fix=err.fix)
    err.message, err.remediation = message, remediation
    return err


def _other_open_role_incidents(rt: Runtime, incident: Incident) -> list[str]:
    """Open incidents on the same role: the revocation ends their sessions too (they re-assume)."""
    return [
        other.incident_id
        for other in rt.store.list_incidents(limit=1000)
        if other.mode is Mode.ROLE
        and other.incident_id != incident.incident_id
        and other.status is IncidentStatus.ACTIVE
        and other.targets == incident.targets
    ]


# evidence and the rerun on an ended incident -----------------------------------------------------


def as_restore(result: CloseResult) -> RestoreResult:
    """A close run by `scp restore` or the sweep, as a restore result: the targets, and in `also`
    what else the close it finished did (rotations, a revocation, repairs)."""
    restore = result.restore or RestoreResult(incident_id=result.incident_id, status=result.status)
    also = [f"rotated {r.user}" for r in result.rotated] + result.repaired
    if result.revoked:
        also.append(f"revoked sessions issued before {result.revoked.cutoff}")
    if result.busy:
        also.append(f"being closed by {result.busy}")
    return restore.model_copy(
        update={
            "status": result.status,
            "noop": result.noop or bool(result.busy),
            "exit_code": result.exit_code,
            "also": also,
        }
    )


def restore_incident(rt: Runtime, incident_id: str, accept_drift: bool = False) -> RestoreResult:
    validate_incident_id(incident_id)
    incident = rt.store.get_incident(incident_id)
    check_restorable(incident)
    request = CloseRequest(accept_drift=accept_drift, restore_only=True, by="scp restore")
    restored = as_restore(finish_close(rt, incident, None, request))
    restored.override = incident.override
    return restored


def check_restorable(incident: Incident) -> None:
    incident_id = incident.incident_id
    if incident.mode is not Mode.SCP:
        raise UsageError(
            f"{incident_id} is a {incident.mode} incident", f"close it with: breakglass close {incident_id}"
        )
    if incident.status not in (*ACTIVE_STATUSES, IncidentStatus.CLOSED, IncidentStatus.FAILED):
        raise UsageError(
            f"{incident_id} is {incident.status}: nothing was detached", "see: breakglass show " + incident_id
        )
