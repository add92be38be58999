"""Does an SCP or RCP exempt the break-glass role? Every Deny statement that would apply to the
role must exempt it by principal ARN or principal tag; a statement too complex to judge is said
to be so, never guessed."""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ConfigDict

__all__ = ["Finding", "lint_policy"]

ARN_KEYS = {"aws:principalarn"}
EXEMPT_OPERATORS = {"arnnotlike", "arnnotequals", "stringnotlike", "stringnotequals"}
SCOPE_OPERATORS = {"arnlike", "arnequals", "stringlike", "stringequals"}
TAG_PREFIX = "aws:principaltag/"


class Finding(BaseModel):
    model_config = ConfigDict(extra="forbid")
    severity: str  # error | warning | info
    check: str
    subject: str
    message: str
    remediation: str


def _values(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _matcher(op: str) -> Callable[[str, str], bool]:
    return fnmatch.fnmatchcase if "like" in op else (lambda a, b: a == b)


def _is_true(value: Any) -> bool:
    return all(str(v).lower() == "true" for v in (value if isinstance(value, list) else [value]))


def _exempts_role(condition: dict[str, Any], role_arn: str) -> str | None:
    """How the condition exempts the role: "arn" (by its ARN, or the Deny is scoped to other
    principals), "tag", "complex" (a multivalued set operator on the principal: not judged), or None."""
    how = None
    for operator, pairs in condition.items():
        if not isinstance(pairs, dict):
            continue
        lowered = operator.lower()
        if ":" in lowered and any(k.lower() in ARN_KEYS or k.lower().startswith(TAG_PREFIX) for k in pairs):
            return "complex"  # ForAnyValue: / ForAllValues: on a single-valued key: judge by hand
        op = lowered.removesuffix("ifexists")
        for key, value in pairs.items():
            name = key.lower()
            if name in ARN_KEYS and op in EXEMPT_OPERATORS | SCOPE_OPERATORS:
                matches = any(_matcher(op)(role_arn, p) for p in _values(value))
                # exempted by ARN, or the Deny applies only to other principals
                if matches == (op in EXEMPT_OPERATORS):
                    return "arn"
            if name.startswith(TAG_PREFIX) and (op in EXEMPT_OPERATORS or (op == "null" and _is_true(value))):
                how = "tag"
    return how


def _statements(content: str) -> list[dict[str, Any]] | None:
    try:
        document = json.loads(content)
    except json.JSONDecodeError:
        return None
    found = document.get("Statement", []) if isinstance(document, dict) else None
    if isinstance(found, dict):
        found = [found]
    return [s for s in found if isinstance(s, dict)] if isinstance(found, list) else None


def lint_policy(policy_id: str, name: str, content: str, attached_to: str, role_arn: str) -> list[Finding]:
    subject = f"{policy_id} ({name}) on {attached_to}"
    statements = _statements(content)
    if statements is None:
        return [
            Finding(
                severity="warning",
                check="scp-exemption",
                subject=subject,
                message="policy document could not be parsed: cannot judge",
                remediation="review the policy by hand",
            )
        ]
    findings = []
    for index, statement in enumerate(statements):
        if statement.get("Effect") != "Deny":
            continue
        label = statement.get("Sid") or f"statement {index + 1}"
        finding = _judge(statement, label, subject, role_arn)
        if finding is not None:
            findings.append(finding)
    return findings


def _denies_nothing(statement: dict[str, Any]) -> bool:
    """NotAction "*" or NotResource "*": the statement matches no request."""
    return any(key in statement and "*" in _values(statement[key]) for key in ("NotAction", "NotResource"))


def _fix(role_arn: str) -> str:
    account_wildcard = role_arn.rsplit(":", 1)[0].rsplit(":", 1)[0] + ":*:role/" + role_arn.rsplit("/", 1)[-1]
    return 'add Condition ArnNotLike {"aws:PrincipalARN": "' + account_wildcard + '"}'


def _judge(statement: dict[str, Any], label: str, subject: str, role_arn: str) -> Finding | None:
    if _denies_nothing(statement):
        return None
    condition = statement.get("Condition") or {}
    how = _exempts_role(condition, role_arn) if isinstance(condition, dict) else None
    if how == "arn":
        return None
    if how == "tag":
        return Finding(
            severity="info",
            check="scp-exemption",
            subject=subject,
            message=f"{label} exempts principals by tag",
            remediation="make sure the break-glass role carries that principal tag",
        )
    fix = _fix(role_arn)
    keys = sorted({k for pairs in condition.values() if isinstance(pairs, dict) for k in pairs}) if condition else []
    if how == "complex":
        return Finding(
            severity="warning",
            check="scp-exemption",
            subject=subject,
            message=f"{label} uses a ForAnyValue/ForAllValues operator on {', '.join(keys)}: "
            "too complex to judge whether it exempts the break-glass role",
            remediation="review it by hand, or use " + fix.removeprefix("add "),
        )
    if keys and any(k.lower() not in ARN_KEYS for k in keys):
        return Finding(
            severity="warning",
            check="scp-exemption",
            subject=subject,
            message=f"{label} is a conditional Deny ({', '.join(keys)}) without the break-glass "
            "exemption: too complex to judge whether it blocks the role",
            remediation=fix,
        )
    what = (
        "everything except " + ", ".join(_values(statement["NotAction"]))
        if "NotAction" in statement
        else ", ".join(_values(statement.get("Action", "*")))
    )
    if "NotResource" in statement:
        what += " on every resource except " + ", ".join(_values(statement["NotResource"]))
    return Finding(
        severity="error",
        check="scp-exemption",
        subject=subject,
        message=f"{label} denies {what} to the break-glass role too",
        remediation=fix,
    )
