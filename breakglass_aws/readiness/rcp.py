"""`check`: do the resource control policies on the path to the security account let each
break-glass user do what breaking the glass takes: sts:AssumeRole of the break-glass role, and
secretsmanager:GetSecretValue on its own secret with kms:Decrypt of the secret's key?

A Deny statement is judged as follows (deliberately simple):
- it concerns an access when its Action (or NotAction) covers the action and its Resource (or
  NotResource) names the resource: the role's ARN in the checked accounts, the user's secret ARN,
  or, for kms:Decrypt, any key of the account;
- it spares the user when a condition can never hold for it: StringNotEquals[IfExists] on
  aws:PrincipalOrgID naming the organization or aws:PrincipalAccount naming the account (the usual
  data perimeter), or Bool[IfExists] aws:SecureTransport false (the CLI always uses TLS);
- otherwise the conditions on the principal are judged as `scp.lint` judges them for the role, with
  the user's ARN: an ArnNotLike/StringNotEquals aws:PrincipalArn exemption that names the user
  spares it; a principal-tag exemption is an info; any other condition is "too complex to judge".
RCPs do not apply to resources in the management account: a denial there is a warning, in force
only once the secrets move to a member account (sts:AssumeRole of roles below an OU or the root
still is)."""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from breakglass_aws.readiness.common import finding
from breakglass_aws.readiness.org import Organization, attached, path
from breakglass_aws.role.trust import condition_values, grants
from breakglass_aws.runtime import Runtime
from breakglass_aws.scp.lint import Finding, lint_policy

if TYPE_CHECKING:
    from mypy_boto3_organizations import OrganizationsClient

__all__ = ["Access", "RcpScope", "check_rcps", "denied_accesses"]

CHECK = "rcp"
ASSUME = "sts:AssumeRole"


@dataclass(frozen=True)
class Access:
    """One thing a break-glass user must be able to do."""

    user: str
    user_arn: str
    action: str
    what: str
    resources: tuple[str, ...] = ()
    account: str = ""  # with no resources: any KMS key of this account

    def named_by(self, pattern: str) -> bool:
        if self.resources:
            return any(fnmatch.fnmatchcase(r, pattern) for r in self.resources)
        parts = pattern.split(":", 5)
        return pattern == "*" or (
            len(parts) == 6 and fnmatch.fnmatchcase("kms", parts[2]) and fnmatch.fnmatchcase(self.account, parts[4])
        )


@dataclass(frozen=True)
class RcpScope:
    account: str  # the security account: the caller's
    organization: Organization | None
    role_accounts: tuple[str, ...]  # where the break-glass role is assumed


