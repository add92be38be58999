"""Closing incidents: SCP mode restores; role mode revokes every session issued before the close.
Also the standalone session revocation."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from breakglass_aws.aws import aws_errors
from breakglass_aws.errors import BreakglassError, PartialApplyError, UsageError
from breakglass_aws.evidence.collect import CollectResult
from breakglass_aws.evidence.run import EvidenceOptions, collect_evidence
from breakglass_aws.gate import StepFailed, apply_steps
from breakglass_aws.lifecycle import set_status
from breakglass_aws.models import (
    ACTIVE_STATUSES,
    Incident,
    IncidentStatus,
    Mode,
    Requester,
    RoleAccess,
    new_incident_id,
)
from breakglass_aws.restore import RestoreResult, restore_targets, unrecoverable_reason
from breakglass_aws.revoke import RevokeProof, RevokeStep, perform_revoke, plan_revoke, prove_revoke
from breakglass_aws.role import parse_role_arn, source_identity_for
from breakglass_aws.rotation_run import RotationResult, cause_hint, check_rotation_targets, rotate_in_incident
from breakglass_aws.runtime import Runtime
from breakglass_aws.validate import validate_incident_id

__all__ = ["CloseResult", "close_incident", "finish_pending", "iam_for_account", "revoke_role_sessions"]


class CloseResult(BaseModel):
    model_config = ConfigDict(extra="forbid")
    incident_id: str
    mode: Mode
    status: IncidentStatus
    noop: bool = False
    restore: RestoreResult | None = None
    revoked: RevokeStep | None = None
    revoke_verified: RevokeProof | None = None
    also_revoked: list[str] = []
    rotated: list[RotationResult] = []
    evidence: CollectResult | None = None
    evidence_error: str | None = None
    exit_code: int = 0


def iam_for_account(rt: Runtime, account: str, caller: Requester) -> Any:
    """IAM in the role's account: directly when we are there, else through the member role."""
    if account == caller.account:
        return rt.factory.client("iam")
    arn = f"arn:aws:iam::{account}:role/{rt.role.member_role_name}"
    with aws_errors():
        creds = rt.factory.client("sts").assume_role(RoleArn=arn, RoleSessionName="breakglass-admin")["Credentials"]
    return rt.factory.client_as("iam", creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])


def _revoke(rt: Runtime, incident: Incident, caller: Requester, before: datetime) -> tuple[RevokeStep, RevokeProof]:
    """Put the revocation policy through the gate (StepFailed on failure), then read it back."""
    assert incident.role is not None  # noqa: S101
    account, role_name = parse_role_arn(incident.role.role_arn)
    iam = iam_for_account(rt, account, caller)
    with aws_errors():
        step = plan_revoke(iam, incident.role.role_arn, role_name, before)
    apply_steps(
        rt.store,
        incident.incident_id,
        [step],
        lambda s: perform_revoke(iam, s),
        lambda s: rt.progress(f"done: {s.describe()}"),
    )
    try:
        with aws_errors():
            proof = prove_revoke(iam, step)
    except BreakglassError as err:  # applied, but the read-back does not show it
        raise PartialApplyError(
            f"revocation not confirmed: {err.message}", incident.incident_id, err.remediation
        ) from err
    rt.store.append(incident.incident_id, "verified", proof.model_dump())
    incident.role.revoked_before = before
    return step, proof


