"""Closing incidents: SCP mode restores; role mode revokes every session issued before the close.
Also the standalone session revocation."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from breakglass_aws.aws import aws_errors
from breakglass_aws.errors import UsageError
from breakglass_aws.gate import StepFailed, apply_steps
from breakglass_aws.models import (
    ACTIVE_STATUSES,
    Incident,
    IncidentStatus,
    Mode,
    Requester,
    RoleAccess,
    new_incident_id,
)
from breakglass_aws.restore import RestoreResult, restore_incident
from breakglass_aws.revoke import RevokeStep, perform_revoke, plan_revoke
from breakglass_aws.role import parse_role_arn, source_identity_for
from breakglass_aws.runtime import Runtime
from breakglass_aws.validate import validate_incident_id

__all__ = ["CloseResult", "close_incident", "iam_for_account", "revoke_role_sessions"]


class CloseResult(BaseModel):
    model_config = ConfigDict(extra="forbid")
    incident_id: str
    mode: Mode
    status: IncidentStatus
    noop: bool = False
    restore: RestoreResult | None = None
    revoked: RevokeStep | None = None
    also_revoked: list[str] = []
    exit_code: int = 0


def iam_for_account(rt: Runtime, account: str, caller: Requester) -> Any:
    """IAM in the role's account: directly when we are there, else through the member role."""
    if account == caller.account:
        return rt.factory.client("iam")
    arn = f"arn:aws:iam::{account}:role/{rt.role.member_role_name}"
    with aws_errors():
        creds = rt.factory.client("sts").assume_role(RoleArn=arn, RoleSessionName="breakglass-admin")["Credentials"]
    return rt.factory.client_as("iam", creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])


def _revoke(rt: Runtime, incident: Incident, caller: Requester, before: datetime) -> RevokeStep:
    assert incident.role is not None  # noqa: S101
    account, role_name = parse_role_arn(incident.role.role_arn)
    iam = iam_for_account(rt, account, caller)
    with aws_errors():
        step = plan_revoke(iam, incident.role.role_arn, role_name, before)
    try:
        apply_steps(
            rt.store,
            incident.incident_id,
            [step],
            lambda s: perform_revoke(iam, s),
            lambda s: rt.progress(f"done: {s.describe()}"),
        )
    except StepFailed as failed:
        _status(rt, incident, IncidentStatus.NEEDS_ATTENTION, f"session revocation failed: {failed.error.message}")
        raise failed.error from failed
    incident.role.revoked_before = before
    return step


def close_incident(rt: Runtime, incident_id: str, caller: Requester) -> CloseResult:
    """One command to end an incident; rerunning it after a crash finishes what is left."""
    validate_incident_id(incident_id)
    incident = rt.store.get_incident(incident_id)
    if incident.status in (IncidentStatus.CLOSED, IncidentStatus.FAILED):
        return CloseResult(incident_id=incident_id, mode=incident.mode, status=incident.status, noop=True)
    if incident.status not in ACTIVE_STATUSES:
        raise UsageError(f"{incident_id} is {incident.status}", f"see: breakglass show {incident_id}")
    if incident.mode is Mode.SCP:
        restored = restore_incident(rt, incident_id)
        return CloseResult(
            incident_id=incident_id,
            mode=incident.mode,
            status=restored.status,
            restore=restored,
            exit_code=restored.exit_code,
        )
    now = rt.clock()
    _status(rt, incident, IncidentStatus.CLOSING, "closing: revoking sessions")
    step = _revoke(rt, incident, caller, now)
    incident.closed_at = now
    _status(rt, incident, IncidentStatus.CLOSED, "sessions revoked")
    rt.store.release_locks(incident_id)
    others = _other_open_role_incidents(rt, incident)
    return CloseResult(
        incident_id=incident_id, mode=incident.mode, status=incident.status, revoked=step, also_revoked=others
    )


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


def revoke_role_sessions(
    rt: Runtime, role_arn: str, caller: Requester, before: datetime | None, reason: str
) -> CloseResult:
    """Standalone revocation, recorded as its own (immediately closed) role incident."""
    parse_role_arn(role_arn)
    now = rt.clock()
    cutoff = before or now
    if cutoff > now:
        raise UsageError("--before cannot be in the future", "omit --before to revoke everything issued until now")
    incident = Incident(
        incident_id=new_incident_id(now),
        mode=Mode.ROLE,
        status=IncidentStatus.CLOSING,
        requester=caller,
        reason=reason,
        targets=[role_arn],
        created_at=now,
        expires_at=now,
        role=RoleAccess(
            role_arn=role_arn,
            session_name="",
            source_identity=source_identity_for(caller.name),
            region=rt.factory.region_name(),
            duration_seconds=0,
            chained=False,
        ),
    )
    rt.store.create_incident(incident)
    rt.store.append(incident.incident_id, "opened", {"incident": incident.public()})
    try:
        step = _revoke(rt, incident, caller, cutoff)
    except Exception:
        if incident.status is IncidentStatus.CLOSING:
            _status(rt, incident, IncidentStatus.FAILED, "revocation not applied")
        raise
    incident.closed_at = rt.clock()
    _status(rt, incident, IncidentStatus.CLOSED, "sessions revoked")
    rt.store.release_locks(incident.incident_id)
    return CloseResult(incident_id=incident.incident_id, mode=Mode.ROLE, status=incident.status, revoked=step)


def _status(rt: Runtime, incident: Incident, status: IncidentStatus, reason: str) -> None:
    incident.status = status
    incident.status_reason = reason
    rt.store.save_incident(incident)
    rt.store.append(incident.incident_id, f"status:{status.value}", {"reason": reason})
