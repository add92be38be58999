"""`breakglass role assume|revoke-sessions`, `breakglass exec`, `breakglass close`."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from breakglass_aws.cli.common.credentials import (
    FORMATS,
    PASS_THROUGH,
    command_after,
    deliver,
    prompt_code,
    run_with,
    usage,
)
from breakglass_aws.cli.common.output import emit
from breakglass_aws.cli.common.request import (
    OVERRIDE_HELP,
    WAIT_HELP,
    announce_request,
    approvals_needed,
    override_banner,
    override_lines,
    wait_for_approval,
)
from breakglass_aws.cli.common.views import close_text, opened_output, revoke_text, rotate_text, stored_status
from breakglass_aws.cli.group import HelpGroup
from breakglass_aws.cli.state import CliState, state

if TYPE_CHECKING:
    from concurrent.futures import Future

    from breakglass_aws.incident.plan import CloseRequest
    from breakglass_aws.incident.role import RoleChoice
    from breakglass_aws.models import Incident, Requester
    from breakglass_aws.role.assume import AssumeRequest, Credentials
    from breakglass_aws.runtime import Runtime

app = typer.Typer(
    cls=HelpGroup,
    rich_markup_mode=None,
    help="Role mode: assume the pre-staged break-glass role with MFA and attribution; revoke its sessions.",
    no_args_is_help=True,
)


@app.command(context_settings=PASS_THROUGH)
def assume(
    ctx: typer.Context,
    reason: Annotated[str, typer.Option(metavar="TEXT", help="Why the glass is broken (recorded and notified).")],
    account: Annotated[str | None, typer.Option(metavar="ID", help="Account of the break-glass role.")] = None,
    role_arn: Annotated[str | None, typer.Option(metavar="ARN", help="Full role ARN instead of --account.")] = None,
    role_name: Annotated[str | None, typer.Option(metavar="NAME", help="Role name (default from config).")] = None,
    ticket: Annotated[str | None, typer.Option(metavar="REF", help="Ticket or incident reference.")] = None,
    mfa_serial: Annotated[str | None, typer.Option(metavar="ARN", help="MFA device (default from config).")] = None,
    token_code: Annotated[
        str | None, typer.Option(metavar="CODE", help="6-digit MFA code (prompted if absent).")
    ] = None,
    duration: Annotated[str | None, typer.Option(metavar="DURATION", help="Session length, e.g. 1h.")] = None,
    fmt: Annotated[
        str | None,
        typer.Option(
            "--format",
            metavar="env|json|credential-process",
            help="Credential output (default: env; json with --output json).",
        ),
    ] = None,
    console: Annotated[bool, typer.Option("--console", help="Print a console sign-in URL instead.")] = False,
    emergency_override: Annotated[bool, typer.Option("--emergency-override", help=OVERRIDE_HELP)] = False,
    wait: Annotated[bool, typer.Option("--wait", help=WAIT_HELP)] = False,
    no_agent: Annotated[
        bool, typer.Option("--no-agent", help="A new incident even if one is open; start no credentials agent.")
    ] = False,
) -> None:
    """Open a role incident and hand out credentials; `-- COMMAND ...` runs a command with them.
    While it is open, later runs for the same role are served its credentials by the agent."""
    from breakglass_aws.validate import check_text, validate_reason, validate_ticket

    st = state(ctx)
    why, ref = validate_reason(reason), validate_ticket(ticket)
    if role_name is not None:
        check_text(role_name, "--role-name")
    fmt = fmt or ("json" if st.json else "env")
    if fmt not in FORMATS:
        raise usage(f"invalid --format {fmt!r}", "use env, json or credential-process")
    command = command_after(ctx)
    if wait:
        st.require_shared("--wait")
    rt = st.runtime()
    from breakglass_aws.incident.role import choose_role

    choice = choose_role(rt, account, role_arn, role_name, mfa_serial, token_code, duration)
    ask = _Ask(why, ref, emergency_override, wait, fmt)
    got = _served_or_opened(st, rt, choice, ask, no_agent)
    if got is not None:
        incident, creds, request, announce = got
        deliver(st, rt, incident.incident_id, creds, request, fmt, console, command, announce=announce)


@dataclass
class _Ask:
    why: str
    ticket: str | None
    override: bool
    wait: bool
    fmt: str
    rejoin: bool = False


Opened = tuple["Incident", "Credentials", "AssumeRequest", Callable[[], None] | None]


def _served_or_opened(st: CliState, rt: Runtime, choice: RoleChoice, ask: _Ask, no_agent: bool) -> Opened | None:
    """The agent's credentials of the open incident, else a new incident (and its agent). Runs
    starting together wait for each other here, so they share one incident."""
    from breakglass_aws.incident.agent import Agent
    from breakglass_aws.incident.role import request_for

    agent = None if no_agent or not rt.role.agent else Agent.find(rt, choice.role_arn)
    with agent.held() if agent else contextlib.nullcontext():
        reused = agent.reuse() if agent else None
        if reused is not None:
            incident, creds = reused
            st.progress(
                f"incident {incident.incident_id}: served by the credentials agent (no new incident, no AssumeRole); "
                f"close with: breakglass close {incident.incident_id}"
            )
            return incident, creds, request_for(rt, incident)[1], None
        ask.rejoin = agent is not None
        got = _open(st, rt, choice, ask)
        if got is not None and agent is not None:
            agent.start(got[0], got[1])
        return got


def _open(st: CliState, rt: Runtime, choice: RoleChoice, ask: _Ask) -> Opened | None:
    from breakglass_aws.incident.role import declared, identity_in_flight, preflight, role_whoami, still_open

    needed = approvals_needed(st, ask.override)
    if needed and st.offline:
        raise usage(
            "approvals are configured, but a request kept in the offline store can never be approved",
            "add --emergency-override (recorded and notified), or run without --offline-store",
        )
    if not needed and choice.mfa_serial and choice.token_code is None:  # bad input before any call
        choice.token_code = prompt_code(on_terminal=ask.fmt == "credential-process")
    known = None if needed else declared(rt, choice)
    if known is not None:  # GetCallerIdentity and AssumeRole in flight together
        identity = identity_in_flight(rt)
        if not (ask.rejoin and still_open(rt, known, choice.role_arn, by_name=True)):
            return _opened(st, rt, choice, ask, known, identity)
        requester = identity.result()
    else:
        requester = role_whoami(rt)
        preflight(rt, choice, requester)
    if needed:
        return _request_role(st, rt, choice, ask, needed, requester)
    if ask.rejoin and (rejoined := _rejoin(st, rt, choice, requester)) is not None:
        return rejoined
    return _opened(st, rt, choice, ask, requester, None)


def _opened(
    st: CliState, rt: Runtime, choice: RoleChoice, ask: _Ask, requester: Requester, identity: Future[Requester] | None
) -> Opened:
    from breakglass_aws.incident.role import announce_activation, identify, open_role_incident

    if ask.override:
        override_banner()
    incident, creds, request = open_role_incident(
        rt, choice, requester, ask.why, ask.ticket, override=ask.override, announce=False
    )
    if identity is not None:
        identify(rt, incident, identity)
    st.progress(
        f"incident {incident.incident_id} {incident.status.value}: {request.role_arn} as {request.source_identity}, "
        f"expires {incident.public()['expires_at']}; close with: breakglass close {incident.incident_id}"
    )
    return incident, creds, request, lambda: announce_activation(rt, incident, request)


def _rejoin(st: CliState, rt: Runtime, choice: RoleChoice, requester: Requester) -> Opened | None:
    """An open incident of this requester and role whose agent stopped: new credentials for it
    (the same incident, as `exec` gets them), not a second incident."""
    from breakglass_aws.incident.role import reassume, request_for, still_open

    incident = still_open(rt, requester, choice.role_arn)
    if incident is None:
        return None
    incident, creds = reassume(rt, incident.incident_id, choice.token_code)
    st.progress(
        f"incident {incident.incident_id} is still open: new credentials for it (its agent had stopped); "
        f"close with: breakglass close {incident.incident_id}"
    )
    return incident, creds, request_for(rt, incident)[1], None


def _request_role(
    st: CliState, rt: Runtime, choice: RoleChoice, ask: _Ask, needed: int, requester: Requester
) -> Opened | None:
    from breakglass_aws.errors import GuardRailError
    from breakglass_aws.incident.approvals import activate
    from breakglass_aws.incident.role import new_role_incident, request_for
    from breakglass_aws.models import IncidentStatus

    incident, _ = new_role_incident(
        rt, choice, requester, ask.why, ask.ticket, IncidentStatus.REQUESTED, approvals_required=needed
    )
    if not ask.wait:
        _still_requested(incident, ask.fmt)
    announce_request(st, incident, ask.wait)
    try:
        wait_for_approval(st, incident.incident_id, st.settings().approval_wait_seconds)
    except GuardRailError as err:
        _still_requested(rt.store.get_incident(incident.incident_id), ask.fmt, err.message)
    code = choice.token_code or (
        prompt_code(on_terminal=ask.fmt == "credential-process") if choice.mfa_serial else None
    )
    incident, creds = activate(rt, incident.incident_id, requester, code)
    if creds is None:  # activated without credentials to hand over: what it opened is shown
        opened_output(st, incident)
        return None
    _, request = request_for(rt, incident)
    return incident, creds, request, None


def _still_requested(incident: Incident, fmt: str, problem: str | None = None) -> NoReturn:
    """No credentials yet: nothing a consumer could mistake for them on stdout (the aws CLI
    reads credential_process output, `eval` reads env), except one JSON document with
    --format json; what happened and the next step on stderr; exit 4."""
    from breakglass_aws.errors import GuardRailError
    from breakglass_aws.models import IncidentStatus

    incident_id = incident.incident_id
    then = f"breakglass activate {incident_id} --format {fmt}"
    if fmt == "json":
        data = {
            "incident_id": incident_id,
            "status": incident.status.value,
            "approvals_required": incident.approvals_required,
            "approvals": len(incident.approvals),
            "approve_with": f"breakglass approve {incident_id}",
            "then": then,
            "problem": problem,
        }
        typer.echo(json.dumps(data, indent=2, sort_keys=True))
    what = problem or (
        f"incident {incident_id} is {incident.status.value}: no credentials yet; "
        f"it needs {incident.approvals_required} approval(s) from someone else"
    )
    if incident.status is IncidentStatus.REQUESTED:
        typer.echo(f"{what}; an approver runs: breakglass approve {incident_id}; then you run: {then}", err=True)
    else:
        typer.echo(what, err=True)
    raise typer.Exit(GuardRailError.exit_code)


@app.command("revoke-sessions")
def revoke_sessions(
    ctx: typer.Context,
    account: Annotated[str | None, typer.Option(metavar="ID", help="Account of the break-glass role.")] = None,
    role_arn: Annotated[str | None, typer.Option(metavar="ARN", help="Full role ARN instead of --account.")] = None,
    role_name: Annotated[str | None, typer.Option(metavar="NAME", help="Role name (default from config).")] = None,
    before: Annotated[str | None, typer.Option(metavar="TIMESTAMP", help="Cut-off, ISO 8601 (default: now).")] = None,
    reason: Annotated[str, typer.Option(metavar="TEXT", help="Why (recorded).")] = "revoke break-glass sessions",
) -> None:
    """Deny every session of the role issued before the cut-off (inline AWSRevokeOlderSessions)."""
    from breakglass_aws.incident.role import choose_role, revoke_role_sessions
    from breakglass_aws.runtime import whoami
    from breakglass_aws.validate import check_text, parse_timestamp, validate_reason

    st = state(ctx)
    why = validate_reason(reason)
    if role_name is not None:
        check_text(role_name, "--role-name")
    cutoff = parse_timestamp(before) if before else None
    rt = st.runtime()
    choice = choose_role(rt, account, role_arn, role_name, None, None, None)
    result = revoke_role_sessions(rt, choice.role_arn, whoami(rt), cutoff, why)
    emit(st, result.model_dump(mode="json"), lambda: revoke_text(result))


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="role")
    root.command("exec", context_settings=PASS_THROUGH)(exec_command)
    root.command("close")(close_command)
    root.command("rotate")(rotate_command)


def rotate_command(
    ctx: typer.Context,
    user: Annotated[str, typer.Option(metavar="NAME", help="The break-glass IAM user.")],
    secret_id: Annotated[str | None, typer.Option(metavar="ID", help="Secret (default: secret_prefix + user).")] = None,
    no_password: Annotated[bool, typer.Option("--no-password", help="Leave the console password alone.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show the steps and stop.")] = False,
    reason: Annotated[str, typer.Option(metavar="TEXT", help="Why (recorded).")] = "scheduled rotation",
) -> None:
    """Rotate a break-glass user's access key and password into Secrets Manager; never prints them."""
    from breakglass_aws.incident.rotation import rotate_standalone, validate_user
    from breakglass_aws.runtime import whoami
    from breakglass_aws.validate import check_text, validate_reason

    st = state(ctx)
    check_text(user, "--user")
    validate_user(user, secret_id)
    why = validate_reason(reason)
    rt = st.runtime()
    result = rotate_standalone(rt, whoami(rt), user, secret_id, not no_password, dry_run, why)
    now = None if dry_run else stored_status(rt, result.incident_id, "unknown")
    emit(st, result.model_dump(mode="json"), lambda: rotate_text(result, now))