def close_incident(
    rt: Runtime,
    incident_id: str,
    caller: Requester,
    users: list[str] | None = None,
    skip_rotation: bool = False,
    accept_drift: bool = False,
    evidence: EvidenceOptions | None = None,
) -> CloseResult:
    """One command to end an incident: restore SCPs, revoke role sessions, rotate the break-glass
    users. Each finished step is journaled, so a rerun after a crash does only what is left."""
    incident = _closable(rt, incident_id)
    if incident is None:
        return _already_closed(rt, incident_id, evidence)
    done = _steps_done(rt, incident_id)
    chosen = _close_plan(rt, incident_id, users, skip_rotation)
    to_rotate = [user for user in chosen if f"rotate:{user}" not in done]
    check_rotation_targets(rt, to_rotate)  # read-only: an unknown user or secret changes nothing
    _record_close_plan(rt, incident_id, chosen)
    result = CloseResult(incident_id=incident_id, mode=incident.mode, status=incident.status)
    _status(rt, incident, IncidentStatus.CLOSING, "closing")
    step = "restore"
    try:
        if (
            incident.mode is Mode.SCP
            and "restore" not in done
            and not _close_restore(rt, incident, result, accept_drift)
        ):
            return result
        step = "revoke"
        if incident.mode is Mode.ROLE and "revoke" not in done:
            result.revoked, result.revoke_verified = _revoke(rt, incident, caller, rt.clock())
            _step_done(rt, incident_id, "revoke")
            result.also_revoked = _other_open_role_incidents(rt, incident)
        for user in to_rotate:
            step = f"rotate:{user}"
            result.rotated.append(
                rotate_in_incident(rt, incident, user, None, with_password=True, raise_step_failed=True)
            )
            _step_done(rt, incident_id, step)
    except StepFailed as failed:
        describe = getattr(failed.step, "describe", None)
        raise _stopped(rt, incident, step, describe() if describe else None, failed.error) from failed
    except BreakglassError as err:
        raise _stopped(rt, incident, step, None, err) from err
    if rt.evidence_on_close:
        _step_done(rt, incident_id, "evidence:pending")  # a crash after `closed` still collects on rerun
    incident.closed_at = rt.clock()
    _status(rt, incident, IncidentStatus.CLOSED, "closed")
    rt.store.release_locks(incident_id)
    result.status = incident.status
    if rt.evidence_on_close:
        _evidence(rt, result, evidence)
    return result


def _already_closed(rt: Runtime, incident_id: str, options: EvidenceOptions | None) -> CloseResult:
    """A rerun on a finished incident: nothing to do, unless the evidence hand-off is pending."""
    found = rt.store.get_incident(incident_id)
    done = _steps_done(rt, incident_id)
    if found.status is IncidentStatus.CLOSED and "evidence:pending" in done and "evidence" not in done:
        rt.progress(f"{incident_id} is closed; collecting its pending evidence")
        result = CloseResult(incident_id=incident_id, mode=found.mode, status=found.status)
        _evidence(rt, result, options)
        return result
    return CloseResult(incident_id=incident_id, mode=found.mode, status=found.status, noop=True)


def _evidence(rt: Runtime, result: CloseResult, options: EvidenceOptions | None) -> None:
    """Evidence never blocks a close: a failure is reported with the command to finish it."""
    try:
        result.evidence = collect_evidence(rt, result.incident_id, None, options or EvidenceOptions())
        _step_done(rt, result.incident_id, "evidence")
    except Exception as err:
        result.evidence_error = f"{type(err).__name__}: {err}"
        rt.progress(
            f"warning: evidence not collected ({result.evidence_error}); "
            f"run: breakglass evidence collect {result.incident_id}"
        )


def finish_pending(rt: Runtime, caller: Requester) -> list[CloseResult]:
    """Closes that stopped (a control plane was down) are finished here; what cron, the scheduled
    function and `restore --expired` run. Each resumes where it stopped."""
    results = []
    for incident in rt.store.list_incidents(limit=100_000):
        if incident.status is IncidentStatus.NEEDS_ATTENTION and (incident.status_reason or "").startswith(
            "close stopped"
        ):
            rt.progress(f"finishing the close of {incident.incident_id}")
            try:
                results.append(close_incident(rt, incident.incident_id, caller))
            except BreakglassError as err:
                results.append(
                    CloseResult(
                        incident_id=incident.incident_id,
                        mode=incident.mode,
                        status=IncidentStatus.NEEDS_ATTENTION,
                        exit_code=err.exit_code,
                    )
                )
    return results


def _closable(rt: Runtime, incident_id: str) -> Incident | None:
    validate_incident_id(incident_id)
    incident = rt.store.get_incident(incident_id)
    if incident.status in (IncidentStatus.CLOSED, IncidentStatus.FAILED):
        return None
    if incident.mode is Mode.ROTATE:
        raise UsageError(
            f"{incident_id} is a rotation", f"resume it with: breakglass rotate --user {incident.targets[0][5:]}"
        )
    if incident.status not in ACTIVE_STATUSES:
        raise UsageError(f"{incident_id} is {incident.status}", f"see: breakglass show {incident_id}")
    return incident


