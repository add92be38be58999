"""Revoking a role's sessions inside an incident: the revocation policy through the gate, then
read back. IAM is reached in the role's own account (directly, or through the member role)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from breakglass_aws.aws import aws_errors
from breakglass_aws.errors import BreakglassError, PartialApplyError
from breakglass_aws.incident.gate import apply_steps
from breakglass_aws.models import Incident, Requester
from breakglass_aws.role.assume import parse_role_arn
from breakglass_aws.role.revoke import RevokeProof, RevokeStep, perform_revoke, plan_revoke, prove_revoke
from breakglass_aws.runtime import Runtime

if TYPE_CHECKING:
    from mypy_boto3_iam import IAMClient

__all__ = ["iam_for_account", "revoke_through_gate"]


def iam_for_account(rt: Runtime, account: str, caller: Requester) -> IAMClient:
    """IAM in the role's account: directly when we are there, else through the member role."""
    if account == caller.account:
        return rt.factory.client("iam")
    arn = f"arn:aws:iam::{account}:role/{rt.role.member_role_name}"
    with aws_errors():
        creds = rt.factory.client("sts").assume_role(RoleArn=arn, RoleSessionName="breakglass-admin")["Credentials"]
    client: IAMClient = rt.factory.client_as(
        "iam", creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"]
    )
    return client


def revoke_through_gate(
    rt: Runtime, incident: Incident, role_arn: str, caller: Requester, before: datetime
) -> tuple[RevokeStep, RevokeProof]:
    """Put the revocation policy through the gate (StepFailed on failure), then read it back
    (PartialApplyError when the read-back does not show it)."""
    account, role_name = parse_role_arn(role_arn)
    iam = iam_for_account(rt, account, caller)
    with aws_errors():
        step = plan_revoke(iam, role_arn, role_name, before)
    apply_steps(
        rt.store,
        incident.incident_id,
        [step],
        lambda s: perform_revoke(iam, s),
        rt.progress,
    )
    try:
        with aws_errors():
            proof = prove_revoke(iam, step)
    except BreakglassError as err:  # applied, but the read-back does not show it
        raise PartialApplyError(
            f"revocation not confirmed: {err.message}", incident.incident_id, err.remediation
        ) from err
    rt.store.append(incident.incident_id, "verified", proof.model_dump())
    return step, proof
