"""AssumeRoot on a regional STS endpoint, and clients that act with the root session. The
credentials are returned as SecretStr and never leave memory: the caller journals only the
access key id and the expiry."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal, cast

from pydantic import BaseModel, ConfigDict

from breakglass_aws.errors import AwsAccessError, UsageError
from breakglass_aws.role.assume import Credentials
from breakglass_aws.root.tasks import SESSION_SECONDS, policy_name
from breakglass_aws.validate import validate_region

if TYPE_CHECKING:
    from mypy_boto3_iam import IAMClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sts import STSClient

    from breakglass_aws.aws import ClientFactory

__all__ = ["RootAssumeStep", "assume_root", "iam_as_root", "root_client", "s3_as_root", "sqs_as_root", "sts_for"]

SCP_HINT = (
    "an SCP or RCP on the account or its OUs may deny the root session; "
    "check the policies on its path (breakglass check), and that root sessions are enabled"
)


class RootAssumeStep(BaseModel):
    """sts:AssumeRoot: a root session on `account`, scoped by the task policy, for at most 900 s,
    asked of the STS endpoint of `region` (never the global one)."""

    model_config = ConfigDict(extra="forbid")
    action: Literal["assume-root"] = "assume-root"
    account: str
    task_policy_arn: str
    duration_seconds: int = SESSION_SECONDS
    region: str

    def describe(self) -> str:
        return (
            f"sts:AssumeRoot on {self.account} with {policy_name(self.task_policy_arn)} "
            f"for {self.duration_seconds}s (STS {self.region})"
        )


def sts_for(factory: ClientFactory, region: str) -> STSClient:
    """The regional STS endpoint of `region` (the factory's STS clients are regional)."""
    validate_region(region)
    return factory.client("sts", region)


def assume_root(sts: STSClient, step: RootAssumeStep) -> Credentials:
    from botocore.exceptions import ClientError

    if not 0 < step.duration_seconds <= SESSION_SECONDS:
        raise UsageError(f"a root session lasts at most {SESSION_SECONDS}s", "ask for 900 seconds or less")
    try:
        answer = sts.assume_root(
            TargetPrincipal=step.account,
            TaskPolicyArn={"arn": step.task_policy_arn},
            DurationSeconds=step.duration_seconds,
        )
    except ClientError as err:
        code = err.response.get("Error", {}).get("Code")
        if code in ("AccessDenied", "AccessDeniedException"):
            raise AwsAccessError(
                f"sts:AssumeRoot on {step.account} with {policy_name(step.task_policy_arn)} was refused",
                f"grant sts:AssumeRoot to the caller; {SCP_HINT}",
            ) from err
        raise
    creds = answer["Credentials"]
    return Credentials(
        access_key_id=creds["AccessKeyId"],
        secret_access_key=creds["SecretAccessKey"],
        session_token=creds["SessionToken"],
        expiration=creds["Expiration"],
    )


def root_client(factory: ClientFactory, service: Literal["s3", "sqs", "iam"], creds: Credentials, region: str) -> Any:
    """A client acting as the root session (S3, SQS or IAM of the member account)."""
    return factory.client_as(
        cast(Any, service),
        creds.access_key_id,
        creds.secret_access_key.get_secret_value(),
        creds.session_token.get_secret_value(),
        region,
    )


def s3_as_root(factory: ClientFactory, creds: Credentials, region: str) -> S3Client:
    client: S3Client = root_client(factory, "s3", creds, region)
    return client


def sqs_as_root(factory: ClientFactory, creds: Credentials, region: str) -> SQSClient:
    client: SQSClient = root_client(factory, "sqs", creds, region)
    return client


def iam_as_root(factory: ClientFactory, creds: Credentials, region: str) -> IAMClient:
    client: IAMClient = root_client(factory, "iam", creds, region)
    return client
