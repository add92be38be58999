"""What every part of `check` shares: a finding, a check that fails as a finding rather than ending
the report, and reading another account through its member role (assumed once per account)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from breakglass_aws.aws import aws_errors
from breakglass_aws.errors import AwsAccessError, BreakglassError
from breakglass_aws.runtime import Runtime
from breakglass_aws.scp.lint import Finding

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_iam import IAMClient

__all__ = ["HOME_REGION", "Accounts", "finding", "guarded"]

HOME_REGION = "us-east-1"  # the control plane's rules, IAM's and Organizations' events


def finding(severity: str, check: str, subject: str, message: str, remediation: str) -> Finding:
    return Finding(severity=severity, check=check, subject=subject, message=message, remediation=remediation)


def guarded(
    check: str,
    subject: str,
    run: Callable[[], list[Finding]],
    denied: Callable[[AwsAccessError], Finding] | None = None,
) -> list[Finding]:
    """One check failing (access denied, say) is a finding, never the end of the report. `denied`
    turns an access denial into its own finding (a warning naming what to grant)."""
    try:
        with aws_errors():
            return run()
    except AwsAccessError as err:
        if denied is not None:
            return [denied(err)]
        return [finding("error", check, subject, f"could not check: {err.message}", err.remediation or "")]
    except BreakglassError as err:
        return [finding("error", check, subject, f"could not check: {err.message}", err.remediation or "")]


@dataclass
class Accounts:
    """The caller's own account is read directly; any other through its member role, assumed once."""

    rt: Runtime
    caller: str
    _credentials: dict[str, tuple[str, str, str]] = field(default_factory=dict)

    def member_role(self, account: str) -> str:
        return f"arn:aws:iam::{account}:role/{self.rt.role.member_role_name}"

    def _assumed(self, account: str) -> tuple[str, str, str]:
        if account not in self._credentials:
            with aws_errors():
                answer = self.rt.factory.client("sts").assume_role(
                    RoleArn=self.member_role(account), RoleSessionName="breakglass-check"
                )
            creds = answer["Credentials"]
            self._credentials[account] = (creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])
        return self._credentials[account]

    def iam(self, account: str) -> IAMClient:
        if account == self.caller:
            return self.rt.factory.client("iam")
        return self.rt.factory.client_as("iam", *self._assumed(account))

    def events(self, account: str, region: str) -> EventBridgeClient:
        if account == self.caller:
            return self.rt.factory.client("events", region)
        client: Any = self.rt.factory.client_as("events", *self._assumed(account), region=region)  # type: ignore[call-overload]
        events: EventBridgeClient = client
        return events