def exec_command(
    ctx: typer.Context,
    incident_id: Annotated[str, typer.Argument(help="An active role incident.")],
    token_code: Annotated[
        str | None, typer.Option(metavar="CODE", help="6-digit MFA code (prompted if absent).")
    ] = None,
) -> None:
    """Run `-- COMMAND ...` with fresh credentials of an active role incident (never written to disk)."""
    from breakglass_aws.incident.role import reassume
    from breakglass_aws.role.assume import validate_token_code
    from breakglass_aws.validate import validate_incident_id

    st = state(ctx)
    validate_incident_id(incident_id)
    command = command_after(ctx)
    if not command:
        raise usage("no command given", "e.g. breakglass exec INCIDENT_ID -- aws sts get-caller-identity")
    if token_code is not None:
        validate_token_code(token_code)
    rt = st.runtime()
    incident = rt.store.get_incident(incident_id)
    if incident.role and incident.role.mfa_serial and token_code is None:
        token_code = prompt_code()
    if st.region and incident.role and st.region != incident.role.region:
        st.progress(
            f"warning: --region {st.region} is ignored: {incident_id} was opened in {incident.role.region} "
            "and its credentials are for that region (give the child its own --region after the incident id)"
        )
    incident, creds = reassume(rt, incident_id, token_code)
    run_with(creds, incident.access().region, command)


