"""`check`: can the glass be broken right now? Findings with severity and a remediation line."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from breakglass_aws.aws import aws_errors
from breakglass_aws.errors import BreakglassError
from breakglass_aws.models import ACTIVE_STATUSES, Mode
from breakglass_aws.role.trust import condition_values, facts_of, grants, mfa_gap, trust_statements
from breakglass_aws.rotation import secret_exists
from breakglass_aws.runtime import Runtime
from breakglass_aws.scp.lint import Finding, lint_policy

if TYPE_CHECKING:
    from mypy_boto3_organizations import OrganizationsClient
    from mypy_boto3_organizations.literals import PolicyTypeType
    from mypy_boto3_organizations.type_defs import PolicySummaryTypeDef
    from mypy_boto3_scheduler.type_defs import GetScheduleOutputTypeDef

__all__ = ["ReadinessOptions", "run_checks"]

POLICY_TYPES: tuple[PolicyTypeType, ...] = ("SERVICE_CONTROL_POLICY", "RESOURCE_CONTROL_POLICY")
# What must reach the topic: label -> the CloudTrail event names (matched exactly).
ALERT_EVENTS = {
    "break-glass AssumeRole": {"AssumeRole"},
    "break-glass console login": {"ConsoleLogin"},
    "SCP attach/detach": {"AttachPolicy", "DetachPolicy"},
}
USER_ALERTS = {"break-glass console login"}  # only wanted when there are break-glass users


class ReadinessOptions:
    def __init__(
        self,
        accounts: list[str] | None = None,
        rotation_interval: timedelta = timedelta(days=90),
        drill_interval: timedelta = timedelta(days=92),
        min_session: int = 3600,
        max_session: int = 43200,
        require_source_identity: bool = False,
        periodic_schedule: str = "breakglass-restore-expired",
    ) -> None:
        self.accounts = accounts
        self.rotation_interval, self.drill_interval = rotation_interval, drill_interval
        self.min_session, self.max_session = min_session, max_session
        self.require_source_identity, self.periodic_schedule = require_source_identity, periodic_schedule


def _finding(severity: str, check: str, subject: str, message: str, remediation: str) -> Finding:
    return Finding(severity=severity, check=check, subject=subject, message=message, remediation=remediation)


def _guarded(check: str, subject: str, run: Callable[[], list[Finding]]) -> list[Finding]:
    """One check failing (access denied, say) is a finding, never the end of the report."""
    try:
        with aws_errors():
            return run()
    except BreakglassError as err:
        return [_finding("error", check, subject, f"could not check: {err.message}", err.remediation or "")]


# --- SCP / RCP exemption ----------------------------------------------------------------------


def _path(org: OrganizationsClient, account: str) -> Iterator[str]:
    yield account
    current = account
    while not current.startswith("r-"):
        parents = org.list_parents(ChildId=current)["Parents"]
        if not parents:
            return
        current = parents[0]["Id"]
        yield current


def _policies(org: OrganizationsClient, target: str) -> Iterator[PolicySummaryTypeDef]:
    for kind in POLICY_TYPES:
        try:
            pages = org.get_paginator("list_policies_for_target").paginate(TargetId=target, Filter=kind)
            yield from (p for page in pages for p in page["Policies"])
        except org.exceptions.ClientError as err:
            if err.response.get("Error", {}).get("Code") in ("PolicyTypeNotEnabledException", "InvalidInputException"):
                continue
            raise


def _lint_account(rt: Runtime, org: OrganizationsClient, account: str, seen: dict[str, str]) -> list[Finding]:
    role_arn = f"arn:aws:iam::{account}:role/{rt.role.role_name}"
    findings: list[Finding] = []
    for target in _path(org, account):
        for policy in _policies(org, target):
            if policy["Id"] == "p-FullAWSAccess" or policy.get("AwsManaged"):
                continue
            if policy["Id"] not in seen:
                seen[policy["Id"]] = org.describe_policy(PolicyId=policy["Id"])["Policy"]["Content"]
            findings += lint_policy(policy["Id"], policy.get("Name", ""), seen[policy["Id"]], target, role_arn)
    return findings


def _accounts(org: OrganizationsClient, wanted: list[str] | None) -> list[str]:
    if wanted:
        return wanted
    management = org.describe_organization()["Organization"]["MasterAccountId"]
    pages = org.get_paginator("list_accounts").paginate()
    return sorted(a["Id"] for page in pages for a in page["Accounts"] if a["Id"] != management)


# --- the break-glass role ---------------------------------------------------------------------


def _requires_source_identity(statement: dict[str, Any]) -> bool:
    if condition_values(statement, "null", "sts:sourceidentity") == ["false"]:
        return True
    return any(
        condition_values(statement, op, "sts:sourceidentity") is not None
        for op in ("stringequals", "stringlike", "arnequals", "arnlike")
    )


def _who(statement: dict[str, Any], index: int) -> str:
    return str(statement.get("Sid") or f"statement {index + 1}")


def _role_findings(role: Mapping[str, Any], subject: str, options: ReadinessOptions) -> list[Finding]:
    allows = [(i, s) for i, s in enumerate(trust_statements(role)) if s.get("Effect") == "Allow"]
    assume = [(i, s) for i, s in allows if grants(s, "sts:assumerole")]
    found = []
    weak = [(i, s, why) for i, s in assume if (why := mfa_gap(s))]
    if not assume or weak:
        detail = "; ".join(f"{_who(s, i)} {why}" for i, s, why in weak)
        found.append(
            _finding(
                "error",
                "role-trust",
                subject,
                "the trust policy does not require MFA" + (f" ({detail})" if detail else ""),
                "every Allow of sts:AssumeRole needs Condition Bool aws:MultiFactorAuthPresent true "
                "(terraform breakglass-role)",
            )
        )
    if not any(grants(s, "sts:setsourceidentity") for _, s in allows):
        found.append(
            _finding(
                "error",
                "role-trust",
                subject,
                "the trust policy does not allow sts:SetSourceIdentity",
                "allow sts:SetSourceIdentity so every call is attributed",
            )
        )
    if options.require_source_identity and not all(_requires_source_identity(s) for _, s in assume):
        found.append(
            _finding(
                "error",
                "role-trust",
                subject,
                "the trust policy does not require a SourceIdentity",
                "add Condition Null sts:SourceIdentity false (terraform breakglass-role require_source_identity)",
            )
        )
    duration = int(role.get("MaxSessionDuration", 3600))
    if not options.min_session <= duration <= options.max_session:
        found.append(
            _finding(
                "warning",
                "role-duration",
                subject,
                f"MaxSessionDuration is {duration}s",
                f"keep it between {options.min_session} and {options.max_session} seconds",
            )
        )
    return found


def _check_role(rt: Runtime, account: str, options: ReadinessOptions, caller_account: str) -> list[Finding]:
    from breakglass_aws.incident.revoke import iam_for_account
    from breakglass_aws.models import Requester

    subject = f"arn:aws:iam::{account}:role/{rt.role.role_name}"
    caller = Requester(arn="", account=caller_account, user_id="", name="")
    iam = iam_for_account(rt, account, caller)
    try:
        role = iam.get_role(RoleName=rt.role.role_name)["Role"]
    except iam.exceptions.NoSuchEntityException:
        return [
            _finding(
                "error",
                "role",
                subject,
                "the break-glass role does not exist",
                "apply terraform/modules/breakglass-role in this account",
            )
        ]
    found = _role_findings(role, subject, options)
    if facts_of(role).requires_mfa and not rt.role.mfa_serial:
        found.append(
            _finding(
                "error",
                "role-mfa",
                subject,
                "the role requires MFA and no mfa_serial is configured: role assume and drill would be refused",
                "set mfa_serial (the break-glass MFA device ARN) in the config or BREAKGLASS_MFA_SERIAL",
            )
        )
    return found


# --- alerting, credentials, store, drills -------------------------------------------------------


def _check_alerting(rt: Runtime, topic: str | None, users: list[str]) -> list[Finding]:
    if not topic:
        return [
            _finding(
                "warning",
                "alerting",
                "sns",
                "no sns_topic_arn configured: nobody is told",
                "set sns_topic_arn (terraform control-plane output)",
            )
        ]
    sns = rt.factory.client("sns", topic.split(":")[3])
    try:
        sns.get_topic_attributes(TopicArn=topic)
    except sns.exceptions.NotFoundException:
        return [_finding("error", "alerting", topic, "the SNS topic does not exist", "apply the control-plane module")]
    found = []
    if not sns.list_subscriptions_by_topic(TopicArn=topic).get("Subscriptions"):
        found.append(
            _finding(
                "error",
                "alerting",
                topic,
                "the SNS topic has no subscription",
                "subscribe the security team (email, chat, pager)",
            )
        )
    return found + _check_rules(rt, topic, users)


def _event_names(pattern: str | None) -> set[str]:
    try:
        detail = (json.loads(pattern or "{}") or {}).get("detail") or {}
    except (json.JSONDecodeError, AttributeError):
        return set()
    names = detail.get("eventName", []) if isinstance(detail, dict) else []
    return {n for n in (names if isinstance(names, list) else [names]) if isinstance(n, str)}


def _check_rules(rt: Runtime, topic: str, users: list[str]) -> list[Finding]:
    events = rt.factory.client("events", "us-east-1")
    covered: set[str] = set()
    disabled: dict[str, set[str]] = {}
    for page in events.get_paginator("list_rules").paginate():
        for rule in page.get("Rules", []):
            names = _event_names(rule.get("EventPattern"))
            if not names:
                continue
            targets = events.list_targets_by_rule(Rule=rule["Name"]).get("Targets", [])
            if not any(t.get("Arn") == topic for t in targets):
                continue
            if rule.get("State", "ENABLED") == "ENABLED":
                covered |= names
            else:
                disabled[rule["Name"]] = names
    found = []
    for label, wanted in ALERT_EVENTS.items():
        if label in USER_ALERTS and not users:
            continue
        if wanted <= covered:
            continue
        off = sorted(name for name, names in disabled.items() if wanted & names)
        if off:
            found.append(
                _finding(
                    "error",
                    "alerting",
                    "eventbridge",
                    f"the EventBridge rule {', '.join(off)} sending {label} to the topic is disabled",
                    f"aws events enable-rule --region us-east-1 --name {off[0]}",
                )
            )
            continue
        found.append(
            _finding(
                "error",
                "alerting",
                "eventbridge",
                f"no EventBridge rule sends {label} to the topic",
                "apply the control-plane module (its rules live in us-east-1)",
            )
        )
    return found


def _check_user(rt: Runtime, user: str, options: ReadinessOptions) -> list[Finding]:
    iam, sm = rt.factory.client("iam"), rt.factory.client("secretsmanager")
    now = rt.clock()
    keys = iam.list_access_keys(UserName=user)["AccessKeyMetadata"]
    found = []
    active = [k for k in keys if k["Status"] == "Active"]
    if len(active) > 1:
        found.append(
            _finding(
                "error",
                "credentials",
                user,
                f"{len(active)} active access keys",
                f"run: breakglass rotate --user {user}",
            )
        )
    for key in active:
        if now - key["CreateDate"] > options.rotation_interval:
            found.append(
                _finding(
                    "error",
                    "credentials",
                    user,
                    f"access key {key['AccessKeyId']} is {(now - key['CreateDate']).days} days old",
                    f"run: breakglass rotate --user {user}",
                )
            )
    secret_id = rt.rotation.secret_for(user)
    try:
        stored = json.loads(sm.get_secret_value(SecretId=secret_id).get("SecretString") or "{}")
    except sm.exceptions.ResourceNotFoundException:
        if secret_exists(sm, secret_id):
            return [
                *found,
                _finding(
                    "error",
                    "credentials",
                    user,
                    f"the secret {secret_id} is empty",
                    f"run: breakglass rotate --user {user}",
                ),
            ]
        return [
            *found,
            _finding(
                "error",
                "credentials",
                user,
                "no secret holds this user's credentials",
                "apply the control-plane module, then: breakglass rotate --user " + user,
            ),
        ]
    rotated = stored.get("rotated_at") if isinstance(stored, dict) else None
    if not rotated:
        found.append(
            _finding(
                "error",
                "credentials",
                user,
                "the credentials were never rotated by breakglass",
                f"run: breakglass rotate --user {user}",
            )
        )
    elif now - datetime.fromisoformat(str(rotated).replace("Z", "+00:00")) > options.rotation_interval:
        found.append(
            _finding(
                "error",
                "credentials",
                user,
                f"password and key last rotated {rotated}",
                f"run: breakglass rotate --user {user}",
            )
        )
    return found


def _check_incidents(rt: Runtime, options: ReadinessOptions) -> list[Finding]:
    now = rt.clock()
    incidents = rt.store.list_incidents(limit=100_000)  # a missing table: the store says which
    found = [
        _finding(
            "error",
            "incidents",
            i.incident_id,
            f"past its expiry ({i.expires_at:%Y-%m-%d %H:%M}Z) and still {i.status.value}",
            f"run: breakglass restore {i.incident_id}",
        )
        for i in incidents
        if i.mode is Mode.SCP and i.status in ACTIVE_STATUSES and i.expires_at <= now
    ]
    drills = [i for i in incidents if i.mode is Mode.DRILL and i.status.value == "closed"]
    last = max((i.created_at for i in drills), default=None)
    if last is None or now - last > options.drill_interval:
        when = f"last drill {last:%Y-%m-%d}" if last else "no drill recorded"
        found.append(_finding("warning", "drill", "drill", when, "rehearse: breakglass drill --account SANDBOX_ID"))
    return found


def _periodic(schedule: GetScheduleOutputTypeDef, function_arn: str) -> bool:
    """A recurring (rate/cron), enabled schedule invoking the restore function."""
    expression = str(schedule.get("ScheduleExpression", ""))
    target = schedule["Target"]["Arn"] if "Target" in schedule else ""
    return (
        expression.startswith(("rate(", "cron("))
        and schedule.get("State", "ENABLED") == "ENABLED"
        and (target == function_arn or target.startswith(function_arn + ":"))
    )


def _check_schedule(rt: Runtime, options: ReadinessOptions) -> list[Finding]:
    if not rt.schedule.enabled:
        return [
            _finding(
                "warning",
                "restore-schedule",
                "scheduler",
                "no scheduled restore configured",
                "set restore_function_arn and scheduler_role_arn (terraform control-plane outputs)",
            )
        ]
    scheduler = rt.factory.client("scheduler")
    group, function_arn = rt.schedule.group, str(rt.schedule.function_arn)
    try:
        known = scheduler.get_schedule(Name=options.periodic_schedule, GroupName=group)
        if _periodic(known, function_arn):
            return []
    except scheduler.exceptions.ResourceNotFoundException:
        pass
    # Named otherwise: any recurring schedule in the group that invokes the restore function.
    pages = scheduler.get_paginator("list_schedules").paginate(GroupName=group)
    candidates = [
        s["Name"]
        for page in pages
        for s in page.get("Schedules", [])
        if s.get("Name") != options.periodic_schedule
        and s.get("State", "ENABLED") == "ENABLED"
        and ("Target" in s and s["Target"]["Arn"].startswith(function_arn))
        and not str(s.get("Name", "")).startswith("breakglass-restore-")  # the one-time per-incident ones
    ]
    for name in candidates[:20]:
        if _periodic(scheduler.get_schedule(Name=name, GroupName=group), function_arn):
            return []
    return [
        _finding(
            "warning",
            "restore-schedule",
            group,
            f"no enabled periodic schedule ({options.periodic_schedule}) invokes {function_arn}",
            "apply the control-plane module (rate(5 minutes) safety net)",
        )
    ]


def run_checks(rt: Runtime, options: ReadinessOptions, topic: str | None, users: list[str]) -> list[Finding]:
    org = rt.factory.client("organizations")
    with aws_errors():
        caller = rt.factory.client("sts").get_caller_identity()["Account"]
        accounts = _accounts(org, options.accounts)
    seen: dict[str, str] = {}
    findings: list[Finding] = []
    for account in accounts:
        findings += _guarded("scp-exemption", account, functools.partial(_lint_account, rt, org, account, seen))
        findings += _guarded("role", account, functools.partial(_check_role, rt, account, options, caller))
    findings += _guarded("alerting", "sns", lambda: _check_alerting(rt, topic, users))
    for user in users:
        findings += _guarded("credentials", user, functools.partial(_check_user, rt, user, options))
    findings += _guarded("restore-schedule", "scheduler", lambda: _check_schedule(rt, options))
    findings += _guarded("incidents", "store", lambda: _check_incidents(rt, options))
    return _dedupe(findings)


def _dedupe(findings: list[Finding]) -> list[Finding]:
    unique: dict[tuple[str, str, str], Finding] = {}
    for f in findings:
        unique.setdefault((f.check, f.subject, f.message), f)
    return list(unique.values())
