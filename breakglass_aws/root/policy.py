"""A bucket or queue policy, read, deleted or replaced by a root session. The steps carry the
corrected policy's digest, not its text: the incident journals the text once, beside them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal, cast

from pydantic import BaseModel, ConfigDict

from breakglass_aws.errors import AwsAccessError, UsageError
from breakglass_aws.root.assume import SCP_HINT
from breakglass_aws.root.inputs import canonical_sha256

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sqs import SQSClient

__all__ = ["PolicyStep", "PolicyTarget", "perform_policy_step", "plan_unlock", "read_policy"]

Kind = Literal["bucket", "queue"]
_MISSING_BUCKET = {"NoSuchBucket"}
_MISSING_QUEUE = {"AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"}
_NO_POLICY = {"NoSuchBucketPolicy"}
_DENIED = {"AccessDenied", "AccessDeniedException", "AuthorizationError"}


class PolicyTarget(BaseModel):
    """The bucket (name) or queue (URL) whose policy locks everyone out, in `account`."""

    model_config = ConfigDict(extra="forbid")
    kind: Kind
    resource: str
    account: str
    region: str

    def describe(self) -> str:
        return (
            f"the policy of bucket {self.resource}" if self.kind == "bucket" else f"the policy of queue {self.resource}"
        )


class PolicyStep(BaseModel):
    model_config = ConfigDict(extra="forbid")
    action: Literal["delete-policy", "put-policy"]
    kind: Kind
    resource: str
    account: str
    region: str
    policy_sha256: str | None = None  # put-policy: the corrected policy (canonical JSON)
    policy_bytes: int | None = None

    def describe(self) -> str:
        what = f"{self.kind} {self.resource}"
        if self.action == "delete-policy":
            return f"delete the policy of {what}"
        return f"put the corrected policy ({self.policy_bytes} bytes, sha256 {self.policy_sha256}) on {what}"


def _code(err: Exception) -> str:
    response: Any = getattr(err, "response", {})
    return str(response.get("Error", {}).get("Code", ""))


def _refused(err: Exception, target: PolicyTarget, action: str) -> Exception:
    """An error of the root session, in the tool's terms (or the botocore error itself)."""
    code = _code(err)
    if code in _MISSING_BUCKET | _MISSING_QUEUE:
        return UsageError(
            f"{target.kind} {target.resource} was not found in account {target.account} ({target.region})",
            "check the name and the account (and --region for a bucket)",
        )
    if code in _DENIED:
        return AwsAccessError(f"the root session was not allowed {action} of {target.kind} {target.resource}", SCP_HINT)
    return err


def read_policy(client: S3Client | SQSClient, target: PolicyTarget) -> str | None:
    """The policy's text, or None when there is none."""
    from botocore.exceptions import ClientError

    try:
        if target.kind == "bucket":
            return _bucket_policy(cast("S3Client", client), target.resource)
        return _queue_policy(cast("SQSClient", client), target.resource)
    except ClientError as err:
        raise _refused(err, target, "to read the policy") from err


def _bucket_policy(s3: S3Client, bucket: str) -> str | None:
    from botocore.exceptions import ClientError

    try:
        return s3.get_bucket_policy(Bucket=bucket)["Policy"]
    except ClientError as err:
        if _code(err) in _NO_POLICY:
            return None
        raise


def _queue_policy(sqs: SQSClient, url: str) -> str | None:
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"]).get("Attributes", {})
    return attributes.get("Policy") or None


def plan_unlock(target: PolicyTarget, current: str | None, replacement: str | None) -> list[PolicyStep]:
    """What is left to do, from what the resource holds now: nothing when the policy is already
    gone (delete) or already the corrected one (replace: never deleted, never put twice)."""
    base = {"kind": target.kind, "resource": target.resource, "account": target.account, "region": target.region}
    if replacement is None:
        return [] if current is None else [PolicyStep(action="delete-policy", **base)]
    digest = canonical_sha256(replacement)
    if current is not None and canonical_sha256(current) == digest:
        return []
    return [PolicyStep(action="put-policy", policy_sha256=digest, policy_bytes=len(replacement.encode()), **base)]


def perform_policy_step(client: S3Client | SQSClient, step: PolicyStep, replacement: str | None) -> None:
    from botocore.exceptions import ClientError

    target = PolicyTarget(kind=step.kind, resource=step.resource, account=step.account, region=step.region)
    if step.action == "put-policy" and (replacement is None or canonical_sha256(replacement) != step.policy_sha256):
        raise UsageError("the corrected policy changed since the plan was made", "rerun with the same --replace-with")
    try:
        if step.kind == "bucket":
            _bucket_step(cast("S3Client", client), step, replacement)
        else:
            _queue_step(cast("SQSClient", client), step, replacement)
    except ClientError as err:
        raise _refused(
            err, target, "to delete the policy" if step.action == "delete-policy" else "to put the policy"
        ) from err


def _bucket_step(s3: S3Client, step: PolicyStep, replacement: str | None) -> None:
    if step.action == "delete-policy":
        s3.delete_bucket_policy(Bucket=step.resource)
    else:
        s3.put_bucket_policy(Bucket=step.resource, Policy=replacement or "")


def _queue_step(sqs: SQSClient, step: PolicyStep, replacement: str | None) -> None:
    policy = "" if step.action == "delete-policy" else (replacement or "")
    sqs.set_queue_attributes(QueueUrl=step.resource, Attributes={"Policy": policy})
