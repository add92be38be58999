"""What a close owes and what it did: the plan (users to rotate, the revocation cut-off) as it is
saved on the record, grown by what a caller asks and never shrunk, and the close's result."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel, ConfigDict

from breakglass_aws.errors import UsageError
from breakglass_aws.evidence.collect import CollectResult
from breakglass_aws.incident.evidence import EvidenceOptions
from breakglass_aws.incident.restore import RestoreResult
from breakglass_aws.incident.rotation import RotationResult
from breakglass_aws.models import (
    ClosePlan,
    Incident,
    IncidentStatus,
    JournalEntry,
    Mode,
)
from breakglass_aws.role.revoke import RevokeProof, RevokeStep
from breakglass_aws.runtime import Runtime

__all__ = ["CloseRequest", "CloseResult", "pending_users", "plan_for", "plan_from_journal", "planned_users"]


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
    checked: list[str] = []  # a rerun on an ended incident: what it owes, proven
    repaired: list[str] = []  # ... and what a crash had left behind, now done
    busy: str | None = None  # another closer holds it (the sweep leaves it to that one)


@dataclass
class CloseRequest:
    """What the caller asks of a close. `users` None keeps the saved plan (or, on a first close,
    the configured users); given, they are added to it. `restore_only`: a first close that
    rotates nobody unless asked (`scp restore`, the expiry sweep). `wait`: another closer at
    work is waited for (else left to it)."""

    users: list[str] | None = None
    skip_rotation: bool = False
    accept_drift: bool = False
    restore_only: bool = False
    wait: bool = True
    evidence: EvidenceOptions | None = None
    by: str = "close"


def planned_users(rt: Runtime, incident: Incident, request: CloseRequest) -> list[str]:
    """The users a close of `incident` would still rotate (what to confirm); a request that
    would drop a planned rotation is refused here, before anything changes."""
    return pending_users(plan_for(rt, incident, request))


def plan_for(rt: Runtime, incident: Incident, request: CloseRequest) -> ClosePlan:
    """The saved plan (or one an earlier version journaled), grown by the users asked for; or a
    new one. A saved plan's rotations cannot be dropped."""
    plan = incident.closing or plan_from_journal(incident, _journal_if_closing(rt, incident))
    if plan is None:
        now = rt.clock()
        wanted = request.users if request.users is not None else ([] if request.restore_only else rt.rotation.users)
        users = [] if request.skip_rotation else list(dict.fromkeys(wanted))
        return ClosePlan(started_at=now, users=users, revoke_before=now if incident.mode is Mode.ROLE else None)
    pending = pending_users(plan)
    if request.skip_rotation and pending:
        raise UsageError(
            f"the close of {incident.incident_id} already plans to rotate {', '.join(pending)}: "
            "--skip-rotation cannot drop a planned rotation",
            f"run: breakglass close {incident.incident_id} (it finishes the planned rotation)",
        )
    added = [u for u in dict.fromkeys(request.users or []) if u not in plan.users]
    return plan.model_copy(update={"users": [*plan.users, *added]})


def _journal_if_closing(rt: Runtime, incident: Incident) -> list[JournalEntry]:
    """An earlier version kept the plan in the journal only: read it where a close may be under
    way (the record alone tells everything else)."""
    if incident.status in (IncidentStatus.ACTIVE, IncidentStatus.REQUESTED, IncidentStatus.APPROVED):
        return []
    return rt.store.entries(incident.incident_id)


def plan_from_journal(incident: Incident, entries: list[JournalEntry]) -> ClosePlan | None:
    """The plan of a close started by an earlier version (journal `close-plan`/`close-step`)."""
    plans = [e for e in entries if e.kind == "close-plan"]
    if not plans:
        return None
    steps = [str(e.data.get("name")) for e in entries if e.kind == "close-step"]
    done = [f"restore:{s.target}" for s in incident.scp] if "restore" in steps else []
    done += [s for s in steps if s != "restore"]
    return ClosePlan(
        started_at=datetime.fromisoformat(plans[0].at.replace("Z", "+00:00")),
        users=[str(u) for u in plans[-1].data.get("users", [])],
        done=done,
    )


def pending_users(plan: ClosePlan) -> list[str]:
    return [u for u in plan.users if f"rotate:{u}" not in plan.done]


# the claim ---------------------------------------------------------------------------------------
