"""Are the break-glass events sent on from one account and region? Coverage is judged by pattern,
never by name: a rule covers a kind of `watch.coverage` when its event pattern lets through every
event the kind's own pattern matches (same source, detail-type, eventSource, all the event names,
and a filter naming the configured role, users, secrets...), it is in a state that sees the kind's
events (read-only ones: ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS), and it targets the right
place: the topic in the security account's us-east-1, the central event bus everywhere else."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from breakglass_aws.readiness.common import HOME_REGION, finding
from breakglass_aws.scp.lint import Finding
from breakglass_aws.watch.coverage import COVERAGE, EventKind, Names, patterns

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient

__all__ = ["Place", "Rule", "covers", "place_findings", "read_rules"]

ENABLED_ALL = "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS"
SEEN_BY = {"ENABLED": False, ENABLED_ALL: True}  # state -> does it see read-only events
KINDS = {k.kind: k for k in COVERAGE}


@dataclass(frozen=True)
class Place:
    """One account and region, and where its rules must send the events."""

    account: str
    region: str
    destination: str  # the topic ARN (home us-east-1) or the central bus ARN
    home: bool  # the security account (else a member account)

    @property
    def forwards(self) -> bool:
        return not (self.home and self.region == HOME_REGION)

    def subject(self) -> str:
        return f"{self.account}/{self.region}"

    def where(self) -> str:
        return "" if self.home else f" (in account {self.account})"


@dataclass(frozen=True)
class Rule:
    name: str
    state: str
    pattern: dict[str, Any]


def read_rules(events: EventBridgeClient) -> list[Rule]:
    """The default bus's rules that have an event pattern (scheduled rules aside)."""
    found = []
    for page in events.get_paginator("list_rules").paginate(EventBusName="default"):
        for rule in page.get("Rules", []):
            try:
                parsed = json.loads(rule.get("EventPattern") or "null")
            except json.JSONDecodeError:
                continue
            if isinstance(parsed, dict):
                found.append(Rule(str(rule["Name"]), str(rule.get("State", "ENABLED")), parsed))
    return found


def covers(rule: Any, wanted: Any) -> bool:
    """Does the rule's pattern let through every event the wanted pattern matches? Each field the
    rule filters on must be filtered in the wanted pattern too (else the rule is narrower), and the
    rule must accept every value the wanted pattern names."""
    if isinstance(rule, dict):
        return isinstance(wanted, dict) and all(
            key in wanted and covers(value, wanted[key]) for key, value in rule.items()
        )
    if isinstance(rule, list) and isinstance(wanted, list):
        return all(item in rule for item in wanted)
    return False


def kinds_for(place: Place, names: Names) -> dict[str, dict[str, Any]]:
    """The kinds this place must send on: all of them in us-east-1, the regional ones elsewhere."""
    wanted = patterns(names)
    if place.region == HOME_REGION:
        return wanted
    return {kind: spec for kind, spec in wanted.items() if KINDS[kind].regional}


def _problem(rule: Rule, kind: EventKind, targets: list[str], place: Place) -> str | None:
    """What keeps a covering rule from raising the alarm: None when nothing does."""
    if rule.state not in SEEN_BY:
        return "disabled"
    if kind.read_only and not SEEN_BY[rule.state]:
        return "state"
    return None if place.destination in targets else "target"


def place_findings(
    place: Place, names: Names, rules: list[Rule], targets_of: Callable[[str], list[str]], prefix: str
) -> list[Finding]:
    """The findings of one account and region: one per rule that covers a kind but cannot raise
    its alarm, and one for all the kinds no rule covers."""
    found: list[Finding] = []
    missing: list[str] = []
    for kind_name, spec in kinds_for(place, names).items():
        kind = KINDS[kind_name]
        own = f"{prefix}-{kind_name}"
        matching = sorted(
            (r for r in rules if covers(r.pattern, spec["pattern"])), key=lambda r: (r.name != own, r.name)
        )
        problems = [(r, _problem(r, kind, targets_of(r.name), place)) for r in matching]
        if not matching:
            missing.append(kind_name)
        elif all(problem for _, problem in problems):
            rule, problem = problems[0]
            found.append(_rule_finding(place, rule, kind, str(problem)))
    if missing:
        found.append(_missing(place, missing))
    return found


def _destination(place: Place) -> str:
    return "the topic" if not place.forwards else "the central event bus"


def _rule_finding(place: Place, rule: Rule, kind: EventKind, problem: str) -> Finding:
    region, name = place.region, rule.name
    if problem == "disabled":
        message = f"the rule {name} sending {kind.kind} to {_destination(place)} is {rule.state.lower()}"
        fix = f"aws events enable-rule --region {region} --name {name}"
    elif problem == "state":
        message = (
            f"the rule {name} ({kind.kind}) is {rule.state}: read-only events such as "
            f"{', '.join(kind.event_names)} reach a rule only in the state {ENABLED_ALL}"
        )
        fix = (
            f"aws events put-rule --region {region} --name {name} --state {ENABLED_ALL} --event-pattern "
            f'"$(aws events describe-rule --region {region} --name {name} --query EventPattern --output text)"'
        )
    else:
        message = f"the rule {name} ({kind.kind}) does not send to {place.destination}"
        fix = _module(place)
    return finding("error", "alert-rules", place.subject(), message, fix + place.where())


def _module(place: Place) -> str:
    if not place.forwards:
        return "apply terraform/modules/control-plane (its rules live in us-east-1)"
    return f"apply terraform/modules/alert-forwarding in {place.region}"


def _missing(place: Place, kinds: list[str]) -> Finding:
    message = f"no EventBridge rule sends {', '.join(kinds)} to {_destination(place)}"
    return finding("error", "alert-rules", place.subject(), message, _module(place) + place.where())
