"""Typed records: incidents, their SCP snapshots, plan steps and journal entries."""

from __future__ import annotations

import secrets
from datetime import datetime
from enum import StrEnum
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from breakglass_aws.clock import isoformat
from breakglass_aws.errors import UsageError

__all__ = [
    "ACTIVE_STATUSES",
    "ENDED_STATUSES",
    "FULL_AWS_ACCESS",
    "PENDING_ARN",
    "RCP_FULL_AWS_ACCESS",
    "RCP_TYPE",
    "SCP_TYPE",
    "Approval",
    "CloseClaim",
    "ClosePlan",
    "Extension",
    "Incident",
    "IncidentStatus",
    "IssuedSession",
    "JournalEntry",
    "LockMode",
    "Mode",
    "PolicyRef",
    "Requester",
    "RoleAccess",
    "RootTask",
    "ScpStep",
    "ScpTargetSnapshot",
    "new_incident_id",
]

FULL_AWS_ACCESS = "p-FullAWSAccess"
LockMode = Literal["GOVERNANCE", "COMPLIANCE"]  # S3 Object Lock: evidence and journal anchors


class Mode(StrEnum):
    SCP = "scp"
    ROLE = "role"
    ROTATE = "rotate"
    DRILL = "drill"
    ROOT = "root"


class IncidentStatus(StrEnum):
    REQUESTED = "requested"
    APPROVED = "approved"
    ACTIVE = "active"
    CLOSING = "closing"
    CLOSED = "closed"
    FAILED = "failed"
    NEEDS_ATTENTION = "needs-attention"
    DENIED = "denied"


ACTIVE_STATUSES = frozenset({IncidentStatus.ACTIVE, IncidentStatus.CLOSING, IncidentStatus.NEEDS_ATTENTION})
ENDED_STATUSES = frozenset({IncidentStatus.CLOSED, IncidentStatus.FAILED, IncidentStatus.DENIED})


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


PENDING_ARN = "pending:sts:GetCallerIdentity"  # a requester's ARN until GetCallerIdentity answers


class Requester(_Model):
    arn: str
    account: str
    user_id: str
    name: str


SCP_TYPE: Final = "SERVICE_CONTROL_POLICY"
RCP_TYPE: Final = "RESOURCE_CONTROL_POLICY"
RCP_FULL_AWS_ACCESS = "p-RCPFullAWSAccess"


class PolicyRef(_Model):
    id: str
    name: str = ""
    aws_managed: bool = False
    content_sha256: str | None = None
    type: Literal["SERVICE_CONTROL_POLICY", "RESOURCE_CONTROL_POLICY"] = "SERVICE_CONTROL_POLICY"


class ScpTargetSnapshot(_Model):
    """What a target held before the incident, and what the incident changes."""

    target: str
    kind: str
    original: list[PolicyRef]
    detach: list[str]
    attach_full_access: bool
    blast_radius: list[str] = Field(default_factory=list)

    def original_ids(self) -> set[str]:
        return {p.id for p in self.original}

    def has_rcps(self) -> bool:
        """The incident detaches resource control policies too (their listing is read on restore)."""
        return any(p.type == RCP_TYPE for p in self.original)

    def rcps(self) -> list[str]:
        """The RCPs the incident detaches."""
        kinds = {p.id: p.type for p in self.original}
        return [p for p in self.detach if kinds.get(p) == RCP_TYPE]


class ScpStep(_Model):
    action: Literal["attach", "detach"]
    policy_id: str
    target: str

    def describe(self) -> str:
        arrow = "to" if self.action == "attach" else "from"
        return f"{self.action} {self.policy_id} {arrow} {self.target}"


class IssuedSession(_Model):
    """One AssumeRole answer, without its secrets: what evidence collection needs."""

    access_key_id: str
    expiration: datetime
    issued_at: datetime


class RoleAccess(_Model):
    role_arn: str
    session_name: str
    source_identity: str
    region: str
    duration_seconds: int
    chained: bool
    mfa_serial: str | None = None
    sessions: list[IssuedSession] = Field(default_factory=list)
    revoked_before: datetime | None = None


class RootTask(_Model):
    """A root-task incident: one AssumeRoot task policy on a member account, and what it acts on
    (a bucket or queue whose policy it deletes or replaces; nothing for the credential tasks)."""

    task: Literal["unlock-bucket", "unlock-queue", "audit", "delete-credentials"]
    account: str
    task_policy_arn: str
    region: str
    duration_seconds: int
    resource: str | None = None
    replacement_sha256: str | None = None  # --replace-with: the corrected policy (canonical JSON)


class Approval(_Model):
    principal: str
    arn: str
    name: str
    at: datetime
    comment: str | None = None


class Extension(_Model):
    """A later expiry asked for an active incident, waiting for its approvals (`extend`)."""

    ttl_seconds: int
    reason: str
    requester: Requester
    requested_at: datetime
    approvals_required: int = 0
    approvals: list[Approval] = Field(default_factory=list)
    override: bool = False


class CloseClaim(_Model):
    """Who is closing the incident right now (one closer at a time). The claim is taken over when
    its process is gone (same host) or its lease has run out (any host)."""

    token: str
    by: str
    host: str
    boot: str = ""
    pid: int
    thread: int = 0
    started: str = ""  # the process's start time as the kernel counts it (tells a reused pid)
    until: datetime


class ClosePlan(_Model):
    """What closing the incident owes (the users to rotate, the revocation cut-off) and which of
    its steps are done (`restore:<target>`, `revoke`, `rotate:<user>`). Saved with the record, so
    whoever finishes the close (a rerun, `restore`, the sweep) finishes the same plan."""

    started_at: datetime
    users: list[str] = Field(default_factory=list)
    revoke_before: datetime | None = None
    done: list[str] = Field(default_factory=list)
    claim: CloseClaim | None = None


class Incident(_Model):
    incident_id: str
    mode: Mode
    status: IncidentStatus
    requester: Requester
    reason: str
    ticket: str | None = None
    targets: list[str]
    created_at: datetime
    expires_at: datetime
    closed_at: datetime | None = None
    status_reason: str | None = None
    scp: list[ScpTargetSnapshot] = Field(default_factory=list)
    role: RoleAccess | None = None
    override: bool = False
    approvals_required: int = 0
    approvals: list[Approval] = Field(default_factory=list)
    request: dict[str, Any] = Field(default_factory=dict)
    closing: ClosePlan | None = None
    root: RootTask | None = None
    extension: Extension | None = None

    def lock_targets(self) -> list[str]:
        """Targets held exclusively: SCP targets, users being rotated, a root task's resource. Many
        engineers may hold sessions of one role at once."""
        return list(self.targets) if self.mode in (Mode.SCP, Mode.ROTATE, Mode.ROOT) else []

    def access(self) -> RoleAccess:
        """The role of a role incident (recorded when it opens)."""
        if self.role is None:
            raise UsageError(
                f"{self.incident_id} is a {self.mode} incident: it has no role",
                f"see: breakglass show {self.incident_id}",
            )
        return self.role

    def public(self) -> dict[str, Any]:
        """The JSON shape shown to users and scripts."""
        data = self.model_dump(mode="json")
        data["created_at"] = isoformat(self.created_at)
        data["expires_at"] = isoformat(self.expires_at)
        data["closed_at"] = isoformat(self.closed_at) if self.closed_at else None
        return data


class JournalEntry(_Model):
    incident_id: str
    seq: int
    at: str
    kind: str
    data: dict[str, Any]
    prev_hash: str
    hash: str


def new_incident_id(now: datetime) -> str:
    return f"bg-{now:%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"
