"""`extend`: move an open incident's expiry, within the configured maximum.

Without approvals configured (or with the emergency override) the expiry moves at once. With
approvals, the extension is a request held on the incident (`Incident.extension`): someone other
than its requester approves it with `breakglass approve ID` and the approval that meets the
quorum applies it (nothing is handed out, so nobody has to come back to activate it); `deny ID`
drops it. The incident stays active on its current expiry meanwhile. Each move is journaled in
the write that moves it, re-arms the dead-man schedule and is notified.
"""

from __future__ import annotations

from datetime import timedelta

from breakglass_aws.clock import isoformat
from breakglass_aws.errors import GuardRailError, UsageError
from breakglass_aws.incident.approvals import principal_of
from breakglass_aws.incident.deadman import rearm
from breakglass_aws.incident.notice import notify
from breakglass_aws.journal.base import update_incident
from breakglass_aws.models import Approval, Extension, Incident, IncidentStatus, Mode, Requester
from breakglass_aws.runtime import Runtime
from breakglass_aws.validate import format_duration, validate_incident_id

__all__ = ["approve_extension", "deny_extension", "extend", "pending_extension"]

EXTENDABLE = (Mode.SCP, Mode.ROLE)


def _check(incident: Incident, ttl: timedelta, rt: Runtime) -> None:
    if incident.mode not in EXTENDABLE:
        raise UsageError(
            f"{incident.incident_id} is a {incident.mode.value} incident: it has no expiry to move",
            "extend an SCP or role incident",
        )
    if incident.status is not IncidentStatus.ACTIVE:
        raise UsageError(
            f"{incident.incident_id} is {incident.status.value}: only an active incident can be extended",
            f"see: breakglass show {incident.incident_id}",
        )
    if ttl > rt.max_ttl:
        raise UsageError(
            f"--ttl {format_duration(ttl)} is above the configured maximum {format_duration(rt.max_ttl)}",
            "use a shorter --ttl, or raise max_ttl in the config file",
        )
    if rt.clock() + ttl <= incident.expires_at:
        raise UsageError(
            f"{incident.incident_id} already expires at {isoformat(incident.expires_at)}, later than now + "
            f"{format_duration(ttl)}",
            f"to end it sooner: breakglass close {incident.incident_id}",
        )


def pending_extension(incident: Incident) -> bool:
    return incident.status is IncidentStatus.ACTIVE and incident.extension is not None


def extend(
    rt: Runtime,
    incident_id: str,
    ttl: timedelta,
    reason: str,
    requester: Requester,
    approvals_required: int,
    override: bool = False,
) -> Incident:
    """Move the expiry to now + ttl, or (approvals required, no override) ask for it."""
    validate_incident_id(incident_id)
    _check(rt.store.get_incident(incident_id), ttl, rt)
    asked = Extension(
        ttl_seconds=int(ttl.total_seconds()),
        reason=reason,
        requester=requester,
        requested_at=rt.clock(),
        approvals_required=0 if override else approvals_required,
        override=override and approvals_required > 0,
    )
    if asked.approvals_required:
        return _ask(rt, incident_id, asked)
    return _apply(rt, incident_id, asked)


def _ask(rt: Runtime, incident_id: str, asked: Extension) -> Incident:
    def change(incident: Incident) -> None:
        _check(incident, timedelta(seconds=asked.ttl_seconds), rt)
        incident.extension = asked

    entry = ("extension-requested", _facts(asked))
    incident = update_incident(rt.store, incident_id, change, lambda _: [entry])
    notify(rt, incident, "extension-requested", f"needs {asked.approvals_required} approval(s): {asked.reason}")
    return incident


def _facts(asked: Extension) -> dict[str, object]:
    return {
        "ttl_seconds": asked.ttl_seconds,
        "reason": asked.reason,
        "by": asked.requester.arn,
        "approvals_required": asked.approvals_required,
        "override": asked.override,
    }


def _apply(rt: Runtime, incident_id: str, asked: Extension) -> Incident:
    moved: dict[str, str] = {}

    def change(incident: Incident) -> None:
        _check(incident, timedelta(seconds=asked.ttl_seconds), rt)
        moved["from"] = isoformat(incident.expires_at)
        incident.expires_at = rt.clock() + timedelta(seconds=asked.ttl_seconds)
        moved["to"] = isoformat(incident.expires_at)
        incident.extension = None

    def entries(_: Incident) -> list[tuple[str, dict[str, object]]]:
        approvals = [a.model_dump(mode="json") for a in asked.approvals]
        extended = ("extended", {**_facts(asked), **moved, "approvals": approvals})
        return [("override", {"reason": asked.reason}), extended] if asked.override else [extended]

    incident = update_incident(rt.store, incident_id, change, entries)
    if asked.override:
        notify(rt, incident, "override-used", "extension without approvals (--emergency-override)")
    notify(rt, incident, "extended", f"expiry {moved['from']} -> {moved['to']}: {asked.reason}")
    rearm(rt, incident)
    return incident


def approve_extension(rt: Runtime, incident_id: str, approver: Requester, comment: str | None) -> Incident:
    """Record one approval of the pending extension; the one that meets the quorum applies it."""
    at = rt.clock()
    ready: list[Extension] = []

    def record(incident: Incident) -> None:
        asked = incident.extension
        if asked is None or incident.status is not IncidentStatus.ACTIVE:
            raise UsageError(f"{incident_id} has no extension waiting", f"see: breakglass show {incident_id}")
        principal = principal_of(approver.arn)
        if principal == principal_of(asked.requester.arn):
            raise GuardRailError(
                "the requester can never approve their own extension",
                f"ask another engineer to run: breakglass approve {incident_id}",
            )
        if any(a.principal == principal for a in asked.approvals):
            raise GuardRailError(f"{principal} has already approved this extension", "ask another engineer")
        approval = Approval(principal=principal, arn=approver.arn, name=approver.name, at=at, comment=comment)
        asked.approvals.append(approval)
        ready[:] = [asked] if len({a.principal for a in asked.approvals}) >= asked.approvals_required else []

    entry = ("extension-approved", {"by": approver.arn, "principal": principal_of(approver.arn), "comment": comment})
    incident = update_incident(rt.store, incident_id, record, lambda _: [entry])
    asked = incident.extension
    count = f"{len(asked.approvals)}/{asked.approvals_required}" if asked else "?"
    notify(rt, incident, "extension-approval-recorded", f"by {approver.name} ({count})")
    return _apply(rt, incident_id, ready[0]) if ready else incident


def deny_extension(rt: Runtime, incident_id: str, denier: Requester, comment: str | None) -> Incident:
    def drop(incident: Incident) -> None:
        if incident.extension is None:
            raise UsageError(f"{incident_id} has no extension waiting", f"see: breakglass show {incident_id}")
        incident.extension = None

    entry = ("extension-denied", {"by": denier.arn, "comment": comment})
    incident = update_incident(rt.store, incident_id, drop, lambda _: [entry])
    notify(rt, incident, "extension-denied", f"by {denier.name}" + (f": {comment}" if comment else ""))
    return incident
