"""The break-glass events: every kind of use of the glass, or of blinding its alarm, that must raise
an alert. One declared list serves both sides: `watch` reads CloudTrail for these events, and the
Terraform modules build their EventBridge rules from the same list (written to
`terraform/modules/alert-patterns/events.json` by `python -m breakglass_aws.watch.coverage`; a test
proves the file, the module's rendering and this module's `patterns` agree).

Each kind names what its events concern (the break-glass role, users, secrets, the alert rules...),
which becomes the detail filter of the EventBridge pattern. `regional` kinds can be recorded in any
region (regional STS endpoints, Secrets Manager, CloudTrail, EventBridge, SNS, sign-in); the others
(IAM, Organizations) are recorded in us-east-1 only. `read_only` kinds are read-only management
events: an EventBridge rule sees them only in the state ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = [
    "API_CALL",
    "COVERAGE",
    "EventKind",
    "Names",
    "applies",
    "concerns",
    "coverage_document",
    "kind_of",
    "pattern",
    "patterns",
    "rule_state",
]

API_CALL = "AWS API Call via CloudTrail"
SIGN_IN = "AWS Console Sign In via CloudTrail"
ENABLED = "ENABLED"
ENABLED_ALL = "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS"
# What an event concerns -> whether the filter needs break-glass users (no users: no such rule).
CONCERNS = {
    "any": False,
    "role-arn": False,
    "role-name": False,
    "user-name": True,
    "mfa-serial": True,
    "user-identity": True,
    "root-identity": False,
    "secret": False,
    "alert-rule-name": False,
    "alert-rule": False,
    "topic-subscription": False,
}


@dataclass(frozen=True)
class EventKind:
    kind: str
    description: str
    source: str
    event_source: str
    event_names: tuple[str, ...]
    concerns: str
    regional: bool
    read_only: bool = False
    detail_type: str = API_CALL

    def document(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "description": self.description,
            "source": self.source,
            "detail_type": self.detail_type,
            "event_source": self.event_source,
            "event_names": list(self.event_names),
            "concerns": self.concerns,
            "regional": self.regional,
            "read_only": self.read_only,
        }


def _kind(kind: str, description: str, service: str, names: tuple[str, ...], concerns: str, **more: Any) -> EventKind:
    source, event_source = f"aws.{service}", f"{service}.amazonaws.com"
    return EventKind(kind, description, source, event_source, names, concerns, **more)


COVERAGE: tuple[EventKind, ...] = (
    _kind("assume-role", "AssumeRole of the break-glass role", "sts", ("AssumeRole",), "role-arn", regional=True),
    _kind(
        "assume-root", "AssumeRoot: a root session on a member account", "sts", ("AssumeRoot",), "any", regional=True
    ),
    _kind(
        "console-login",
        "Console sign-in of a break-glass user",
        "signin",
        ("ConsoleLogin",),
        "user-identity",
        regional=True,
        detail_type=SIGN_IN,
    ),
    _kind(
        "root-console-login",
        "Console sign-in as an account's root user",
        "signin",
        ("ConsoleLogin",),
        "root-identity",
        regional=True,
        detail_type=SIGN_IN,
    ),
    _kind(
        "user-credentials",
        "Access key, console password or MFA change on a break-glass user",
        "iam",
        (
            "CreateAccessKey",
            "UpdateAccessKey",
            "CreateLoginProfile",
            "UpdateLoginProfile",
            "DeactivateMFADevice",
            "EnableMFADevice",
        ),
        "user-name",
        regional=False,
    ),
    _kind(
        "user-mfa-deleted",
        "Virtual MFA device of a break-glass user deleted",
        "iam",
        ("DeleteVirtualMFADevice",),
        "mfa-serial",
        regional=False,
    ),
    _kind(
        "role-changed",
        "Trust or permissions of the break-glass role changed",
        "iam",
        (
            "UpdateAssumeRolePolicy",
            "PutRolePolicy",
            "DeleteRolePolicy",
            "AttachRolePolicy",
            "DetachRolePolicy",
            "PutRolePermissionsBoundary",
        ),
        "role-name",
        regional=False,
    ),
    _kind(
        "secret-read",
        "A break-glass secret read (the vault opened)",
        "secretsmanager",
        ("GetSecretValue",),
        "secret",
        regional=True,
        read_only=True,
    ),
    _kind(
        "trail-changed",
        "CloudTrail logging stopped, a trail deleted or its selection changed",
        "cloudtrail",
        ("StopLogging", "DeleteTrail", "UpdateTrail", "PutEventSelectors"),
        "any",
        regional=True,
    ),
    _kind(
        "alert-rule-changed",
        "A break-glass alert rule disabled, deleted or rewritten",
        "events",
        ("DisableRule", "DeleteRule", "PutRule"),
        "alert-rule-name",
        regional=True,
    ),
    _kind(
        "alert-target-removed",
        "A target removed from a break-glass alert rule",
        "events",
        ("RemoveTargets",),
        "alert-rule",
        regional=True,
    ),
    _kind(
        "topic-unsubscribed",
        "A subscription to the break-glass topic removed",
        "sns",
        ("Unsubscribe",),
        "topic-subscription",
        regional=True,
    ),
    _kind(
        "scp-change",
        "Organizations policy (SCP, RCP) attached, detached or edited",
        "organizations",
        ("AttachPolicy", "DetachPolicy", "UpdatePolicy"),
        "any",
        regional=False,
    ),
)


@dataclass(frozen=True)
class Names:
    """The deployment's names the filters point at (the same variables the Terraform modules take)."""

    role_name: str
    user_names: tuple[str, ...] = ()
    secret_prefix: str = "breakglass/"  # noqa: S105 - a name prefix
    rule_prefix: str = "breakglass"
    topic_name: str = "breakglass-notifications"


