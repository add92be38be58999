"""`check`: is the alarm wired? The topic has a confirmed subscription; in every configured region
of the security account and of each member account, rules send every kind of break-glass event on
(see `rules`); the central event bus accepts the organization's events. What the caller cannot
read is a warning naming what to grant, never the end of the report."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from typing import Any

from breakglass_aws.errors import AwsAccessError
from breakglass_aws.readiness.common import HOME_REGION, Accounts, finding, guarded
from breakglass_aws.readiness.rules import Place, place_findings, read_rules
from breakglass_aws.role.trust import condition_values, grants
from breakglass_aws.runtime import Runtime
from breakglass_aws.scp.lint import Finding
from breakglass_aws.watch.coverage import Names

__all__ = ["AlarmSetup", "check_alarm", "check_topic"]

PENDING = "PendingConfirmation"


@dataclass(frozen=True)
class AlarmSetup:
    topic: str
    names: Names
    regions: tuple[str, ...]  # us-east-1 first, then the alert regions
    members: tuple[str, ...]  # member accounts to read through their member role
    org_id: str | None
    prefix: str = "breakglass"

    @property
    def security_account(self) -> str:
        return self.topic.split(":")[4]

    @property
    def bus(self) -> str:
        return f"arn:aws:events:{HOME_REGION}:{self.security_account}:event-bus/default"

    def places(self) -> list[Place]:
        home = [
            Place(self.security_account, r, self.topic if r == HOME_REGION else self.bus, True) for r in self.regions
        ]
        return home + [Place(a, r, self.bus, False) for a in self.members for r in self.regions]


def check_alarm(rt: Runtime, accounts: Accounts, setup: AlarmSetup) -> list[Finding]:
    found = guarded("alerting", setup.topic, functools.partial(check_topic, rt, setup.topic))
    if setup.members:
        found += guarded("alert-bus", setup.bus, functools.partial(_check_bus, rt, setup))
    for place in setup.places():
        found += guarded(
            "alert-rules",
            place.subject(),
            functools.partial(_check_place, accounts, place, setup),
            denied=functools.partial(_unreadable, accounts, place),
        )
    return found


# --- the topic ------------------------------------------------------------------------------------


def check_topic(rt: Runtime, topic: str) -> list[Finding]:
    sns = rt.factory.client("sns", topic.split(":")[3])
    try:
        sns.get_topic_attributes(TopicArn=topic)
    except sns.exceptions.NotFoundException:
        return [finding("error", "alerting", topic, "the SNS topic does not exist", "apply the control-plane module")]
    pages = sns.get_paginator("list_subscriptions_by_topic").paginate(TopicArn=topic)
    subscriptions = [s for page in pages for s in page.get("Subscriptions", [])]
    if not subscriptions:
        return [
            finding(
                "error",
                "alerting",
                topic,
                "the SNS topic has no subscription",
                "subscribe the security team (email, chat, pager)",
            )
        ]
    pending = [s for s in subscriptions if s.get("SubscriptionArn") == PENDING]
    if len(pending) < len(subscriptions):
        return []
    endpoints = ", ".join(sorted({str(s.get("Endpoint", "?")) for s in pending}))
    return [
        finding(
            "error",
            "alerting",
            topic,
            f"the SNS topic has no confirmed subscription ({len(pending)} pending confirmation)",
            f"confirm the subscription of {endpoints} (the link SNS sent there), or subscribe another endpoint",
        )
    ]


# --- the central event bus ------------------------------------------------------------------------


def _anyone(principal: Any) -> bool:
    if principal == "*":
        return True
    values = principal.get("AWS", []) if isinstance(principal, dict) else []
    return any(v in ("*", "arn:aws:iam::*:root") for v in (values if isinstance(values, list) else [values]))


def accepts_organization(policy: str | None, org_id: str) -> bool:
    """An Allow of events:PutEvents to any principal of the organization (aws:PrincipalOrgID)."""
    try:
        document = json.loads(policy or "{}")
    except json.JSONDecodeError:
        return False
    statements = document.get("Statement", []) if isinstance(document, dict) else []
    for statement in statements if isinstance(statements, list) else [statements]:
        if not isinstance(statement, dict) or statement.get("Effect") != "Allow":
            continue
        orgs = condition_values(statement, "stringequals", "aws:principalorgid") or []
        if grants(statement, "events:putevents") and _anyone(statement.get("Principal")) and org_id.lower() in orgs:
            return True
    return False


def _check_bus(rt: Runtime, setup: AlarmSetup) -> list[Finding]:
    if setup.org_id is None:
        return [
            finding(
                "warning",
                "alert-bus",
                setup.bus,
                "could not check: the organization could not be read",
                "grant organizations:DescribeOrganization to the identity running check",
            )
        ]
    policy = rt.factory.client("events", HOME_REGION).describe_event_bus(Name="default").get("Policy")
    if accepts_organization(policy, setup.org_id):
        return []
    what = "has no policy" if not policy else f"does not accept events from the organization {setup.org_id}"
    return [
        finding(
            "error",
            "alert-bus",
            setup.bus,
            f"the central event bus {what}: the member accounts' forwarded alerts are refused",
            "apply terraform/modules/control-plane, or: aws events put-permission --region us-east-1 "
            "--event-bus-name default --action events:PutEvents --principal '*' --statement-id "
            f"breakglass-organization --condition Type=StringEquals,Key=aws:PrincipalOrgID,Value={setup.org_id}",
        )
    ]


# --- the rules of one account and region ----------------------------------------------------------


def _check_place(accounts: Accounts, place: Place, setup: AlarmSetup) -> list[Finding]:
    events = accounts.events(place.account, place.region)
    seen: dict[str, list[str]] = {}

    def targets_of(rule: str) -> list[str]:
        if rule not in seen:
            pages = events.get_paginator("list_targets_by_rule").paginate(Rule=rule, EventBusName="default")
            seen[rule] = [str(t["Arn"]) for page in pages for t in page.get("Targets", [])]
        return seen[rule]

    return place_findings(place, setup.names, read_rules(events), targets_of, setup.prefix)


def _unreadable(accounts: Accounts, place: Place, err: AwsAccessError) -> Finding:
    who = "the identity running check" if place.home else accounts.member_role(place.account)
    grant = f"grant events:ListRules and events:ListTargetsByRule in {place.region} to {who}"
    if "sts:AssumeRole" in err.message:
        grant = f"allow the identity running check to assume {who}"
    return finding(
        "warning",
        "alert-rules",
        place.subject(),
        f"could not read the alert rules: {err.message}",
        grant,
    )
