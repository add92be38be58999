"""`check`: can the glass be broken right now, and would it raise the alarm? Findings with severity
and a remediation line. The parts: SCP/RCP exemptions and the role in each account (here), the
alarm's wiring (`alarm`, `rules`, `trail`), each break-glass user's credentials and MFA device
(`credentials`), the RCPs on the path to the security account (`rcp`), the store, drills and the
restore schedule (here)."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from breakglass_aws.aws import aws_errors
from breakglass_aws.errors import BreakglassError
from breakglass_aws.models import ACTIVE_STATUSES, Mode
from breakglass_aws.readiness.alarm import AlarmSetup, check_alarm
from breakglass_aws.readiness.common import HOME_REGION, Accounts, finding, guarded
from breakglass_aws.readiness.coverage_gaps import member_gap, restore_function
from breakglass_aws.readiness.credentials import check_mfa_device, check_user
from breakglass_aws.readiness.custody import check_custody
from breakglass_aws.readiness.org import Organization, attached, path
from breakglass_aws.readiness.rcp import RcpScope, check_rcps
from breakglass_aws.readiness.root_tasks import RootTaskStatus, check_root_denials, root_task_status
from breakglass_aws.readiness.trail import check_trail
from breakglass_aws.role.trust import condition_values, facts_of, grants, mfa_gap, trust_statements
from breakglass_aws.runtime import Runtime
from breakglass_aws.scp.lint import Finding, lint_policy
from breakglass_aws.watch.coverage import Names

if TYPE_CHECKING:
    from mypy_boto3_organizations import OrganizationsClient
    from mypy_boto3_organizations.literals import PolicyTypeType
    from mypy_boto3_scheduler.type_defs import GetScheduleOutputTypeDef

__all__ = ["ReadinessOptions", "run_checks"]

POLICY_TYPES: tuple[PolicyTypeType, ...] = ("SERVICE_CONTROL_POLICY", "RESOURCE_CONTROL_POLICY")


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
        alert_regions: list[str] | None = None,
        rule_prefix: str = "breakglass",
    ) -> None:
        self.accounts = accounts
        self.rotation_interval, self.drill_interval = rotation_interval, drill_interval
        self.min_session, self.max_session = min_session, max_session
        self.require_source_identity, self.periodic_schedule = require_source_identity, periodic_schedule
        self.rule_prefix = rule_prefix
        # us-east-1 first (the control plane's rules), then the other regions where use is watched
        self.regions = tuple(dict.fromkeys([HOME_REGION, *(alert_regions or [])]))
        self.root_status: RootTaskStatus | None = None  # filled by run_checks
        self.not_checked: list[str] = []  # filled by run_checks: what was not read, and why


# --- SCP / RCP exemption of the role ------------------------------------------------------------


def _lint_account(rt: Runtime, org: OrganizationsClient, account: str, seen: dict[str, str]) -> list[Finding]:
    role_arn = f"arn:aws:iam::{account}:role/{rt.role.role_name}"
    findings: list[Finding] = []
    for target in path(org, account):
        for policy in attached(org, target, POLICY_TYPES):
            if policy["Id"] == "p-FullAWSAccess" or policy.get("AwsManaged"):
                continue
            if policy["Id"] not in seen:
                seen[policy["Id"]] = org.describe_policy(PolicyId=policy["Id"])["Policy"]["Content"]
            findings += lint_policy(policy["Id"], policy.get("Name", ""), seen[policy["Id"]], target, role_arn)
    return findings


def _organization(org: OrganizationsClient, required: bool) -> Organization | None:
    """The organization's id and management account; when not `required`, None if unreadable."""
    try:
        with aws_errors():
            found = org.describe_organization()["Organization"]
    except BreakglassError:
        if required:
            raise
        return None
    return Organization(org_id=str(found["Id"]), management=str(found["MasterAccountId"]))


