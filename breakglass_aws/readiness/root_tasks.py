"""`check`: is root-task mode ready (trusted access, the two IAM features, the caller), and which
SCPs or RCPs on the path to each member account would still refuse the root session its task?

Root-task mode is opt-in: its readiness is reported beside the findings, not as one, and the
policies on the path are judged only once it is ready. A Deny that covers a task's actions is judged
for the principal `arn:aws:iam::ACCOUNT:root` the way `scp.lint` judges one for the break-glass
role, except that a condition sparing centralized root sessions spares it: `Null
{"aws:AssumedRoot": "true"}` (AWS's own "deny the root user" example) or `aws:AssumedRoot` false.
The plain "deny the root user" guardrail (ArnLike aws:PrincipalArn arn:aws:iam::*:root) does not,
and is what this check exists to find. At most a warning: the task is refused only when tried."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from breakglass_aws.aws import aws_errors
from breakglass_aws.errors import BreakglassError
from breakglass_aws.readiness.common import finding
from breakglass_aws.readiness.org import attached, path
from breakglass_aws.role.trust import grants
from breakglass_aws.root.prereq import Prerequisite, readiness
from breakglass_aws.runtime import Runtime
from breakglass_aws.scp.lint import Finding, lint_policy

if TYPE_CHECKING:
    from mypy_boto3_organizations import OrganizationsClient

__all__ = ["ROOT_TASK_ACTIONS", "RootTaskStatus", "check_root_denials", "root_task_status"]

CHECK = "root-task"
# What the root session does for each task (the task policies allow these; a Deny still wins).
ROOT_TASK_ACTIONS = {
    "s3:deletebucketpolicy": "unlock-bucket",
    "s3:putbucketpolicy": "unlock-bucket",
    "sqs:setqueueattributes": "unlock-queue",
    "iam:deleteloginprofile": "delete-credentials",
    "iam:deleteaccesskey": "delete-credentials",
}


class RootTaskStatus(BaseModel):
    """Whether root-task mode is ready (None: it could not be told), and what is missing."""

    model_config = ConfigDict(extra="forbid")
    ready: bool | None
    missing: list[Prerequisite] = Field(default_factory=list)
    detail: str = ""

    def lines(self) -> list[str]:
        if self.ready:
            return ["root-task mode: ready (breakglass root ...)"]
        if self.ready is None:
            return [f"root-task mode: could not tell ({self.detail})"]
        lines = ["root-task mode: not ready (opt-in; needed for breakglass root ...):"]
        return lines + [f"  {p.detail}" + (f": {p.fix}" if p.fix else "") for p in self.missing]


def root_task_status(rt: Runtime, caller: str) -> RootTaskStatus:
    """Read-only, and never the end of a report: a read that fails says it could not tell."""
    try:
        with aws_errors():
            found = readiness(rt.factory, caller)
    except BreakglassError as err:
        return RootTaskStatus(ready=None, detail=err.message)
    except Exception as err:  # an endpoint without these APIs (an emulator): the report goes on
        return RootTaskStatus(ready=None, detail=f"{type(err).__name__}: {str(err)[:200]}")
    missing = [p for p in found if not p.ok]
    return RootTaskStatus(ready=not missing, missing=missing)


def _statements(content: str) -> list[dict[str, Any]]:
    try:
        document = json.loads(content)
    except json.JSONDecodeError:
        return []
    found = document.get("Statement", []) if isinstance(document, dict) else []
    found = [found] if isinstance(found, dict) else found
    return [s for s in found if isinstance(s, dict) and s.get("Effect") == "Deny"]


def _denied(statement: dict[str, Any]) -> list[str]:
    """The root-task actions the statement covers (on any resource: a bucket or queue of the account)."""
    if "*" in ([statement["NotResource"]] if isinstance(statement.get("NotResource"), str) else []):
        return []
    return [action for action in ROOT_TASK_ACTIONS if grants(statement, action)]


def _spares_root_sessions(statement: dict[str, Any]) -> bool:
    """The Deny applies only when aws:AssumedRoot is absent, or false: never to an AssumeRoot session."""
    condition = statement.get("Condition")
    for operator, pairs in condition.items() if isinstance(condition, dict) else []:
        for key, value in pairs.items() if isinstance(pairs, dict) else []:
            if key.lower() != "aws:assumedroot":
                continue
            wanted = {str(v).lower() for v in (value if isinstance(value, list) else [value])}
            op = operator.lower()
            if (op == "null" and wanted == {"true"}) or (op.startswith("bool") and wanted == {"false"}):
                return True
    return False


def _judged(statement: dict[str, Any], root_arn: str) -> str | None:
    if _spares_root_sessions(statement):
        return None
    judged = lint_policy("p", "", json.dumps({"Statement": [statement]}), "t", root_arn)
    return judged[0].severity if judged else None


def _policies(org: OrganizationsClient, account: str) -> Iterator[tuple[str, str]]:
    for target in path(org, account):
        for policy in attached(org, target, ("SERVICE_CONTROL_POLICY", "RESOURCE_CONTROL_POLICY")):
            if not policy.get("AwsManaged"):
                yield target, policy["Id"]


def check_root_denials(org: OrganizationsClient, account: str, contents: dict[str, tuple[str, str]]) -> list[Finding]:
    """Each SCP or RCP statement on the account's path that would refuse the root session a task.
    `contents`: policy id -> (name, document), shared between accounts."""
    root_arn = f"arn:aws:iam::{account}:root"
    found = []
    for target, policy_id in _policies(org, account):
        if policy_id not in contents:
            described = org.describe_policy(PolicyId=policy_id)["Policy"]
            contents[policy_id] = (described["PolicySummary"].get("Name", ""), described.get("Content", ""))
        name, content = contents[policy_id]
        for index, statement in enumerate(_statements(content)):
            actions = _denied(statement)
            if not actions or _judged(statement, root_arn) is None:
                continue
            label = statement.get("Sid") or f"statement {index + 1}"
            tasks = sorted({ROOT_TASK_ACTIONS[a] for a in actions})
            found.append(
                finding(
                    "warning",
                    CHECK,
                    f"{policy_id} ({name}) on {target}",
                    f"{label} denies the root session of {account} {', '.join(actions)}: "
                    f"breakglass root {' / '.join(tasks)} there would be refused",
                    f'add Condition Null {{"aws:AssumedRoot": "true"}} to {label} (it then spares AssumeRoot '
                    "sessions only), or detach it for the task (scp detach --policy / --rcp)",
                )
            )
    return found
