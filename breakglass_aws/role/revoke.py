"""Revoke a role's sessions: the AWS technique of an inline Deny on aws:TokenIssueTime.

There is no per-session revoke in AWS. The inline policy `AWSRevokeOlderSessions` denies
everything to every session of the role issued before a cut-off; merging keeps the later cut-off.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict

from breakglass_aws.clock import isoformat
from breakglass_aws.errors import AwsFailure

if TYPE_CHECKING:
    from mypy_boto3_iam import IAMClient

__all__ = [
    "POLICY_NAME",
    "RevokeProof",
    "RevokeStep",
    "current_cutoff",
    "perform_revoke",
    "plan_revoke",
    "prove_revoke",
    "revoke_document",
]

POLICY_NAME = "AWSRevokeOlderSessions"


class RevokeStep(BaseModel):
    model_config = ConfigDict(extra="forbid")
    action: Literal["revoke-sessions"] = "revoke-sessions"
    role_arn: str
    role_name: str
    cutoff: str
    previous_cutoff: str | None = None

    def describe(self) -> str:
        return f"revoke sessions of {self.role_arn} issued before {self.cutoff}"


def revoke_document(cutoff: datetime) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Deny",
                "Action": ["*"],
                "Resource": ["*"],
                "Condition": {"DateLessThan": {"aws:TokenIssueTime": isoformat(cutoff)}},
            }
        ],
    }


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def current_cutoff(iam: IAMClient, role_name: str) -> datetime | None:
    try:
        document: Any = iam.get_role_policy(RoleName=role_name, PolicyName=POLICY_NAME)["PolicyDocument"]
    except iam.exceptions.NoSuchEntityException:
        return None
    if isinstance(document, str):
        document = json.loads(document)
    cutoffs = [
        _parse(s["Condition"]["DateLessThan"]["aws:TokenIssueTime"])
        for s in document.get("Statement", [])
        if isinstance(s, dict) and "aws:TokenIssueTime" in s.get("Condition", {}).get("DateLessThan", {})
    ]
    return max(cutoffs) if cutoffs else None


def plan_revoke(iam: IAMClient, role_arn: str, role_name: str, before: datetime) -> RevokeStep:
    """Merge with an existing revocation by keeping the later cut-off."""
    iam.get_role(RoleName=role_name)  # a missing role fails here, before any change
    existing = current_cutoff(iam, role_name)
    cutoff = max(before, existing) if existing else before
    return RevokeStep(
        role_arn=role_arn,
        role_name=role_name,
        cutoff=isoformat(cutoff),
        previous_cutoff=isoformat(existing) if existing else None,
    )


def perform_revoke(iam: IAMClient, step: RevokeStep) -> None:
    document = revoke_document(_parse(step.cutoff))
    iam.put_role_policy(RoleName=step.role_name, PolicyName=POLICY_NAME, PolicyDocument=json.dumps(document))


class RevokeProof(BaseModel):
    """The inline policy as read back after the revocation."""

    model_config = ConfigDict(extra="forbid")
    role_arn: str
    policy_name: str = POLICY_NAME
    cutoff: str


def prove_revoke(iam: IAMClient, step: RevokeStep) -> RevokeProof:
    """Read the inline policy back: a Deny of everything for sessions issued before a cut-off no
    earlier than the one we put. Raises AwsFailure when the role does not carry it."""
    try:
        document: Any = iam.get_role_policy(RoleName=step.role_name, PolicyName=POLICY_NAME)["PolicyDocument"]
    except iam.exceptions.NoSuchEntityException:
        document = {}
    if isinstance(document, str):
        document = json.loads(document)
    wanted = _parse(step.cutoff)
    found = [
        _parse(s["Condition"]["DateLessThan"]["aws:TokenIssueTime"])
        for s in document.get("Statement", [])
        if isinstance(s, dict)
        and s.get("Effect") == "Deny"
        and s.get("Action") in ("*", ["*"])
        and s.get("Resource") in ("*", ["*"])
        and "aws:TokenIssueTime" in s.get("Condition", {}).get("DateLessThan", {})
    ]
    if not found or max(found) < wanted:
        have = isoformat(max(found)) if found else "no deny-all cut-off"
        raise AwsFailure(
            f"{step.role_arn}: inline policy {POLICY_NAME} read back with {have}, expected {step.cutoff}",
            "someone may have edited the role meanwhile: check it in IAM",
        )
    return RevokeProof(role_arn=step.role_arn, cutoff=isoformat(max(found)))
