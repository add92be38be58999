"""The root tasks the tool runs: their AssumeRoot task policies, the organization feature each
needs, and the incident target each acts on."""

from __future__ import annotations

from typing import Literal, get_args

__all__ = [
    "FEATURE",
    "POLICY_PREFIX",
    "SESSION_SECONDS",
    "TASK_POLICY",
    "UNLOCK_TASKS",
    "TaskName",
    "policy_name",
    "target_for",
]

TaskName = Literal["unlock-bucket", "unlock-queue", "audit", "delete-credentials"]
TASKS: tuple[TaskName, ...] = get_args(TaskName)
UNLOCK_TASKS: frozenset[str] = frozenset({"unlock-bucket", "unlock-queue"})

POLICY_PREFIX = "arn:aws:iam::aws:policy/root-task/"
TASK_POLICY: dict[str, str] = {
    "unlock-bucket": f"{POLICY_PREFIX}S3UnlockBucketPolicy",
    "unlock-queue": f"{POLICY_PREFIX}SQSUnlockQueuePolicy",
    "audit": f"{POLICY_PREFIX}IAMAuditRootUserCredentials",
    "delete-credentials": f"{POLICY_PREFIX}IAMDeleteRootUserCredentials",
}
# What `iam:ListOrganizationsFeatures` must show on: privileged root actions (root sessions) to
# unlock a resource policy, root credentials management to audit or delete root credentials.
FEATURE: dict[str, str] = {
    "unlock-bucket": "RootSessions",
    "unlock-queue": "RootSessions",
    "audit": "RootCredentialsManagement",
    "delete-credentials": "RootCredentialsManagement",
}
SESSION_SECONDS = 900  # AssumeRoot's maximum (and the tool's only) session length


def policy_name(arn: str) -> str:
    """S3UnlockBucketPolicy from its ARN."""
    return arn.rsplit("/", 1)[-1]


def target_for(task: str, account: str, resource: str | None) -> str:
    """The incident target: `s3://BUCKET@ACCOUNT`, `sqs:QUEUE_URL`, `root-credentials@ACCOUNT`.
    One open incident per target: a rerun resumes it."""
    if task == "unlock-bucket":
        return f"s3://{resource}@{account}"
    if task == "unlock-queue":
        return f"sqs:{resource}"
    return f"root-credentials@{account}"
