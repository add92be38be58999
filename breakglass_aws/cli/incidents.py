"""`breakglass list|show|restore|journal verify`."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from breakglass_aws.cli.common.output import emit, read_public_key
from breakglass_aws.cli.group import HelpGroup
from breakglass_aws.cli.state import state

if TYPE_CHECKING:
    from breakglass_aws.errors import BreakglassError
    from breakglass_aws.incident.verify import JournalReport
    from breakglass_aws.models import Incident, JournalEntry

journal_app = typer.Typer(
    cls=HelpGroup, rich_markup_mode=None, help="Inspect and verify the hash-chained journal.", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    app.command("list")(list_command)
    app.command("show")(show_command)
    app.command("restore")(restore_command)
    app.add_typer(journal_app, name="journal")


def list_command(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option(metavar="N", help="How many incidents, newest first.")] = 20,
) -> None:
    """Open and recent incidents, newest first, with the time left before automatic restore."""
    from breakglass_aws.incident.records import list_incidents

    st = state(ctx)
    rt = st.runtime()
    found = list_incidents(rt, limit)
    now = rt.clock()
    emit(st, [_summary(i, now) for i in found], lambda: _list_text(found, now))


def show_command(ctx: typer.Context, incident_id: Annotated[str, typer.Argument(help="Incident id.")]) -> None:
    """One incident and its timeline from the journal."""
    from breakglass_aws.incident.records import get_incident

    st = state(ctx)
    incident, entries = get_incident(st.runtime(), incident_id.strip())
    data = {**incident.public(), "journal": [e.model_dump() for e in entries]}
    emit(st, data, lambda: _show_text(incident, entries))


def restore_command(
    ctx: typer.Context,
    incident_id: Annotated[str | None, typer.Argument(help="One incident to restore.")] = None,
    expired: Annotated[bool, typer.Option("--expired", help="Restore every active incident past its expiry.")] = False,
    max_rps: Annotated[float | None, typer.Option(metavar="N", help="At most N Organizations requests/s.")] = None,
    workers: Annotated[int | None, typer.Option(metavar="N", help="Incidents restored in parallel.")] = None,
) -> None:
    """Restore one incident, or with --expired every expired one (what cron or a scheduler runs)."""
    from breakglass_aws.cli.common.views import restore_text, stored_status
    from breakglass_aws.errors import UsageError
    from breakglass_aws.incident.close import restore_incident
    from breakglass_aws.incident.sweep import sweep
    from breakglass_aws.models import IncidentStatus

    st = state(ctx)
    if bool(incident_id) == expired:
        raise UsageError("give either an INCIDENT_ID or --expired", "e.g. breakglass restore --expired")
    rt = st.runtime()
    settings = st.settings()
    rps = max_rps if max_rps is not None else settings.max_rps
    if rps is not None and not 0 < rps <= 1000:
        raise UsageError(f"--max-rps must be between 0 and 1000, got {rps}", "e.g. --max-rps 10")
    if workers is not None and not 1 <= workers <= 32:
        raise UsageError(f"--workers must be 1 to 32, got {workers}", "e.g. --workers 4")
    if incident_id:
        results = [restore_incident(rt, incident_id.strip())]
        results[0].status = IncidentStatus(stored_status(rt, results[0].incident_id, results[0].status.value))
        stuck: list[str] = []
    else:
        swept = sweep(rt, workers or _workers_for(settings.restore_workers, rps), rps)
        for lapsed in swept.lapsed:
            st.progress(f"request {lapsed} lapsed unactivated: its targets released")
        for closed in swept.finished:
            busy = f" (being closed by {closed.busy})" if closed.busy else ""
            st.progress(f"close of {closed.incident_id}: {closed.status.value}{busy}")
        results = swept.restored
        stuck = [c.incident_id for c in swept.finished if c.exit_code or c.status.value != "closed"]
    lines = [
        line
        for r in results
        for line in (
            restore_text(r) if not r.error or r.targets else [f"{r.incident_id}: FAILED ({r.status.value}): {r.error}"]
        )
    ]
    emit(st, [r.model_dump(mode="json") for r in results], lambda: lines or ["no expired incident to restore"])
    codes = [r.exit_code for r in results if r.exit_code]
    if codes:
        raise typer.Exit(8 if len(set(codes)) > 1 or len(results) > 1 else codes[0])
    if stuck:  # a cron job must see that clean-up is still pending, even with -q
        typer.echo(f"error: clean-up still pending: {', '.join(stuck)} (hint: see: breakglass list)", err=True)
        raise typer.Exit(8)


def _workers_for(configured: int, max_rps: float | None) -> int:
    """With a rate limit and no --workers: enough restores in flight to use it (each makes about
    four Organizations requests and waits on the store between them), at most 32."""
    if max_rps is None:
        return configured
    return max(configured, min(32, math.ceil(max_rps / 2)))


@journal_app.command("verify")
def verify_command(
    ctx: typer.Context,
    incident_id: Annotated[str | None, typer.Argument(help="Incident id (or --all).")] = None,
    all_: Annotated[
        bool, typer.Option("--all", help="Every incident in the store, and every anchored one missing from it.")
    ] = False,
    public_key: Annotated[
        Path | None,
        typer.Option(metavar="FILE", help="PEM public key of the signing key (default: read it from KMS)."),
    ] = None,
) -> None:
    """Check an incident's journal: its hash chain, the record against it, and the anchors and
    signatures written outside the store. Exit 4 when tampered with; 8 when a write was
    interrupted (the next close or restore of the incident finishes it)."""
    from breakglass_aws.errors import UsageError
    from breakglass_aws.incident.verify import deleted_incidents, journal_report

    st = state(ctx)
    if bool(incident_id) == all_:
        raise UsageError("give either an INCIDENT_ID or --all", "e.g. breakglass journal verify --all")
    pem = read_public_key(public_key)
    rt = st.runtime()
    ids = [incident_id.strip()] if incident_id else [i.incident_id for i in rt.store.list_incidents(limit=100_000)]
    reports = [journal_report(rt, i, pem) for i in ids]
    deleted = deleted_incidents(rt) if all_ else []
    data = [r.model_dump() | {"intact": r.intact, "problems": r.tampered + r.interrupted} for r in reports]
    lines = [line for r in reports for line in _report_text(r)]
    lines += [f"deleted: {d} (anchored outside the store, absent from it)" for d in deleted]
    emit(st, {"incidents": data, "deleted": deleted} if all_ else data[0], lambda: lines)
    verdict = _verdict(reports, deleted)
    if verdict is not None and st.json:
        raise typer.Exit(verdict.exit_code)
    if verdict is not None:
        raise verdict


def _verdict(found: list[JournalReport], deleted: list[str]) -> BreakglassError | None:
    """Tampering (exit 4) before an interrupted write (exit 8, finished by the next close)."""
    from breakglass_aws.errors import GuardRailError, PartialApplyError

    tampered = [f"journal of {r.incident_id} was tampered with: {'; '.join(r.tampered)}" for r in found if r.tampered]
    tampered += [f"{d} was deleted from the store (its anchors remain)" for d in deleted]
    if tampered:
        return GuardRailError("; ".join(tampered), "treat the incident record as untrusted; compare with CloudTrail")
    interrupted = [r for r in found if r.interrupted]
    if not interrupted:
        return None
    first = interrupted[0]
    return PartialApplyError(
        f"journal of {first.incident_id}: an interrupted write, not tampering: {'; '.join(first.interrupted)}",
        first.incident_id,
        f"finish it with: breakglass close {first.incident_id}",
    )


def _report_text(report: JournalReport) -> list[str]:
    verdict = "TAMPERED" if report.tampered else ("interrupted" if report.interrupted else "intact")
    lines = [f"journal of {report.incident_id}: {verdict}"]
    lines += [f"  tampered: {p}" for p in report.tampered] + [f"  interrupted: {p}" for p in report.interrupted]
    lines += [f"  checked: {c}" for c in report.checked]
    return lines


def _summary(incident: Incident, now: object) -> dict[str, object]:
    from breakglass_aws.models import ACTIVE_STATUSES, IncidentStatus
    from breakglass_aws.validate import format_duration

    data = incident.public()
    requested = incident.status in (IncidentStatus.REQUESTED, IncidentStatus.APPROVED)
    running = incident.closed_at is None and (incident.status in ACTIVE_STATUSES or requested)
    left = incident.expires_at - now if running else None  # type: ignore[operator]
    return {
        "incident_id": incident.incident_id,
        "status": incident.status.value,
        "mode": incident.mode.value,
        "targets": incident.targets,
        "reason": incident.reason,
        "ticket": incident.ticket,
        "requester": incident.requester.name,
        "created_at": data["created_at"],
        "expires_at": data["expires_at"],
        "time_left": format_duration(left) if left is not None else None,
        "status_reason": incident.status_reason,
        "override": incident.override,
    }


LIST_HEADER = f"{'INCIDENT':26} {'STATUS':16} {'MODE':6} {'LEFT':>8}"
DETAIL = "    "


def _list_text(found: list[Incident], now: object) -> list[str]:
    """A row per incident, then its targets whole (one a line: an ARN or an account id is never
    cut) and its reason wrapped to the terminal."""
    if not found:
        return ["no incidents"]
    import shutil
    import textwrap

    width = max(shutil.get_terminal_size((80, 24)).columns, 40)
    lines = [LIST_HEADER]
    for incident in found:
        left = _summary(incident, now)["time_left"]
        shown = "-" if not isinstance(left, str) else ("EXPIRED" if left.startswith("-") else left)
        status = incident.status.value + ("!OVERRIDE" if incident.override else "")
        lines.append(f"{incident.incident_id:26} {status:16} {incident.mode.value:6} {shown:>8}")
        lines += [f"{DETAIL}target: {_target_text(t)}" for t in incident.targets]
        lines += textwrap.wrap(
            incident.reason,
            width,
            initial_indent=f"{DETAIL}reason: ",
            subsequent_indent=DETAIL + " " * len("reason: "),
            break_long_words=False,
            break_on_hyphens=False,
        )
    for incident in found:
        if incident.status.value == "needs-attention":
            lines.append(
                f"! {incident.incident_id} NEEDS ATTENTION: {incident.status_reason} (then: {_finish_hint(incident)})"
            )
    return lines


def _target_text(target: str) -> str:
    """A role ARN as its account and role name (`123456789012 role/BreakGlassAdmin`); any other
    target (an account, an OU, s3://BUCKET@ACCOUNT, a queue URL) as it is."""
    if target.startswith("arn:") and target.count(":") >= 5:
        _, _, _, _, account, resource = target.split(":", 5)
        return f"{account} {resource}" if account else target
    return target


def _finish_hint(incident: Incident) -> str:
    """The command that finishes an incident that needs attention."""
    if incident.mode.value == "rotate":
        user = incident.targets[0].removeprefix("user/") if incident.targets else "NAME"
        return f"breakglass rotate --user {user}"
    return f"breakglass close {incident.incident_id}"


def _show_text(incident: Incident, entries: list[JournalEntry]) -> list[str]:
    data = incident.public()
    lines = [
        f"incident {incident.incident_id} ({incident.mode.value}) {incident.status.value}",
        f"  requester: {incident.requester.name} ({incident.requester.arn})",
        f"  reason: {incident.reason}" + (f"  ticket: {incident.ticket}" if incident.ticket else ""),
        f"  targets: {', '.join(incident.targets)}",
        f"  opened {data['created_at']}, expires {data['expires_at']}"
        + (f", closed {data['closed_at']}" if data["closed_at"] else ""),
    ]
    if incident.override:
        lines.insert(1, "  EMERGENCY OVERRIDE: opened without approvals (recorded and notified)")
    if incident.approvals_required:
        names = ", ".join(f"{a.name} ({a.principal})" for a in incident.approvals) or "none yet"
        lines.append(f"  approvals: {len(incident.approvals)}/{incident.approvals_required}: {names}")
    why = _why(incident)
    if why:
        lines.append(f"  why {incident.status.value}: {why}")
    lines.append("  timeline:")
    for e in entries:
        step = e.data.get("step")
        what = _step_text(step) if isinstance(step, dict) else ""
        extra = "" if "ok" not in e.data else (" ok" if e.data["ok"] else f" FAILED: {e.data.get('error')}")
        lines.append(f"    {e.seq:3} {e.at} {e.kind:18} {what}{extra}")
    return lines


REASONS = {"restored": "by a restore (scp restore or the expiry sweep); no rotation was planned"}


def _why(incident: Incident) -> str | None:
    """What led to the status (the header says the status itself, once)."""
    reason = incident.status_reason
    if not reason or reason == incident.status.value:
        return None
    return REASONS.get(reason, reason)


def _step_text(step: dict[str, object]) -> str:
    """One journaled step as a line: SCP steps as `attach p-1 ou-x`, others as their fields."""
    if "policy_id" in step and "target" in step:
        return f"{step.get('action', '?')} {step['policy_id']} {step['target']}"
    fields = " ".join(f"{k}={v}" for k, v in step.items() if k != "action" and v not in (None, "", [], {}))
    return f"{step.get('action', 'step')} {fields}".rstrip()