def _filter(concerns: str, names: Names) -> dict[str, Any]:
    """The `detail` filter of one concern (beside eventSource and eventName)."""
    users = list(names.user_names)
    filters: dict[str, dict[str, Any]] = {
        "any": {},
        "role-arn": {"requestParameters": {"roleArn": [{"suffix": f":role/{names.role_name}"}]}},
        "role-name": {"requestParameters": {"roleName": [names.role_name]}},
        "user-name": {"requestParameters": {"userName": users}},
        "mfa-serial": {"requestParameters": {"serialNumber": [{"suffix": f":mfa/{u}"} for u in users]}},
        "user-identity": {"userIdentity": {"type": ["IAMUser"], "userName": users}},
        "root-identity": {"userIdentity": {"type": ["Root"]}},
        "secret": {
            "requestParameters": {
                "secretId": [
                    {"prefix": names.secret_prefix},
                    {"wildcard": f"arn:aws:secretsmanager:*:*:secret:{names.secret_prefix}*"},
                ]
            }
        },
        "alert-rule-name": {"requestParameters": {"name": [{"prefix": names.rule_prefix}]}},
        "alert-rule": {"requestParameters": {"rule": [{"prefix": names.rule_prefix}]}},
        "topic-subscription": {
            "requestParameters": {"subscriptionArn": [{"wildcard": f"arn:aws:sns:*:*:{names.topic_name}:*"}]}
        },
    }
    return filters[concerns]


def _param(record: dict[str, Any], key: str) -> str:
    value = (record.get("requestParameters") or {}).get(key)
    return str(value) if value is not None else ""


def _secret(secret_id: str, prefix: str) -> bool:
    return secret_id.startswith(prefix) or (
        secret_id.startswith("arn:aws:secretsmanager:") and f":secret:{prefix}" in secret_id
    )


def concerns(kind: EventKind, record: dict[str, Any], names: Names) -> bool:
    """Whether a CloudTrail record is about what `kind` watches: the same test as its pattern's filter."""
    identity = record.get("userIdentity") or {}
    tests: dict[str, Callable[[], bool]] = {
        "any": lambda: True,
        "role-arn": lambda: _param(record, "roleArn").endswith(f":role/{names.role_name}"),
        "role-name": lambda: _param(record, "roleName") == names.role_name,
        "user-name": lambda: _param(record, "userName") in names.user_names,
        "mfa-serial": lambda: any(_param(record, "serialNumber").endswith(f":mfa/{u}") for u in names.user_names),
        "user-identity": lambda: identity.get("type") == "IAMUser" and identity.get("userName") in names.user_names,
        "root-identity": lambda: identity.get("type") == "Root",
        "secret": lambda: _secret(_param(record, "secretId"), names.secret_prefix),
        "alert-rule-name": lambda: _param(record, "name").startswith(names.rule_prefix),
        "alert-rule": lambda: _param(record, "rule").startswith(names.rule_prefix),
        "topic-subscription": lambda: f":{names.topic_name}:" in _param(record, "subscriptionArn"),
    }
    return tests[kind.concerns]()


def applies(kind: EventKind, names: Names) -> bool:
    """A kind about break-glass users has no rule when there are none (EventBridge refuses `[]`)."""
    return bool(names.user_names) or not CONCERNS[kind.concerns]


def pattern(kind: EventKind, names: Names) -> dict[str, Any]:
    """The EventBridge event pattern of one kind."""
    detail = {"eventSource": [kind.event_source], "eventName": list(kind.event_names), **_filter(kind.concerns, names)}
    return {"source": [kind.source], "detail-type": [kind.detail_type], "detail": detail}


def rule_state(kind: EventKind) -> str:
    return ENABLED_ALL if kind.read_only else ENABLED


def patterns(names: Names) -> dict[str, dict[str, Any]]:
    """{kind: {description, pattern, state}} for every kind that applies: what the modules deploy."""
    return {
        k.kind: {"description": k.description, "pattern": pattern(k, names), "state": rule_state(k)}
        for k in COVERAGE
        if applies(k, names)
    }


def kind_of(event_source: str, event_name: str) -> list[EventKind]:
    """The kinds an event could be (ConsoleLogin is two: a break-glass user's, or root's)."""
    return [k for k in COVERAGE if k.event_source == event_source and event_name in k.event_names]


def coverage_document() -> dict[str, Any]:
    """The declared list as the Terraform modules read it."""
    return {
        "comment": "Generated by `python -m breakglass_aws.watch.coverage`: edit breakglass_aws/watch/coverage.py",
        "concerns_need_users": {c: needs for c, needs in CONCERNS.items()},
        "kinds": [k.document() for k in COVERAGE],
    }


if __name__ == "__main__":
    sys.stdout.write(json.dumps(coverage_document(), indent=2) + "\n")
