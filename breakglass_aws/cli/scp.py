"""`breakglass scp detach|restore`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from breakglass_aws.cli.common.output import confirm, emit
from breakglass_aws.cli.common.request import (
    OVERRIDE_HELP,
    OVERRIDE_LINE,
    WAIT_HELP,
    announce_request,
    approvals_needed,
    override_banner,
    wait_for_approval,
)
from breakglass_aws.cli.common.views import opened_output, restore_text, stored_status
from breakglass_aws.cli.group import HelpGroup
from breakglass_aws.cli.state import state

if TYPE_CHECKING:
    from breakglass_aws.scp.plan import DetachPlan, InheritedDeny

app = typer.Typer(
    cls=HelpGroup,
    rich_markup_mode=None,
    help="SCP mode: detach blocking Service Control Policies, then restore them exactly.",
    no_args_is_help=True,
)


@app.command()
def detach(
    ctx: typer.Context,
    target: Annotated[str, typer.Option(metavar="ID", help="Account id, OU id (ou-...) or root id (r-...).")],
    reason: Annotated[str, typer.Option(metavar="TEXT", help="Why the glass is broken (recorded and notified).")],
    ticket: Annotated[str | None, typer.Option(metavar="REF", help="Ticket or incident reference.")] = None,
    policy: Annotated[
        list[str] | None, typer.Option(metavar="POLICY_ID", help="Detach only this SCP (repeatable).")
    ] = None,
    rcp: Annotated[
        list[str] | None,
        typer.Option(
            metavar="POLICY_ID",
            help="Detach this resource control policy from the target (repeatable); SCPs then only with --policy.",
        ),
    ] = None,
    ttl: Annotated[
        str | None,
        typer.Option(metavar="DURATION", help="Time until automatic restore, e.g. 1h (default from config)."),
    ] = None,
    allow_root: Annotated[bool, typer.Option("--allow-root", help="Allow the organization root as target.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show the plan and stop; change nothing.")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    emergency_override: Annotated[bool, typer.Option("--emergency-override", help=OVERRIDE_HELP)] = False,
    wait: Annotated[bool, typer.Option("--wait", help=WAIT_HELP)] = False,
    join: Annotated[
        bool,
        typer.Option(
            "--join", help="Share the target with its open incident (the SCPs come back when the last one closes)."
        ),
    ] = False,
) -> None:
    """Detach the SCPs that block emergency work from TARGET, through the crash-safe journal."""
    from breakglass_aws.incident.scp import check_ttl, open_scp_incident, plan_scp_detach, validate_detach_target
    from breakglass_aws.parallel import beside
    from breakglass_aws.runtime import whoami
    from breakglass_aws.validate import parse_duration, validate_reason, validate_target, validate_ticket

    st = state(ctx)
    why = validate_reason(reason)
    ref = validate_ticket(ticket)
    wanted = parse_duration(ttl, what="--ttl") if ttl else None
    validate_target(target)
    if wait or join:
        st.require_shared("--wait" if wait else "--join")
    rt = st.runtime()
    lifetime = check_ttl(rt, wanted)
    validate_detach_target(rt, target.strip(), policy or [], allow_root, rcp or [])
    rt.factory.client("sts")  # built here: botocore builds clients on one thread only
    identity = beside(lambda: whoami(rt))  # in flight with the plan's reads
    unasked = yes and not dry_run and not approvals_needed(st, emergency_override)
    plan = plan_scp_detach(rt, target.strip(), policy or [], allow_root, join, walk_beside=unasked, rcps=rcp or [])
    requester = identity.result()
    if dry_run or not st.json:
        emit(st, _plan_json(plan, dry_run=True), lambda: _plan_text(plan, lifetime.total_seconds()))
    if dry_run:
        return
    needed = approvals_needed(st, emergency_override)
    if needed:
        from breakglass_aws.incident.approvals import activate
        from breakglass_aws.incident.scp import new_scp_incident
        from breakglass_aws.models import IncidentStatus

        request = new_scp_incident(
            rt, plan, requester, why, ref, lifetime, IncidentStatus.REQUESTED, approvals_required=needed, join=join
        )
        announce_request(st, request, wait)
        if not wait:
            return
        wait_for_approval(st, request.incident_id, st.settings().approval_wait_seconds)
        opened_output(st, activate(rt, request.incident_id, requester, None)[0])
        return
    if st.json and not yes:  # the plan goes to stderr, so stdout stays one JSON document
        typer.echo("\n".join(_plan_text(plan, lifetime.total_seconds())), err=True)
    confirm(st, f"Detach {_counted(plan)} from {target}?", yes)
    if emergency_override:
        override_banner()
    incident = open_scp_incident(rt, plan, requester, why, ref, lifetime, override=emergency_override, join=join)
    if unasked and not st.json and plan.inherited_denies:  # read beside the detach: said now
        st.progress("\n".join(_inherited_lines(plan.inherited_denies)))
    opened_output(st, incident)


@app.command()
def restore(
    ctx: typer.Context,
    incident_id: Annotated[str, typer.Argument(help="The incident to restore.")],
    accept_drift: Annotated[
        bool, typer.Option("--accept-drift", help="Close even if a detached policy was deleted meanwhile.")
    ] = False,
) -> None:
    """Re-attach exactly what the incident detached, remove FullAWSAccess if it was added, verify."""
    from breakglass_aws.incident.close import restore_incident

    st = state(ctx)
    rt = st.runtime()
    result = restore_incident(rt, incident_id.strip(), accept_drift)
    now = stored_status(rt, result.incident_id, result.status.value)
    flag = [OVERRIDE_LINE] if result.override else []
    emit(st, {**result.model_dump(mode="json"), "status": now}, lambda: flag + restore_text(result, now))
    if result.exit_code:
        raise typer.Exit(result.exit_code)


def _plan_json(plan: DetachPlan, dry_run: bool) -> dict[str, object]:
    return {
        "dry_run": dry_run,
        "target": plan.snapshot.target,
        "attached": [p.id for p in plan.snapshot.original],
        "detach": plan.snapshot.detach,
        "attach_full_access_first": plan.snapshot.attach_full_access,
        "steps": [s.describe() for s in plan.steps],
        "blast_radius": plan.blast_radius,
        "inherited_denies": [d.model_dump() for d in plan.inherited_denies],
        "rcps": plan.snapshot.rcps(),
        "rcps_on_path": [d.model_dump() for d in plan.rcps_on_path],
    }


def _counted(plan: DetachPlan) -> str:
    rcps = len(plan.snapshot.rcps())
    scps = f"{len(plan.snapshot.detach) - rcps} SCP(s)"
    return f"{scps} and {rcps} RCP(s)" if rcps else scps


def _inherited_lines(denies: list[InheritedDeny]) -> list[str]:
    if not denies:
        return []
    return [
        "  WARNING: Deny SCPs inherited from above stay in force (a detach here does not lift them):",
        *(f"    {d.policy_id} ({d.name}) on {d.attached_to}: {d.deny_statements} Deny statement(s)" for d in denies),
    ]


def _rcp_lines(plan: DetachPlan) -> list[str]:
    if not plan.snapshot.rcps():
        return []
    detached = set(plan.snapshot.rcps())
    lines = ["  resource control policies with Deny statements on the path:"]
    for deny in plan.rcps_on_path:
        state = (
            "detached by this incident"
            if deny.policy_id in detached and deny.attached_to == plan.snapshot.target
            else "stays"
        )
        lines.append(
            f"    {deny.policy_id} ({deny.name}) on {deny.attached_to}: "
            f"{deny.deny_statements} Deny statement(s), {state}"
        )
    return lines if plan.rcps_on_path else [*lines, "    none"]


def _plan_text(plan: DetachPlan, ttl_seconds: float) -> list[str]:
    snap = plan.snapshot
    names = {p.id: f"{p.id} ({p.name})" if p.name else p.id for p in snap.original}
    lines = [f"Plan for {snap.target} ({snap.kind}):", f"  attached now: {', '.join(names.values())}"]
    lines += [f"  {n}. {s.describe()}" for n, s in enumerate(plan.steps, 1)]
    radius = plan.blast_radius
    shown = ", ".join(radius[:10]) + (f", ... (+{len(radius) - 10})" if len(radius) > 10 else "")
    lines.append(f"  accounts whose effective policies change: {len(radius)}: {shown}")
    if plan.walking:
        lines.append("  inherited Deny SCPs: read beside the detach, said when it is done")
    lines += _inherited_lines(plan.inherited_denies)
    lines += _rcp_lines(plan)
    lines.append(f"  automatic restore after {int(ttl_seconds // 60)} minute(s)")
    return lines
