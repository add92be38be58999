"""A root-task request and what is said about it: the validated ask, the plan a dry run shows, the
result of a run; and the typed pieces derived from a request or a stored incident (its task, the
AssumeRoot step, the bucket or queue it acts on)."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict

from breakglass_aws.errors import UsageError
from breakglass_aws.models import Incident, IncidentStatus, RootTask
from breakglass_aws.root.assume import RootAssumeStep
from breakglass_aws.root.credentials import RootCredentials
from breakglass_aws.root.inputs import canonical_sha256
from breakglass_aws.root.policy import PolicyTarget
from breakglass_aws.root.prereq import Prerequisite
from breakglass_aws.root.tasks import SESSION_SECONDS, TASK_POLICY, UNLOCK_TASKS, TaskName, target_for

__all__ = ["RootAsk", "RootPlan", "RootResult", "assume_step", "describe", "policy_target", "root_task", "task_of"]


@dataclass
class RootAsk:
    """A validated root-task request (no AWS call was needed to get here)."""

    task: TaskName
    account: str
    region: str
    resource: str | None = None  # the bucket name or queue URL
    replacement: str | None = None  # --replace-with: the corrected policy's text

    def target(self) -> str:
        return target_for(self.task, self.account, self.resource)

    def replacement_sha256(self) -> str | None:
        return canonical_sha256(self.replacement) if self.replacement is not None else None


class RootPlan(BaseModel):
    model_config = ConfigDict(extra="forbid")
    task: str
    account: str
    target: str
    region: str
    task_policy_arn: str
    duration_seconds: int
    prerequisites: list[Prerequisite]
    steps: list[str]
    replacement_sha256: str | None = None
    resumes: str | None = None  # the open incident a run would resume


class RootResult(BaseModel):
    model_config = ConfigDict(extra="forbid")
    incident_id: str
    task: str
    account: str
    target: str
    region: str
    status: IncidentStatus
    resumed: bool = False
    done: list[str] = []
    policy_found: bool | None = None  # the lockout: the first read of the policy in this incident
    policy_sha256: str | None = None
    policy_bytes: int | None = None
    now: str | None = None  # what the resource holds now, read back
    found: RootCredentials | None = None  # the root user's credentials (before any deletion)
    remaining: RootCredentials | None = None  # delete-credentials: read back after
    evidence: str | None = None
    evidence_error: str | None = None


def root_task(ask: RootAsk) -> RootTask:
    """What the incident record keeps of the request."""
    return RootTask(
        task=ask.task,
        account=ask.account,
        task_policy_arn=TASK_POLICY[ask.task],
        region=ask.region,
        duration_seconds=SESSION_SECONDS,
        resource=ask.resource,
        replacement_sha256=ask.replacement_sha256(),
    )


def task_of(incident: Incident) -> RootTask:
    if incident.root is None:
        raise UsageError(f"{incident.incident_id} is a {incident.mode.value} incident", "see: breakglass show")
    return incident.root


def assume_step(root: RootTask) -> RootAssumeStep:
    return RootAssumeStep(
        account=root.account,
        task_policy_arn=root.task_policy_arn,
        duration_seconds=root.duration_seconds,
        region=root.region,
    )


def policy_target(root: RootTask) -> PolicyTarget:
    """The bucket or queue an unlock task acts on."""
    kind = "bucket" if root.task == "unlock-bucket" else "queue"
    return PolicyTarget(kind=kind, resource=root.resource or "", account=root.account, region=root.region)


def describe(ask: RootAsk) -> list[str]:
    """The steps of a run, as a dry run shows them."""
    root = root_task(ask)
    assume = assume_step(root).describe()
    if ask.task in UNLOCK_TASKS:
        change = (
            f"put the corrected policy ({len(ask.replacement.encode())} bytes, sha256 {ask.replacement_sha256()})"
            if ask.replacement is not None
            else "delete it"
        )
        return [
            assume,
            f"read {policy_target(root).describe()} and save its text in the journal (the record of the lockout)",
            change,
            "read it back; close the incident",
        ]
    read = "read the root user's console password (login profile), access keys, MFA devices, signing certificates"
    if ask.task == "audit":
        return [assume, read + " and save them in the journal", "close the incident"]
    return [
        assume,
        read,
        "delete the login profile, each access key and signing certificate; deactivate each MFA device "
        "(and delete a virtual one), each through the journal",
        "read back (nothing may remain); close the incident",
    ]