def _values(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _concerns(statement: dict[str, Any], access: Access) -> bool:
    if not grants(statement, access.action.lower()):
        return False
    if "Resource" in statement:
        return any(access.named_by(p) for p in _values(statement["Resource"]))
    if "NotResource" in statement:
        return not any(access.named_by(p) for p in _values(statement["NotResource"]))
    return True


def _spares_insiders(statement: dict[str, Any], scope: RcpScope) -> bool:
    """A condition that never holds for a principal of this organization and account over TLS."""
    ours = {"aws:principalaccount": scope.account.lower()}
    if scope.organization is not None:
        ours["aws:principalorgid"] = scope.organization.org_id.lower()
    for operator in ("stringnotequals", "stringnotequalsifexists", "stringnotlike", "stringnotlikeifexists"):
        for key, value in ours.items():
            if any(fnmatch.fnmatchcase(value, p) for p in condition_values(statement, operator, key) or []):
                return True
    return any(condition_values(statement, op, "aws:securetransport") == ["false"] for op in ("bool", "boolifexists"))


def _verdict(statement: dict[str, Any], user_arn: str) -> str | None:
    """How scp.lint judges the statement for this principal: error, warning, info, or None (spared)."""
    judged = lint_policy("p", "", json.dumps({"Statement": [statement]}), "t", user_arn)
    return judged[0].severity if judged else None


def _message(severity: str, label: str, access: list[Access], statement: dict[str, Any]) -> str:
    user, what = access[0].user, ", ".join(a.what for a in access)
    if severity == "info":
        return f"{label} exempts principals by tag: make sure the break-glass user {user} carries it"
    if severity == "warning":
        condition = statement.get("Condition")
        pairs = condition.values() if isinstance(condition, dict) else []
        keys = sorted({str(k) for pair in pairs if isinstance(pair, dict) for k in pair})
        return (
            f"{label} may deny the break-glass user {user} {what}: a conditional Deny ({', '.join(keys)}) "
            "without an exemption for it, too complex to judge"
        )
    return f"{label} denies the break-glass user {user} {what}"


DORMANT = " (not in force while the resource sits in the management account: RCPs do not apply there)"


@dataclass(frozen=True)
class _Where:
    """The policy being judged: the finding's subject, and which actions it cannot block today."""

    subject: str
    dormant: frozenset[str]


def _user_findings(statement: dict[str, Any], label: str, where: _Where, mine: list[Access]) -> list[Finding]:
    """What one statement denies one user: a finding for the accesses in force, one for the dormant."""
    severity = _verdict(statement, mine[0].user_arn)
    if severity is None:
        return []
    fix = f'add Condition ArnNotLike {{"aws:PrincipalArn": "{mine[0].user_arn}"}} to {label}'
    found = []
    for dormant in (False, True):
        group = [a for a in mine if (a.action in where.dormant) == dormant]
        if group:
            message = _message(severity, label, group, statement) + (DORMANT if dormant else "")
            shown = "warning" if dormant and severity == "error" else severity
            found.append(finding(shown, CHECK, where.subject, message, fix))
    return found


def _statement_findings(statement: dict[str, Any], label: str, where: _Where, accesses: list[Access]) -> list[Finding]:
    found = []
    for user in dict.fromkeys(a.user for a in accesses):
        mine = [a for a in accesses if a.user == user and _concerns(statement, a)]
        found += _user_findings(statement, label, where, mine) if mine else []
    return found


def _statements(content: str) -> list[dict[str, Any]] | None:
    try:
        document = json.loads(content)
    except json.JSONDecodeError:
        return None
    found = document.get("Statement", []) if isinstance(document, dict) else None
    found = [found] if isinstance(found, dict) else found
    return [s if isinstance(s, dict) else {} for s in found] if isinstance(found, list) else None


def _policy_findings(content: str, where: _Where, scope: RcpScope, accesses: list[Access]) -> list[Finding]:
    statements = _statements(content)
    if statements is None:
        return [
            finding(
                "warning",
                CHECK,
                where.subject,
                "policy document could not be parsed: cannot judge",
                "review the policy by hand",
            )
        ]
    found: list[Finding] = []
    for index, statement in enumerate(statements):
        if statement.get("Effect") == "Deny" and not _spares_insiders(statement, scope):
            label = str(statement.get("Sid") or f"statement {index + 1}")
            found += _statement_findings(statement, label, where, accesses)
    return found


def _user_arn(rt: Runtime, user: str, account: str) -> str:
    iam = rt.factory.client("iam")
    try:
        return str(iam.get_user(UserName=user)["User"]["Arn"])
    except iam.exceptions.NoSuchEntityException:
        return f"arn:aws:iam::{account}:user/{user}"


def _secret_arn(rt: Runtime, user: str, account: str) -> str:
    sm, secret_id = rt.factory.client("secretsmanager"), rt.rotation.secret_for(user)
    try:
        return str(sm.describe_secret(SecretId=secret_id)["ARN"])
    except sm.exceptions.ResourceNotFoundException:
        return f"arn:aws:secretsmanager:{rt.factory.region_name()}:{account}:secret:{secret_id}"


def accesses_of(rt: Runtime, scope: RcpScope, users: list[str]) -> Iterator[Access]:
    role = rt.role.role_name
    roles = tuple(f"arn:aws:iam::{a}:role/{role}" for a in dict.fromkeys((scope.account, *scope.role_accounts)))
    for user in users:
        arn = _user_arn(rt, user, scope.account)
        secret = rt.rotation.secret_for(user)
        yield Access(user, arn, ASSUME, f"{ASSUME} of {role}", roles)
        yield Access(
            user,
            arn,
            "secretsmanager:GetSecretValue",
            f"secretsmanager:GetSecretValue on {secret}",
            (_secret_arn(rt, user, scope.account),),
        )
        yield Access(user, arn, "kms:Decrypt", "kms:Decrypt of its KMS key", account=scope.account)


def _dormant(scope: RcpScope, target: str) -> frozenset[str]:
    """The actions an RCP on `target` cannot block today: none, unless the security account is the
    management account (then its secret and key; the role too when the RCP is on that account)."""
    if scope.organization is None or scope.organization.management != scope.account:
        return frozenset()
    resources = {"secretsmanager:GetSecretValue", "kms:Decrypt"}
    return frozenset(resources | {ASSUME} if target == scope.account else resources)


def denied_accesses(org: OrganizationsClient, scope: RcpScope, accesses: list[Access]) -> list[Finding]:
    found: list[Finding] = []
    for target in path(org, scope.account):
        for policy in attached(org, target, ("RESOURCE_CONTROL_POLICY",)):
            if policy.get("AwsManaged") or policy["Id"] == "p-RCPFullAWSAccess":
                continue
            content = org.describe_policy(PolicyId=policy["Id"])["Policy"]["Content"]
            where = _Where(f"{policy['Id']} ({policy.get('Name', '')}) on {target}", _dormant(scope, target))
            found += _policy_findings(content, where, scope, accesses)
    return found


def check_rcps(rt: Runtime, scope: RcpScope, users: list[str]) -> list[Finding]:
    if not users:
        return []
    return denied_accesses(rt.factory.client("organizations"), scope, list(accesses_of(rt, scope, users)))