def _close_restore(rt: Runtime, incident: Incident, result: CloseResult, accept_drift: bool) -> bool:
    targets = restore_targets(rt, incident)
    reason = unrecoverable_reason(targets)
    drift = [d for t in targets for d in t.drift]
    if drift:
        rt.store.append(incident.incident_id, "drift", {"drift": drift})
    result.restore = RestoreResult(
        incident_id=incident.incident_id,
        status=incident.status,
        targets=targets,
        error=reason if not accept_drift else None,
    )
    if reason and not accept_drift:
        _status(rt, incident, IncidentStatus.NEEDS_ATTENTION, f"restore: {reason}")
        result.status, result.exit_code = incident.status, PartialApplyError.exit_code
        result.restore.status = incident.status
        return False
    _step_done(rt, incident.incident_id, "restore")
    return True


def _stopped(rt: Runtime, incident: Incident, name: str, step: str | None, err: BreakglassError) -> BreakglassError:
    """needs-attention naming the close step, the exact AWS step that failed, and what to do."""
    where = f"close stopped at {name}" + (f" (could not {step})" if step else "")
    hint = cause_hint(err.remediation)
    # `list` adds the command that finishes it: the reason says what to fix, once
    _status(rt, incident, IncidentStatus.NEEDS_ATTENTION, f"{where}: {err.message}; to finish: {hint}")
    return PartialApplyError(
        f"{incident.incident_id}: {where}: {err.message}",
        incident.incident_id,
        f"{hint}, then run: breakglass close {incident.incident_id} "
        f"(it resumes at {name}; finished steps are not repeated)",
    )


def _close_plan(rt: Runtime, incident_id: str, users: list[str] | None, skip_rotation: bool) -> list[str]:
    """The users this close rotates. The first close journals its choice, so a resumed close (a
    rerun without --user, `restore --expired`, the scheduled function) rotates the same users."""
    planned = _planned_users(rt, incident_id)
    if planned is not None and users is None and not skip_rotation:
        return planned
    return [] if skip_rotation else list(users if users is not None else rt.rotation.users)


def _planned_users(rt: Runtime, incident_id: str) -> list[str] | None:
    planned = [e.data for e in rt.store.entries(incident_id) if e.kind == "close-plan"]
    return [str(u) for u in planned[-1]["users"]] if planned else None


def _record_close_plan(rt: Runtime, incident_id: str, chosen: list[str]) -> None:
    if _planned_users(rt, incident_id) != chosen:
        rt.store.append(incident_id, "close-plan", {"users": chosen})


def _steps_done(rt: Runtime, incident_id: str) -> set[str]:
    return {str(e.data["name"]) for e in rt.store.entries(incident_id) if e.kind == "close-step"}


def _step_done(rt: Runtime, incident_id: str, name: str) -> None:
    rt.store.append(incident_id, "close-step", {"name": name})


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
        step, proof = _revoke(rt, incident, caller, cutoff)
    except StepFailed as failed:
        _status(rt, incident, IncidentStatus.NEEDS_ATTENTION, f"session revocation failed: {failed.error.message}")
        raise failed.error from failed
    except PartialApplyError as err:
        _status(rt, incident, IncidentStatus.NEEDS_ATTENTION, err.message)
        raise
    except Exception:
        if incident.status is IncidentStatus.CLOSING:
            _status(rt, incident, IncidentStatus.FAILED, "revocation not applied")
        raise
    incident.closed_at = rt.clock()
    _status(rt, incident, IncidentStatus.CLOSED, "sessions revoked")
    rt.store.release_locks(incident.incident_id)
    return CloseResult(
        incident_id=incident.incident_id, mode=Mode.ROLE, status=incident.status, revoked=step, revoke_verified=proof
    )


def _status(rt: Runtime, incident: Incident, status: IncidentStatus, reason: str) -> None:
    set_status(rt, incident, status, reason)
