"""What a role's trust policy and settings (an IAM GetRole answer) say about assuming it: the
statements that grant sts:AssumeRole, whether each requires MFA, and the longest session."""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "RoleFacts",
    "condition_values",
    "facts_of",
    "grants",
    "mfa_gap",
    "trust_statements",
]


@dataclass(frozen=True)
class RoleFacts:
    """The two facts `role assume` checks before AssumeRole, read from GetRole."""

    requires_mfa: bool
    max_session_seconds: int


def trust_statements(role: Mapping[str, Any]) -> list[dict[str, Any]]:
    document = role.get("AssumeRolePolicyDocument") or {}
    if isinstance(document, str):
        from urllib.parse import unquote

        document = json.loads(unquote(document))
    statements = document.get("Statement", [])
    return [statements] if isinstance(statements, dict) else list(statements)


def grants(statement: dict[str, Any], action: str) -> bool:
    """Does this statement grant the action (Action patterns, or NotAction not matching)?"""
    if "NotAction" in statement:
        value = statement["NotAction"]
        patterns = [value] if isinstance(value, str) else list(value)
        return not any(fnmatch.fnmatchcase(action, str(p).lower()) for p in patterns)
    value = statement.get("Action", [])
    patterns = [value] if isinstance(value, str) else list(value)
    return any(fnmatch.fnmatchcase(action, str(p).lower()) for p in patterns)


def condition_values(statement: dict[str, Any], operator: str, key: str) -> list[str] | None:
    condition = statement.get("Condition") or {}
    for op, pairs in condition.items() if isinstance(condition, dict) else []:
        if op.lower() != operator or not isinstance(pairs, dict):
            continue
        for name, value in pairs.items():
            if name.lower() == key:
                return [str(v).lower() for v in (value if isinstance(value, list) else [value])]
    return None


def mfa_gap(statement: dict[str, Any]) -> str | None:
    """None when the statement requires MFA, else why not."""
    present = condition_values(statement, "bool", "aws:multifactorauthpresent")
    if present is not None:
        return None if present and all(v == "true" for v in present) else "accepts aws:MultiFactorAuthPresent false"
    if condition_values(statement, "boolifexists", "aws:multifactorauthpresent") is not None:
        return "uses BoolIfExists, which also admits requests without MFA (long-term access keys)"
    for operator in ("numericlessthan", "numericlessthanequals"):
        if condition_values(statement, operator, "aws:multifactorauthage") is not None:
            return None
    return "has no MFA condition"


def assume_statements(role: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [s for s in trust_statements(role) if s.get("Effect") == "Allow" and grants(s, "sts:assumerole")]


def facts_of(role: Mapping[str, Any]) -> RoleFacts:
    """The role requires MFA when every Allow of sts:AssumeRole does (then no request without an
    MFA code can succeed)."""
    allows = assume_statements(role)
    requires = bool(allows) and all(mfa_gap(s) is None for s in allows)
    return RoleFacts(requires_mfa=requires, max_session_seconds=int(role.get("MaxSessionDuration", 3600)))
