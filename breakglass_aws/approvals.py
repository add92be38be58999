"""The two-person rule: who is a distinct approver, and when the quorum is met."""

from __future__ import annotations

import re
from datetime import datetime

from breakglass_aws.errors import GuardRailError, UsageError
from breakglass_aws.models import Approval, Incident, IncidentStatus, Requester

__all__ = ["add_approval", "principal_of", "quorum_met"]

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