def _accounts(org: OrganizationsClient, wanted: list[str] | None, organization: Organization | None) -> list[str]:
    if wanted:
        return wanted
    management = organization.management if organization else None
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
            finding(
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
            finding(
                "error",
                "role-trust",
                subject,
                "the trust policy does not allow sts:SetSourceIdentity",
                "allow sts:SetSourceIdentity so every call is attributed",
            )
        )
    if options.require_source_identity and not all(_requires_source_identity(s) for _, s in assume):
        found.append(
            finding(
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
            finding(
                "warning",
                "role-duration",
                subject,
                f"MaxSessionDuration is {duration}s",
                f"keep it between {options.min_session} and {options.max_session} seconds",
            )
        )
    return found


def _check_role(rt: Runtime, account: str, options: ReadinessOptions, accounts: Accounts) -> list[Finding]:
    subject = f"arn:aws:iam::{account}:role/{rt.role.role_name}"
    iam = accounts.iam(account)
    try:
        role = iam.get_role(RoleName=rt.role.role_name)["Role"]
    except iam.exceptions.NoSuchEntityException:
        return [
            finding(
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
            finding(
                "error",
                "role-mfa",
                subject,
                "the role requires MFA and no mfa_serial is configured: role assume and drill would be refused",
                "set mfa_serial (the break-glass MFA device ARN) in the config or BREAKGLASS_MFA_SERIAL",
            )
        )
    return found


# --- store, drills, the restore schedule -------------------------------------------------------------


def _check_incidents(rt: Runtime, options: ReadinessOptions) -> list[Finding]:
    now = rt.clock()
    incidents = rt.store.list_incidents(limit=100_000)  # a missing table: the store says which
    found = [
        finding(
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
        found.append(finding("warning", "drill", "drill", when, "rehearse: breakglass drill --account SANDBOX_ID"))
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
            finding(
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
        finding(
            "warning",
            "restore-schedule",
            group,
            f"no enabled periodic schedule ({options.periodic_schedule}) invokes {function_arn}",
            "apply the control-plane module (rate(5 minutes) safety net)",
        )
    ]


@dataclass(frozen=True)
class _Context:
    """What the checks share: the caller's account (and the member sessions), the accounts checked,
    the organization."""

    accounts: Accounts
    checked: list[str]
    organization: Organization | None


def _alarm(
    rt: Runtime, options: ReadinessOptions, topic: str | None, users: list[str], context: _Context
) -> list[Finding]:
    if not topic:
        return [
            finding(
                "warning",
                "alerting",
                "sns",
                "no sns_topic_arn configured: nobody is told",
                "set sns_topic_arn (terraform control-plane output)",
            )
        ]
    names = Names(
        role_name=rt.role.role_name,
        user_names=tuple(users),
        secret_prefix=rt.rotation.secret_prefix,
        rule_prefix=options.rule_prefix,
        topic_name=topic.rsplit(":", 1)[-1],
    )
    security = topic.split(":")[4]
    members = tuple(a for a in context.checked if a not in (context.accounts.caller, security))
    org_id = context.organization.org_id if context.organization else None
    setup = AlarmSetup(topic, names, options.regions, members, org_id, options.rule_prefix)
    return check_alarm(rt, context.accounts, setup)


def _per_user(rt: Runtime, options: ReadinessOptions, users: list[str], context: _Context) -> list[Finding]:
    findings: list[Finding] = []
    for user in users:
        findings += guarded("credentials", user, functools.partial(check_user, rt, user, options.rotation_interval))
        findings += guarded("mfa-device", user, functools.partial(check_mfa_device, rt, user))
    scope = RcpScope(context.accounts.caller, context.organization, tuple(context.checked))
    return findings + guarded("rcp", context.accounts.caller, functools.partial(check_rcps, rt, scope, users))


def run_checks(rt: Runtime, options: ReadinessOptions, topic: str | None, users: list[str]) -> list[Finding]:
    org = rt.factory.client("organizations")
    with aws_errors():
        caller = rt.factory.client("sts").get_caller_identity()["Account"]
        organization = _organization(org, required=not options.accounts)
        checked = _accounts(org, options.accounts, organization)
    context = _Context(Accounts(rt, caller), checked, organization)
    seen: dict[str, str] = {}
    findings: list[Finding] = []
    for account in checked:
        findings += guarded("scp-exemption", account, functools.partial(_lint_account, rt, org, account, seen))
        findings += guarded("role", account, functools.partial(_check_role, rt, account, options, context.accounts))
    findings += _alarm(rt, options, topic, users, context)
    findings += guarded("alert-trail", "cloudtrail", functools.partial(check_trail, rt))
    findings += _root_tasks(rt, options, org, caller, checked)
    findings += _gaps(rt, options, checked)
    findings += _per_user(rt, options, users, context)
    findings += guarded("custody", "settings", lambda: check_custody(rt, users))
    findings += guarded("restore-schedule", "scheduler", lambda: _check_schedule(rt, options))
    findings += guarded("incidents", "store", lambda: _check_incidents(rt, options))
    return _dedupe(findings)


def _root_tasks(
    rt: Runtime, options: ReadinessOptions, org: OrganizationsClient, caller: str, accounts: list[str]
) -> list[Finding]:
    """Whether root-task mode is ready (kept in `options.root_status`), and, once it is, what on
    each member account's path would still refuse the root session."""
    options.root_status = root_task_status(rt, caller)
    if not options.root_status.ready:
        return []
    findings: list[Finding] = []
    contents: dict[str, tuple[str, str]] = {}
    for account in accounts:
        findings += guarded("root-task", account, functools.partial(check_root_denials, org, account, contents))
    return findings


def _gaps(rt: Runtime, options: ReadinessOptions, checked: list[str]) -> list[Finding]:
    """What was not checked (kept in `options.not_checked`), and the restore function's build."""
    found, unread = restore_function(rt)
    options.not_checked = [*member_gap(checked, options.accounts), *unread]
    if options.root_status is not None and options.root_status.ready is None:
        options.not_checked.append(f"root-task mode: {options.root_status.detail}")
    return found


def _dedupe(findings: list[Finding]) -> list[Finding]:
    unique: dict[tuple[str, str, str], Finding] = {}
    for f in findings:
        unique.setdefault((f.check, f.subject, f.message), f)
    return list(unique.values())
