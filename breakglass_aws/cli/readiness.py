"""`breakglass check` and `breakglass drill [--sandbox]`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from breakglass_aws.cli.common.output import echo_lines, emit
from breakglass_aws.cli.state import CliState, state

if TYPE_CHECKING:
    from datetime import datetime

    from breakglass_aws.readiness.check import ReadinessOptions
    from breakglass_aws.readiness.drill import DrillResult
    from breakglass_aws.readiness.sandbox_root import RootUnlock
    from breakglass_aws.runtime import Runtime
    from breakglass_aws.scp.lint import Finding
    from breakglass_aws.settings import Settings


def register(root: typer.Typer) -> None:
    root.command("check")(check_command)
    root.command("drill")(drill_command)


def _options(s: Settings, accounts: list[str] | None) -> ReadinessOptions:
    from breakglass_aws.readiness.check import ReadinessOptions
    from breakglass_aws.validate import parse_duration

    # The role's MaxSessionDuration: at least AWS's default hour, at most what the tool would ask for.
    longest = max(3600, int(parse_duration(s.max_role_duration).total_seconds()))
    return ReadinessOptions(
        accounts=accounts,
        rotation_interval=parse_duration(s.rotation_interval),
        drill_interval=parse_duration(s.drill_interval),
        min_session=3600,
        max_session=longest,
        alert_regions=list(s.alert_regions),
        rule_prefix=s.alert_rule_prefix,
    )


def findings_text(findings: list[Finding]) -> list[str]:
    if not findings:
        return ["check: everything needed to break the glass is in place"]
    order = {"error": 0, "warning": 1, "info": 2}
    lines = []
    for f in sorted(findings, key=lambda f: (order.get(f.severity, 3), f.check, f.subject)):
        lines.append(f"{f.severity.upper():7} {f.check:16} {f.subject}: {f.message}")
        lines.append(f"{'':7} {'':16} fix: {f.remediation}")
    errors = sum(f.severity == "error" for f in findings)
    lines.append(f"{errors} error(s), {len(findings) - errors} other finding(s)")
    return lines


def _check(st: CliState, rt: Runtime, accounts: list[str] | None) -> tuple[list[Finding], ReadinessOptions]:
    from breakglass_aws.readiness.check import run_checks
    from breakglass_aws.validate import validate_target

    for account in accounts or []:
        validate_target(account)
    s = st.settings()
    options = _options(s, accounts)
    return run_checks(rt, options, s.sns_topic_arn, list(s.rotate_users)), options


def check_command(
    ctx: typer.Context,
    account: Annotated[list[str] | None, typer.Option(metavar="ID", help="Check this account (repeatable).")] = None,
    outage_probe: Annotated[
        bool, typer.Option("--outage-probe", help="Probe which break-glass paths work now.")
    ] = False,
) -> None:
    """Prove the glass can be broken and raises the alarm: SCP/RCP exemptions, the role, the trail, the
    alert rules in every region and member account, the topic, credentials and MFA devices, drills.
    Exits 4 when any error-level finding."""
    from breakglass_aws.errors import GuardRailError
    from breakglass_aws.validate import validate_target

    st = state(ctx)
    for one in account or []:
        validate_target(one)
    if outage_probe:
        _outage_probe(st)
        return
    findings, options = _check(st, st.runtime(), account)
    root, skipped = options.root_status, options.not_checked
    emit(
        st,
        {
            "findings": [f.model_dump() for f in findings],
            "errors": sum(f.severity == "error" for f in findings),
            "root_tasks": root.model_dump() if root else None,
            "not_checked": skipped,
        },
        lambda: findings_text(findings) + (root.lines() if root else []) + [f"not checked: {g}" for g in skipped],
    )
    if any(f.severity == "error" for f in findings):
        raise typer.Exit(GuardRailError.exit_code)


def _outage_probe(st: CliState) -> None:
    from breakglass_aws.errors import AwsFailure
    from breakglass_aws.readiness.probe import probe

    report = probe(st.runtime())
    lines = [f"{'ok  ' if p.ok else 'DOWN'} {p.seconds:6.2f}s  {p.name}: {p.detail}" for p in report.probes]
    lines += ["paths available now:"] + [f"  {'yes' if ok else 'NO '}  {name}" for name, ok in report.paths.items()]
    if not report.paths["shared incident store"]:
        lines.append("  the shared store is down: use --offline-store, then breakglass sync")
    emit(st, report.model_dump(), lambda: lines)
    if not report.paths["role assume (pre-staged role, regional STS)"]:
        raise typer.Exit(AwsFailure.exit_code)


def drill_text(result: DrillResult) -> list[str]:
    where = f" (SCPs on {result.scp_target})" if result.scp_target and result.scp_target != result.account else ""
    lines = [f"drill {result.drill_id} on {result.account}{where}: {'PASSED' if result.ok else 'FAILED'}"]
    lines += [f"  {'ok ' if s.ok else 'FAIL'} {s.seconds:7.2f}s  {s.name}: {s.detail}" for s in result.steps]
    lines.append(
        f"  time to access: {result.time_to_access_seconds}s, time to restore: {result.time_to_restore_seconds}s"
    )
    lines += [f"  evidence: {folder}" for folder in result.evidence]
    if result.not_final:
        final_after = max(result.not_final.values())
        lines.append(f"  not final until {final_after} (CloudTrail's delivery delay); then finalize with:")
        lines += [f"    {command}" for command in result.finalize]
    return lines


def drill_command(
    ctx: typer.Context,
    account: Annotated[str | None, typer.Option(metavar="ID", help="The sandbox account to rehearse in.")] = None,
    scp_target: Annotated[
        str | None,
        typer.Option(
            metavar="ID",
            help="Detach SCPs here (default: the account); the parent OU when the Deny SCPs sit there.",
        ),
    ] = None,
    sandbox: Annotated[bool, typer.Option("--sandbox", help="Rehearse against an embedded simulated AWS.")] = False,
    token_code: Annotated[str | None, typer.Option(metavar="CODE", help="6-digit MFA code.")] = None,
    out: Annotated[Path | None, typer.Option(metavar="DIR", help="Where the evidence bundles go.")] = None,
) -> None:
    """Rehearse the whole procedure: detach, assume, a harmless call, close (restore, revoke, rotate), evidence."""
    from breakglass_aws.errors import UsageError

    st = state(ctx)
    if bool(account) == sandbox:
        raise UsageError("give either --account SANDBOX_ID or --sandbox", "new here? run: breakglass drill --sandbox")
    if sandbox and scp_target:
        raise UsageError("--scp-target goes with --account", "e.g. breakglass drill --account ID --scp-target OU_ID")
    if sandbox:
        _sandbox_drill(st, out)
        return
    from breakglass_aws.cli.common.credentials import prompt_code
    from breakglass_aws.cli.common.options import evidence_options
    from breakglass_aws.readiness.drill import run_drill
    from breakglass_aws.role.assume import validate_token_code
    from breakglass_aws.validate import validate_target

    account = account or ""  # given (checked above) when not --sandbox
    validate_target(account)
    if scp_target is not None:
        validate_target(scp_target)
    if token_code is not None:
        validate_token_code(token_code)
    rt = st.runtime()
    code = token_code or (prompt_code() if rt.role.mfa_serial else None)
    result = run_drill(rt, account, code, rt.rotation.users, evidence_options(st), out, scp_target=scp_target)
    emit(st, result.model_dump(mode="json"), lambda: drill_text(result))


def _sandbox_drill(st: CliState, out: Path | None) -> None:
    from breakglass_aws.incident.evidence import EvidenceOptions, verify_evidence
    from breakglass_aws.readiness.check import run_checks
    from breakglass_aws.readiness.sandbox import sandbox_aws
    from breakglass_aws.runtime import Injected, build_runtime
    from breakglass_aws.settings import Settings

    with sandbox_aws() as build:
        sb = build()
        settings = Settings(**sb.settings())
        rt = build_runtime(settings, Injected(progress=st.progress))
        sb.store = rt.store
        if not st.json:
            echo_lines(_sandbox_plan(sb.account))
        findings = run_checks(rt, _options(settings, None), settings.sns_topic_arn, list(settings.rotate_users))
        if not st.json:
            echo_lines(
                ["", "breakglass check (one SCP is deliberately missing the exemption):", *findings_text(findings), ""]
            )
        from breakglass_aws.readiness.drill import run_drill
        from breakglass_aws.readiness.sandbox_custody import custodian_keys, open_with_two, under_custody

        identities, custodians = custodian_keys()
        under_custody(rt, custodians)  # the drill's rotation seals the new credentials 2 of 3
        evidence = EvidenceOptions(delay=EvidenceOptions().delay)
        result = run_drill(rt, sb.account, "123456", rt.rotation.users, evidence, out or sb.folder / "evidence")
        verified = {folder: not verify_evidence(Path(folder)) for folder in result.evidence}
        custody = open_with_two(rt, rt.rotation.users[0], identities)
        unlocked = _sandbox_root_unlock(rt, sb.account)
        reports = _sandbox_reports(result.evidence, rt.clock())
        data = {
            "sandbox_account": sb.account,
            "check": [f.model_dump() for f in findings],
            "drill": result.model_dump(mode="json"),
            "evidence_verified": verified,
            "custody_open": custody.model_dump(),
            "root_unlock": unlocked.model_dump(),
            "reports": reports,
        }
        emit(
            st,
            data,
            lambda: [
                *drill_text(result),
                *[f"  verify {f}: {'intact' if ok else 'CHANGED'}" for f, ok in verified.items()],
                *custody.lines(),
                *unlocked.lines(),
                *[f"incident report: {path}" for path in reports],
                "",
                "next: the real-AWS quick start in README.md",
            ],
        )


def _sandbox_reports(folders: list[str], now: datetime) -> list[str]:
    """The incident report (HTML) of each bundle, written beside it (breakglass evidence report)."""
    from breakglass_aws.evidence.report_write import write_report

    return [write_report(Path(folder), "html", now).report for folder in folders]


def _sandbox_root_unlock(rt: Runtime, account: str) -> RootUnlock:
    """A member account's bucket locked by a deny-all policy, then unlocked through AssumeRoot."""
    from breakglass_aws.readiness.sandbox_root import lock_a_bucket, unlock_the_bucket
    from breakglass_aws.runtime import whoami

    policy = lock_a_bucket(account)
    return unlock_the_bucket(rt, account, whoami(rt), policy)


def _sandbox_plan(account: str) -> list[str]:
    return [
        "breakglass drill --sandbox: the whole procedure against a simulated AWS (moto), in this process",
        "staged as terraform/examples/complete would:",
        f"  organization: root -> OU workloads -> sandbox account {account}",
        "  SCPs on the sandbox account: DenyLeaveOrganization (exempts BreakGlassAdmin), DenyOutsideEU (does not)",
        f"  role BreakGlassAdmin in {account} (trust: MFA + SetSourceIdentity); user breakglass-1 with a key",
        "  SNS topic + subscription, a multi-region trail, alert rules in us-east-1 and eu-west-1 (forwarded",
        "  from the sandbox account to the central bus), a virtual MFA device, DynamoDB store, Object Lock",
        "  evidence bucket, secret breakglass/breakglass-1, restore schedule group; CloudTrail events derived",
        "  from the journal",
        "steps: check, detach SCPs, assume the role (MFA), harmless call, close both incidents (revoke, restore,",
        "  rotate), collect and verify evidence; then a bucket locked by a deny-all policy, unlocked through",
        "  AssumeRoot (breakglass root unlock-bucket); the rotation seals the new credentials for three",
        "  custodians, two of whom open them (breakglass custody share / custody open)",
    ]