def close_command(
    ctx: typer.Context,
    incident_id: Annotated[str, typer.Argument(help="The incident to close.")],
    user: Annotated[list[str] | None, typer.Option(metavar="NAME", help="Rotate this user (repeatable).")] = None,
    skip_rotation: Annotated[bool, typer.Option("--skip-rotation", help="Do not rotate credentials.")] = False,
    accept_drift: Annotated[bool, typer.Option("--accept-drift", help="Close despite deleted policies.")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """End an incident: restore SCPs, revoke role sessions, rotate the break-glass users. Rerun to resume."""
    from breakglass_aws.cli.common.output import confirm
    from breakglass_aws.incident.close import finish_close
    from breakglass_aws.incident.plan import CloseRequest
    from breakglass_aws.incident.rotation import validate_user
    from breakglass_aws.validate import validate_incident_id

    st = state(ctx)
    incident_id = validate_incident_id(incident_id.strip())
    for name in user or []:
        validate_user(name, None)
    rt = st.runtime()
    incident = rt.store.get_incident(incident_id)
    question = _close_question(rt, incident, CloseRequest(users=user, skip_rotation=skip_rotation))
    if question is not None:
        confirm(st, question, yes)
    from breakglass_aws.cli.common.options import evidence_options

    evidence = evidence_options(st)
    request = CloseRequest(users=user, skip_rotation=skip_rotation, accept_drift=accept_drift, evidence=evidence)
    result = finish_close(rt, incident, None, request)  # the caller is read only if a revocation needs it
    now = stored_status(rt, incident_id, result.status.value)
    data = {**result.model_dump(mode="json"), "status": now, "override": incident.override}
    emit(st, data, lambda: override_lines(incident) + close_text(result, now))
    if result.exit_code:
        raise typer.Exit(result.exit_code)


CLOSE_PLANS = {"scp": "restore the detached policies", "role": "revoke the role's sessions"}


def _close_question(rt: Runtime, incident: Incident, request: CloseRequest) -> str | None:
    """What a close will do, to confirm; None when it will change nothing in AWS or refuse first
    (an ended incident is checked, a rotation or a request is refused before any change)."""
    from breakglass_aws.errors import UsageError
    from breakglass_aws.incident.plan import planned_users
    from breakglass_aws.models import ACTIVE_STATUSES, Mode

    incident_id = incident.incident_id
    if incident.status not in ACTIVE_STATUSES or incident.mode is Mode.ROTATE:
        return None
    if incident.mode is Mode.ROOT:
        if request.users:
            raise UsageError(
                f"{incident_id} is a root-task incident: its close rotates no user",
                f"leave out --user; rotate separately with: breakglass rotate --user {request.users[0]}",
            )
        task = incident.root.task if incident.root else "root task"
        return (
            f"End {incident_id} ({task} on {', '.join(incident.targets)}): nothing more is sent to AWS; "
            "a change left in doubt is read back and journaled; then it is closed?"
        )
    users = planned_users(rt, incident, request)
    rotation = f", rotate {', '.join(users)}" if users else ", rotate no user"
    return f"Close {incident_id}: {CLOSE_PLANS[incident.mode.value]}{rotation}?"
