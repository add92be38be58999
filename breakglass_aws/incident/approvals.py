"""The two-person rule (who is a distinct approver, when the quorum is met), and the requests,
approvals, denials and activation of incidents that need approvals.

Approvals and denials are read-change-save with compare-and-set (`update_incident`): two
approvers both count, and an approval read before a concurrent denial is re-checked against it
instead of overwriting it. Each lifecycle event is notified once: `approval-recorded` for each
approval, `approved` when the quorum turns the request approved, `denied` for a denial.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from breakglass_aws.clock import isoformat
from breakglass_aws.errors import GuardRailError, UsageError
from breakglass_aws.incident.notice import notify
from breakglass_aws.incident.role import activate_role, request_for
from breakglass_aws.incident.scp import activate_scp, scp_activation_plan
from breakglass_aws.journal.base import update_incident
from breakglass_aws.models import Approval, Incident, IncidentStatus, Mode, Requester
from breakglass_aws.role.assume import Credentials, validate_token_code
from breakglass_aws.runtime import Runtime
from breakglass_aws.validate import validate_incident_id

__all__ = ["activate", "add_approval", "approve", "deny", "lapse_requests", "principal_of", "quorum_met"]

ASSUMED = re.compile(r"\Aarn:(aws[a-z-]*):sts::([0-9]{12}):assumed-role/([^/]+)/(.+)\Z")
SSO_ROLE_PREFIX = "AWSReservedSSO_"


def principal_of(arn: str) -> str:
    """The identity behind a caller ARN. Every session of one role is the same principal (so a
    second session cannot approve the first), except IAM Identity Center roles, whose session
    name is the person."""
    match = ASSUMED.fullmatch(arn)
    if not match:
        return arn
    partition, account, role, session = match.groups()
    base = f"arn:{partition}:iam::{account}:role/{role}"
    return f"{base}/{session}" if role.startswith(SSO_ROLE_PREFIX) else base


def quorum_met(incident: Incident) -> bool:
    return len({a.principal for a in incident.approvals}) >= incident.approvals_required


def add_approval(incident: Incident, approver: Requester, comment: str | None, now: datetime) -> bool:
    """Record one approval; True when the quorum is now met. Refuses self-approval and repeats."""
    if incident.status not in (IncidentStatus.REQUESTED, IncidentStatus.APPROVED):
        raise UsageError(
            f"{incident.incident_id} is {incident.status.value}: nothing to approve",
            f"see: breakglass show {incident.incident_id}",
        )
    principal = principal_of(approver.arn)
    if principal == principal_of(incident.requester.arn):
        raise GuardRailError(
            "the requester can never approve their own incident",
            "ask another engineer to run: breakglass approve " + incident.incident_id,
        )
    if any(a.principal == principal for a in incident.approvals):
        raise GuardRailError(
            f"{principal} has already approved {incident.incident_id}",
            "each approver counts once; ask another engineer",
        )
    incident.approvals.append(
        Approval(principal=principal, arn=approver.arn, name=approver.name, at=now, comment=comment)
    )
    return quorum_met(incident)


def _load(rt: Runtime, incident_id: str) -> Incident:
    validate_incident_id(incident_id)
    return rt.store.get_incident(incident_id)


def _status_entry(incident: Incident) -> tuple[str, dict[str, Any]]:
    """The journal entry of the status `change` just set: saved in the same write."""
    return f"status:{incident.status.value}", {"reason": incident.status_reason or ""}


def approve(rt: Runtime, incident_id: str, approver: Requester, comment: str | None) -> Incident:
    _load(rt, incident_id)
    at = rt.clock()
    quorum_now = False

    def record(incident: Incident) -> None:  # re-run on a fresh read if someone saved meanwhile
        nonlocal quorum_now
        met = add_approval(incident, approver, comment, at)
        quorum_now = met and incident.status is IncidentStatus.REQUESTED
        if quorum_now:
            incident.status, incident.status_reason = IncidentStatus.APPROVED, "quorum met"

    approved = ("approved", {"by": approver.arn, "principal": principal_of(approver.arn), "comment": comment})
    incident = update_incident(
        rt.store, incident_id, record, lambda i: [approved, _status_entry(i)] if quorum_now else [approved]
    )
    count = f"{len(incident.approvals)}/{incident.approvals_required}"
    notify(rt, incident, "approval-recorded", f"by {approver.name} ({count})")
    if quorum_now:
        notify(rt, incident, incident.status.value, incident.status_reason)
    return incident


def deny(rt: Runtime, incident_id: str, denier: Requester, comment: str | None) -> Incident:
    _load(rt, incident_id)
    reason = f"denied by {denier.name}" + (f": {comment}" if comment else "")

    def refuse(incident: Incident) -> None:  # re-checked on a fresh read if someone saved meanwhile
        if incident.status not in (IncidentStatus.REQUESTED, IncidentStatus.APPROVED):
            raise UsageError(
                f"{incident_id} is {incident.status.value}: only a request can be denied",
                f"close an active incident with: breakglass close {incident_id}",
            )
        incident.status, incident.status_reason = IncidentStatus.DENIED, reason

    denied = ("denied", {"by": denier.arn, "comment": comment})
    incident = _update_and_release(rt, incident_id, refuse, lambda i: [denied, _status_entry(i)])
    notify(rt, incident, incident.status.value, incident.status_reason)
    return incident


def _update_and_release(
    rt: Runtime,
    incident_id: str,
    change: Callable[[Incident], None],
    entries: Callable[[Incident], list[tuple[str, dict[str, Any]]]],
) -> Incident:
    """A request ends (denied, lapsed): its new status, journal entries and the release of its
    targets in one write."""
    targets = rt.store.get_incident(incident_id).lock_targets()
    return update_incident(rt.store, incident_id, change, entries, release=targets)


def _check_activation(incident: Incident, caller: Requester) -> None:
    if incident.status is IncidentStatus.REQUESTED:
        have = len(incident.approvals)
        raise GuardRailError(
            f"{incident.incident_id} has {have} of {incident.approvals_required} approval(s)",
            f"an approver runs: breakglass approve {incident.incident_id}",
        )
    if incident.status is not IncidentStatus.APPROVED:
        raise UsageError(
            f"{incident.incident_id} is {incident.status.value}: it cannot be activated",
            f"see: breakglass show {incident.incident_id}",
        )
    if principal_of(caller.arn) != principal_of(incident.requester.arn):
        raise GuardRailError(
            "only the requester can activate an approved incident",
            f"{incident.requester.name} runs: breakglass activate {incident.incident_id}",
        )


def activate(
    rt: Runtime, incident_id: str, caller: Requester, token_code: str | None
) -> tuple[Incident, Credentials | None]:
    """Apply an approved request: detach (SCP mode, from a fresh snapshot) or assume (role mode)."""
    incident = _load(rt, incident_id)
    _check_activation(incident, caller)
    if incident.mode is Mode.SCP:
        return activate_scp(rt, incident, scp_activation_plan(rt, incident)), None
    if token_code is not None:
        validate_token_code(token_code)
    _, request = request_for(rt, incident)
    creds = activate_role(rt, incident, request, token_code)
    return incident, creds


class _NoLongerARequest(Exception):
    """Raised inside a compare-and-set change: someone activated or denied it meanwhile."""


def lapse_requests(rt: Runtime) -> list[Incident]:
    """Requests never activated before their expiry are closed as denied, releasing their targets
    (what `restore --expired` and the scheduled function run). Nothing in AWS was changed for them."""
    now = rt.clock()
    lapsed = []
    for found in rt.store.list_incidents(limit=100_000):
        if found.status in (IncidentStatus.REQUESTED, IncidentStatus.APPROVED) and found.expires_at <= now:
            incident = _lapse(rt, found.incident_id)
            if incident is not None:
                lapsed.append(incident)
    return lapsed


def _lapse(rt: Runtime, incident_id: str) -> Incident | None:
    def change(incident: Incident) -> None:
        if incident.status not in (IncidentStatus.REQUESTED, IncidentStatus.APPROVED):
            raise _NoLongerARequest
        was = incident.status.value
        incident.status = IncidentStatus.DENIED
        incident.status_reason = f"lapsed: {was}, not activated before {isoformat(incident.expires_at)}"

    try:
        incident = _update_and_release(
            rt, incident_id, change, lambda i: [("lapsed", {"expires_at": isoformat(i.expires_at)}), _status_entry(i)]
        )
    except _NoLongerARequest:
        return None
    notify(rt, incident, incident.status.value, incident.status_reason)
    return incident
