"""Is centralized root access ready for a root task? Read-only: the organization, trusted access
for iam.amazonaws.com, the features `iam:ListOrganizationsFeatures` shows on, whether the caller
is the management account or a delegated administrator for IAM, and the target account.

`readiness` is what `check` asks: every prerequisite as data (ok, what is wrong, the fix), never an
error for a missing one."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

from breakglass_aws.aws import aws_errors
from breakglass_aws.errors import ConfigError, GuardRailError, UsageError
from breakglass_aws.parallel import together

if TYPE_CHECKING:
    from mypy_boto3_iam import IAMClient
    from mypy_boto3_organizations import OrganizationsClient

    from breakglass_aws.aws import ClientFactory

__all__ = ["IAM_SERVICE", "OrgFacts", "Prerequisite", "assess", "check_target", "read_facts", "readiness", "require"]

IAM_SERVICE = "iam.amazonaws.com"
FEATURES = ("RootSessions", "RootCredentialsManagement")
# what ListOrganizationsFeatures answers when it cannot tell (its prerequisites are missing)
_FEATURES_UNKNOWN = {
    "ServiceAccessNotEnabledException",
    "OrganizationNotFoundException",
    "OrganizationNotInAllFeaturesModeException",
    "AccountNotManagementOrDelegatedAdministratorException",
}
_ENABLE = {
    "RootSessions": "aws iam enable-organizations-root-sessions",
    "RootCredentialsManagement": "aws iam enable-organizations-root-credentials-management",
}
_WHAT = {
    "RootSessions": "privileged root actions in member accounts (RootSessions)",
    "RootCredentialsManagement": "root credentials management (RootCredentialsManagement)",
}


class Prerequisite(BaseModel):
    """One prerequisite of root-task mode, as `check` reports it."""

    model_config = ConfigDict(extra="forbid")
    name: str  # trusted-access | RootSessions | RootCredentialsManagement | caller
    ok: bool
    detail: str
    fix: str | None = None


@dataclass
class OrgFacts:
    management: str
    caller: str
    trusted: bool
    features: set[str] | None  # None: IAM could not say (trusted access is off, or not allowed)
    delegated: set[str] = field(default_factory=set)  # delegated administrators for iam.amazonaws.com
    target_found: bool | None = None  # DescribeAccount of the target (None: not asked)


def read_facts(org: OrganizationsClient, iam: IAMClient, caller: str, target: str | None = None) -> OrgFacts:
    """Every read in flight together (clients built by the caller, on its thread)."""
    reads: list[Callable[[], Any]] = [
        lambda: org.describe_organization()["Organization"]["MasterAccountId"],
        functools.partial(_trusted, org),
        functools.partial(_features, iam),
        functools.partial(_delegated, org),
    ]
    if target is not None:
        reads.append(functools.partial(_account_exists, org, target))
    with aws_errors():
        found = together(reads)
    return OrgFacts(
        management=str(found[0]),
        caller=caller,
        trusted=found[1],
        features=found[2],
        delegated=found[3],
        target_found=found[4] if target is not None else None,
    )


def _trusted(org: OrganizationsClient) -> bool:
    pages = org.get_paginator("list_aws_service_access_for_organization").paginate()
    return any(s.get("ServicePrincipal") == IAM_SERVICE for page in pages for s in page["EnabledServicePrincipals"])


def _features(iam: IAMClient) -> set[str] | None:
    from botocore.exceptions import ClientError

    try:
        return set(iam.list_organizations_features().get("EnabledFeatures", []))
    except ClientError as err:
        if err.response.get("Error", {}).get("Code") in _FEATURES_UNKNOWN:
            return None
        raise


def _delegated(org: OrganizationsClient) -> set[str]:
    from botocore.exceptions import ClientError

    try:
        pages = org.get_paginator("list_delegated_administrators").paginate(ServicePrincipal=IAM_SERVICE)
        return {str(a["Id"]) for page in pages for a in page["DelegatedAdministrators"]}
    except ClientError as err:  # trusted access off: no delegated administrator can exist
        if err.response.get("Error", {}).get("Code") in ("InvalidInputException", "AccessDeniedException"):
            return set()
        raise


def _account_exists(org: OrganizationsClient, account: str) -> bool:
    from botocore.exceptions import ClientError

    try:
        org.describe_account(AccountId=account)
    except ClientError as err:
        if err.response.get("Error", {}).get("Code") == "AccountNotFoundException":
            return False
        raise
    return True


def assess(facts: OrgFacts, needed: Sequence[str] = FEATURES) -> list[Prerequisite]:
    """Each prerequisite of the `needed` features, ok or with what to enable."""
    found = [
        Prerequisite(
            name="trusted-access",
            ok=facts.trusted,
            detail=f"trusted access for {IAM_SERVICE} is {'on' if facts.trusted else 'off'} in the organization",
            fix=None
            if facts.trusted
            else f"aws organizations enable-aws-service-access --service-principal {IAM_SERVICE}",
        )
    ]
    for feature in needed:
        on = facts.features is not None and feature in facts.features
        state = "on" if on else ("unknown (needs trusted access)" if facts.features is None else "off")
        found.append(
            Prerequisite(
                name=feature, ok=on, detail=f"{_WHAT[feature]} is {state}", fix=None if on else _ENABLE[feature]
            )
        )
    found.append(_caller(facts))
    return found


def _caller(facts: OrgFacts) -> Prerequisite:
    if facts.caller == facts.management:
        return Prerequisite(
            name="caller", ok=True, detail=f"the caller's account {facts.caller} is the management account"
        )
    if facts.caller in facts.delegated:
        return Prerequisite(
            name="caller", ok=True, detail=f"the caller's account {facts.caller} is the delegated administrator for IAM"
        )
    return Prerequisite(
        name="caller",
        ok=False,
        detail=(
            f"the caller's account {facts.caller} is neither the management account {facts.management} "
            f"nor a delegated administrator for {IAM_SERVICE}"
        ),
        fix=(
            "run from the management account, or register a delegated administrator: aws organizations "
            f"register-delegated-administrator --service-principal {IAM_SERVICE} --account-id ID"
        ),
    )


def require(found: list[Prerequisite]) -> None:
    """A ConfigError (exit 5), on one line, naming every missing prerequisite and how to enable it."""
    missing = [p for p in found if not p.ok]
    if not missing:
        return
    raise ConfigError(
        "root-task mode is not ready: " + "; ".join(p.detail for p in missing),
        "enable it from the management account: " + "; ".join(p.fix for p in missing if p.fix),
    )


def check_target(facts: OrgFacts, target: str) -> None:
    """AssumeRoot works on member accounts only: the management account is refused (exit 4), an
    account outside the organization is bad input (exit 2)."""
    if target == facts.management:
        raise GuardRailError(
            f"{target} is the management account: AssumeRoot opens root sessions on member accounts only",
            "sign in to the management account's root user the usual way",
        )
    if facts.target_found is False:
        raise UsageError(
            f"account {target} is not in the organization", "check the id: aws organizations list-accounts"
        )


def readiness(factory: ClientFactory, caller: str) -> list[Prerequisite]:
    """Whether root-task mode is ready (both features), for `check`: never an error for a missing
    prerequisite; a failure to read is raised (translated) for the caller to report."""
    org, iam = factory.client("organizations"), factory.client("iam")
    return assess(read_facts(org, iam, caller))
