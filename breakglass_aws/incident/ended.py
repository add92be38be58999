"""A rerun on an incident that has ended: prove what it owed is done, and do what a crash (or an
earlier version) left undone. Also the evidence a close collects once it is closed."""

from __future__ import annotations

from breakglass_aws.incident.evidence import EvidenceOptions, collect_evidence
from breakglass_aws.incident.plan import CloseRequest, CloseResult, pending_users, plan_from_journal
from breakglass_aws.incident.revoke import revoke_through_gate
from breakglass_aws.incident.rotation import check_rotation_targets, rotate_in_incident
from breakglass_aws.models import (
    Incident,
    IncidentStatus,
    JournalEntry,
    Mode,
    Requester,
)
from breakglass_aws.runtime import Runtime, whoami

__all__ = ["check_ended", "collect_after_close", "journal_the_opening"]


def collect_after_close(rt: Runtime, result: CloseResult, options: EvidenceOptions | None) -> None:
    """Evidence never blocks a close: a failure is reported with the command to finish it."""
    try:
        result.evidence = collect_evidence(rt, result.incident_id, None, options or EvidenceOptions())
        rt.store.append(result.incident_id, "close-step", {"name": "evidence"})
    except Exception as err:
        result.evidence_error = f"{type(err).__name__}: {err}"
        rt.progress(
            f"warning: evidence not collected ({result.evidence_error}); "
            f"run: breakglass evidence collect {result.incident_id}"
        )


def check_ended(rt: Runtime, incident: Incident, caller: Requester | None, request: CloseRequest) -> CloseResult:
    """A rerun on an ended incident: prove what it owes is done, and do what a crash (or an
    earlier version) left undone: a target still held, the closing entry, a planned rotation
    or revocation, pending evidence."""
    result = CloseResult(incident_id=incident.incident_id, mode=incident.mode, status=incident.status, noop=True)
    result.repaired += journal_the_opening(rt, incident)
    entries = rt.store.entries(incident.incident_id)
    _check_holds(rt, incident, result)
    if incident.status is IncidentStatus.CLOSED:
        _check_journal(rt, incident, entries, result)
        _check_plan(rt, incident, caller, entries, result)
        steps = {str(e.data.get("name")) for e in entries if e.kind == "close-step"}
        if rt.evidence_on_close and "evidence:pending" in steps and "evidence" not in steps:
            rt.progress(f"{incident.incident_id} is closed; collecting its pending evidence")
            collect_after_close(rt, result, request.evidence)
            result.repaired.append("evidence collected")
    result.noop = not result.repaired
    return result


def _check_holds(rt: Runtime, incident: Incident, result: CloseResult) -> None:
    held = rt.store.holders_of(incident.incident_id, incident.lock_targets())
    still = [target for target, holders in held.items() if incident.incident_id in holders]
    if still:
        rt.store.release_locks(incident.incident_id, still)
        rt.store.append(incident.incident_id, "repaired", {"released": still, "why": "still held after its end"})
        result.repaired.append(f"released {', '.join(still)}")
    result.checked.append("no target held")


def _check_journal(rt: Runtime, incident: Incident, entries: list[JournalEntry], result: CloseResult) -> None:
    statuses = [e.kind for e in entries if e.kind.startswith("status:")]
    if incident.closing is None and (not statuses or statuses[-1] != "status:closed"):  # an earlier version's crash
        rt.store.append(
            incident.incident_id,
            "status:closed",
            {"reason": incident.status_reason or "closed", "repaired": "the record was closed without this entry"},
        )
        result.repaired.append("journaled the close")
    result.checked.append("the journal records the close")


def _check_plan(
    rt: Runtime, incident: Incident, caller: Requester | None, entries: list[JournalEntry], result: CloseResult
) -> None:
    """A close that ended without doing all it planned (an earlier version could): do the rest."""
    plan = incident.closing or plan_from_journal(incident, entries)
    if plan is None:
        return
    owed = pending_users(plan)
    revoke = incident.mode is Mode.ROLE and "revoke" not in plan.done
    if owed:
        check_rotation_targets(rt, owed)
    for user in owed:
        rt.progress(f"{incident.incident_id} was closed without rotating {user}: rotating it now")
        result.rotated.append(rotate_in_incident(rt, incident, user, None, with_password=True))
        plan.done.append(f"rotate:{user}")
        rt.store.append(incident.incident_id, "close-step", {"name": f"rotate:{user}", "repaired": True})
        result.repaired.append(f"rotated {user}")
    if revoke and incident.role is not None:
        cutoff = incident.closed_at or rt.clock()
        result.revoked, result.revoke_verified = revoke_through_gate(
            rt, incident, incident.role.role_arn, caller or whoami(rt), cutoff
        )
        rt.store.append(incident.incident_id, "close-step", {"name": "revoke", "repaired": True})
        result.repaired.append("revoked the role's sessions")
    result.checked.append(f"{len(plan.users)} planned rotation(s) done")


def journal_the_opening(rt: Runtime, incident: Incident) -> list[str]:
    """A record whose opening an earlier version never journaled (it wrote them apart)."""
    if rt.store.head(incident.incident_id)[0]:
        return []
    entry = {"incident": incident.public(), "repaired": "the record was stored without its opening entry"}
    rt.store.append(incident.incident_id, "opened", entry)
    return ["journaled the opening"]
