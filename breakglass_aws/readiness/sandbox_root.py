"""The sandbox drill's root-task step: a bad deploy locks a member account's bucket with a policy
that denies everyone, and `breakglass root unlock-bucket` opens it through AssumeRoot (the
embedded moto, with the testing stand-ins for centralized root access).

moto evaluates no policy: the deny-all policy denies nothing there. The step proves what the tool
does: the policy is gone, its old text is in the incident's journal, the incident is closed."""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict

from breakglass_aws.incident.root import run_root_task
from breakglass_aws.models import Requester
from breakglass_aws.readiness.sandbox import REGION, _client, _member
from breakglass_aws.root.request import RootAsk
from breakglass_aws.runtime import Runtime

__all__ = ["LOCKED_BUCKET", "RootUnlock", "lock_a_bucket", "unlock_the_bucket"]

LOCKED_BUCKET = "sandbox-orders-data"


class RootUnlock(BaseModel):
    model_config = ConfigDict(extra="forbid")
    incident_id: str
    bucket: str
    account: str
    status: str
    policy_now: str | None
    old_policy_journaled: bool

    def lines(self) -> list[str]:
        now = "no policy" if self.policy_now is None else "a policy (NOT removed)"
        saved = "its old text is in the journal" if self.old_policy_journaled else "its old text is NOT in the journal"
        return [
            f"root task: s3://{self.bucket}@{self.account} was locked by a deny-all bucket policy;",
            f"  breakglass root unlock-bucket -> {self.incident_id} {self.status}: the bucket holds {now}, {saved}",
        ]


def lock_a_bucket(account: str) -> str:
    """Centralized root access turned on (as the management account does once), and the member
    account's bucket locked as a bad deploy would lock it. Returns the policy's text."""
    _client("organizations").enable_aws_service_access(ServicePrincipal="iam.amazonaws.com")
    iam = _client("iam")
    iam.enable_organizations_root_sessions()
    iam.enable_organizations_root_credentials_management()
    s3 = _member("s3", account)
    s3.create_bucket(Bucket=LOCKED_BUCKET)
    deny = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "BadDeploy",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [f"arn:aws:s3:::{LOCKED_BUCKET}", f"arn:aws:s3:::{LOCKED_BUCKET}/*"],
            }
        ],
    }
    policy = json.dumps(deny)
    s3.put_bucket_policy(Bucket=LOCKED_BUCKET, Policy=policy)
    return policy


def _policy_now(account: str) -> str | None:
    s3: Any = _member("s3", account)
    try:
        return str(s3.get_bucket_policy(Bucket=LOCKED_BUCKET)["Policy"])
    except s3.exceptions.ClientError:
        return None


def unlock_the_bucket(rt: Runtime, account: str, requester: Requester, policy: str) -> RootUnlock:
    ask = RootAsk(task="unlock-bucket", account=account, region=REGION, resource=LOCKED_BUCKET)
    result = run_root_task(rt, ask, requester, "drill: a deploy wrote a deny-all bucket policy", None)
    journal = json.dumps([e.data for e in rt.store.entries(result.incident_id)])
    return RootUnlock(
        incident_id=result.incident_id,
        bucket=LOCKED_BUCKET,
        account=account,
        status=result.status.value,
        policy_now=_policy_now(account),
        old_policy_journaled=json.dumps(policy)[1:-1] in journal or policy in journal,
    )
