"""`breakglass role assume|revoke-sessions`, `breakglass exec`, `breakglass close`."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated

import typer

from breakglass_aws.cli.approvals import (
    OVERRIDE_HELP,
    OVERRIDE_LINE,
    WAIT_HELP,
    announce_request,
    approvals_needed,
    override_banner,
    override_lines,
    wait_for_approval,
)
from breakglass_aws.cli.render import emit
from breakglass_aws.cli.state import CliState, state

if TYPE_CHECKING:
    from breakglass_aws.close import CloseResult
    from breakglass_aws.role import AssumeRequest, Credentials
    from breakglass_aws.role_incident import RoleChoice
    from breakglass_aws.runtime import Runtime

app = typer.Typer(
    rich_markup_mode=None,
    help="Role mode: assume the pre-staged break-glass role with MFA and attribution; revoke its sessions.",
    no_args_is_help=True,
)
PASS_THROUGH = {"allow_extra_args": True, "ignore_unknown_options": True}
FORMATS = ("env", "json", "credential-process")


@app.command(context_settings=PASS_THROUGH)
def assume(
    ctx: typer.Context,
    reason: Annotated[str, typer.Option(metavar="TEXT", help="Why the glass is broken (required).")] = "",
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
        str, typer.Option("--format", metavar="env|json|credential-process", help="Credential output.")
    ] = "env",
    console: Annotated[bool, typer.Option("--console", help="Print a console sign-in URL instead.")] = False,
    emergency_override: Annotated[bool, typer.Option("--emergency-override", help=OVERRIDE_HELP)] = False,
    wait: Annotated[bool, typer.Option("--wait", help=WAIT_HELP)] = False,
) -> None:
    """Open a role incident and hand out credentials; `-- COMMAND ...` runs a command with them."""
    from breakglass_aws.role_incident import announce_activation, choose_role, open_role_incident
    from breakglass_aws.runtime import whoami
    from breakglass_aws.validate import check_text, validate_reason, validate_ticket

    st = state(ctx)
    why, ref = validate_reason(reason), validate_ticket(ticket)
    if role_name is not None:
        check_text(role_name, "--role-name")
    if fmt not in FORMATS:
        raise _usage(f"invalid --format {fmt!r}", "use env, json or credential-process")
    command = _command(ctx)
    if wait:
        st.require_shared("--wait")
    rt = st.runtime()
    choice = choose_role(rt, account, role_arn, role_name, mfa_serial, token_code, duration)
    needed = approvals_needed(st, emergency_override)
    if needed and st.offline:
        raise _usage(
            "approvals are configured, but a request kept in the offline store can never be approved",
            "add --emergency-override (recorded and notified), or run without --offline-store",
        )
    if needed:
        _request_role(st, rt, choice, why, ref, needed, wait, (fmt, console, command))
        return
    if choice.mfa_serial and choice.token_code is None:
        choice.token_code = _prompt_code()
    requester = whoami(rt)
    if emergency_override:
        override_banner()
    incident, creds, request = open_role_incident(
        rt, choice, requester, why, ref, override=emergency_override, announce=False
    )
    st.progress(
        f"incident {incident.incident_id}: {request.role_arn} as {request.source_identity}, "
        f"expires {incident.public()['expires_at']}; close with: breakglass close {incident.incident_id}"
    )
    deliver(
        st,
        rt,
        incident.incident_id,
        creds,
        request,
        fmt,
        console,
        command,
        announce=lambda: announce_activation(rt, incident, request),
    )


def _request_role(
    st: CliState,
    rt: Runtime,
    choice: RoleChoice,
    why: str,
    ref: str | None,
    needed: int,
    wait: bool,
    output: tuple[str, bool, list[str]],
) -> None:
    from breakglass_aws.approval_flow import activate
    from breakglass_aws.models import IncidentStatus
    from breakglass_aws.role_incident import new_role_incident, request_for
    from breakglass_aws.runtime import whoami

    requester = whoami(rt)
    incident, _ = new_role_incident(
        rt, choice, requester, why, ref, IncidentStatus.REQUESTED, approvals_required=needed
    )
    announce_request(st, incident, wait)
    if not wait:
        return
    wait_for_approval(st, incident.incident_id, st.settings().approval_wait_seconds)
    code = choice.token_code or (_prompt_code() if choice.mfa_serial else None)
    incident, creds = activate(rt, incident.incident_id, requester, code)
    assert creds is not None  # noqa: S101
    _, request = request_for(rt, incident)
    deliver(st, rt, incident.incident_id, creds, request, *output)


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
    from breakglass_aws.close import revoke_role_sessions
    from breakglass_aws.errors import BreakglassError
    from breakglass_aws.role_incident import choose_role
    from breakglass_aws.runtime import whoami
    from breakglass_aws.validate import check_text, parse_timestamp, validate_reason

    st = state(ctx)
    why = validate_reason(reason)
    if role_name is not None:
        check_text(role_name, "--role-name")
    cutoff = parse_timestamp(before) if before else None
    rt = st.runtime()
    choice = choose_role(rt, account, role_arn, role_name, None, None, None)
    try:
        result = revoke_role_sessions(rt, choice.role_arn, whoami(rt), cutoff, why)
    except BreakglassError as err:
        if err.remediation and "resumes" in err.remediation:  # a rerun records a new revocation
            err.remediation = (
                "rerun the same `breakglass role revoke-sessions` command when IAM is back "
                "(it records a new revocation; an earlier cut-off is never lost)"
            )
        raise
    emit(st, result.model_dump(mode="json"), lambda: close_text(result))


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
    from breakglass_aws.rotation_run import rotate_standalone, validate_user
    from breakglass_aws.runtime import whoami
    from breakglass_aws.validate import check_text, validate_reason

    st = state(ctx)
    check_text(user, "--user")
    validate_user(user, secret_id)
    why = validate_reason(reason)
    rt = st.runtime()
    result = rotate_standalone(rt, whoami(rt), user, secret_id, not no_password, dry_run, why)
    emit(st, result.model_dump(mode="json"), lambda: rotate_text(result))


def rotate_text(result: object) -> list[str]:
    from breakglass_aws.rotation_run import RotationResult

    assert isinstance(result, RotationResult)  # noqa: S101
    if result.dry_run:
        return [f"rotation plan for {result.user} (dry run, nothing changed):"] + [
            f"  {n}. {step}" for n, step in enumerate(result.steps, 1)
        ]
    lines = [f"resumed {result.incident_id}"] if result.resumed else []
    lines.append(f"rotated {result.user}: new access key {result.new_key_id} stored in {result.secret_id}")
    lines.append(
        f"  deleted: {', '.join(result.deleted_keys) or 'no old key'}"
        + ("; console password reset" if result.password_reset else "")
    )
    if result.verified:
        lines.append(_rotation_proof(result.verified))
    lines.append(f"  journal: breakglass show {result.incident_id}")
    return lines


def _rotation_proof(proof: object) -> str:
    from breakglass_aws.rotation import RotationProof

    assert isinstance(proof, RotationProof)  # noqa: S101
    return (
        f"  verified: {proof.active_key_id} is the only key left, active and in the secret; "
        f"old keys gone: {', '.join(proof.old_keys_gone) or 'none'}"
    )


def exec_command(
    ctx: typer.Context,
    incident_id: Annotated[str, typer.Argument(help="An active role incident.")],
    token_code: Annotated[
        str | None, typer.Option(metavar="CODE", help="6-digit MFA code (prompted if absent).")
    ] = None,
) -> None:
    """Run `-- COMMAND ...` with fresh credentials of an active role incident (never written to disk)."""
    from breakglass_aws.role import validate_token_code
    from breakglass_aws.role_incident import reassume
    from breakglass_aws.validate import validate_incident_id

    st = state(ctx)
    validate_incident_id(incident_id)
    command = _command(ctx)
    if not command:
        raise _usage("no command given", "e.g. breakglass exec INCIDENT_ID -- aws sts get-caller-identity")
    if token_code is not None:
        validate_token_code(token_code)
    rt = st.runtime()
    incident = rt.store.get_incident(incident_id)
    if incident.role and incident.role.mfa_serial and token_code is None:
        token_code = _prompt_code()
    if st.region and incident.role and st.region != incident.role.region:
        st.progress(
            f"warning: --region {st.region} is ignored: {incident_id} was opened in {incident.role.region} "
            "and its credentials are for that region (give the child its own --region after the incident id)"
        )
    incident, creds = reassume(rt, incident_id, token_code)
    assert incident.role is not None  # noqa: S101
    _run(creds, incident.role.region, command)


def close_command(
    ctx: typer.Context,
    incident_id: Annotated[str, typer.Argument(help="The incident to close.")],
    user: Annotated[list[str] | None, typer.Option(metavar="NAME", help="Rotate this user (repeatable).")] = None,
    skip_rotation: Annotated[bool, typer.Option("--skip-rotation", help="Do not rotate credentials.")] = False,
    accept_drift: Annotated[bool, typer.Option("--accept-drift", help="Close despite deleted policies.")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """End an incident: restore SCPs, revoke role sessions, rotate the break-glass users. Rerun to resume."""
    from breakglass_aws.cli.render import confirm
    from breakglass_aws.close import CloseRequest, close_incident, planned_users
    from breakglass_aws.rotation_run import validate_user
    from breakglass_aws.runtime import whoami
    from breakglass_aws.validate import validate_incident_id

    st = state(ctx)
    incident_id = validate_incident_id(incident_id.strip())
    for name in user or []:
        validate_user(name, None)
    rt = st.runtime()
    incident = rt.store.get_incident(incident_id)
    if incident.status.value not in ("closed", "failed", "denied"):
        users = planned_users(rt, incident, CloseRequest(users=user, skip_rotation=skip_rotation))
        plan = {"scp": "restore the detached SCPs", "role": "revoke the role's sessions"}.get(incident.mode.value, "")
        rotation = f", rotate {', '.join(users)}" if users else ""
        confirm(st, f"Close {incident_id}: {plan}{rotation}?", yes)
    from breakglass_aws.cli.evidence import options

    result = close_incident(rt, incident_id, whoami(rt), user, skip_rotation, accept_drift, options(st))
    data = {**result.model_dump(mode="json"), "override": incident.override}
    emit(st, data, lambda: override_lines(incident) + close_text(result))
    if result.exit_code:
        raise typer.Exit(result.exit_code)


def close_text(result: CloseResult) -> list[str]:
    from breakglass_aws.cli.scp import restore_text

    if result.busy:
        return [f"{result.incident_id} is being closed by {result.busy}; see: breakglass show {result.incident_id}"]
    if result.checked or result.repaired:
        return ended_text(result)
    lines = restore_text(result.restore) if result.restore else []
    if result.revoked:
        merged = (
            f" (kept the later of the existing cut-off {result.revoked.previous_cutoff})"
            if result.revoked.previous_cutoff
            else ""
        )
        lines.append(
            f"revoked every session of {result.revoked.role_arn} issued before {result.revoked.cutoff}"
            f"{merged}; AWS applies it within minutes"
        )
        if result.revoke_verified:
            lines.append(
                f"  verified: {result.revoke_verified.policy_name} read back, denying sessions issued before "
                f"{result.revoke_verified.cutoff}"
            )
        lines += [
            f"note: {other} is still open on this role; its sessions are revoked too: "
            f"continue with: breakglass exec {other} -- ..."
            for other in result.also_revoked
        ]
    for rotated in result.rotated:
        lines.append(
            f"rotated {rotated.user}: new access key {rotated.new_key_id} in {rotated.secret_id}; "
            f"deleted {', '.join(rotated.deleted_keys) or 'no old key'}"
            + ("; console password reset" if rotated.password_reset else "")
        )
        if rotated.verified:
            lines.append(_rotation_proof(rotated.verified))
    if result.revoked or result.rotated or not result.restore:
        lines.append(f"{result.incident_id} {result.status.value}")
    if result.evidence:
        from breakglass_aws.cli.evidence import collect_text

        lines += collect_text(result.evidence)
    return lines


def ended_text(result: CloseResult) -> list[str]:
    """A rerun on an ended incident: what was proven, and what a crash had left undone."""
    if not result.repaired:
        return [f"{result.incident_id} is already {result.status.value}: nothing to do ({'; '.join(result.checked)})"]
    lines = [f"{result.incident_id} is already {result.status.value}; checked: {'; '.join(result.checked)}"]
    lines += [f"  repaired: {what}" for what in result.repaired]
    for rotated in result.rotated:
        if rotated.verified:
            lines.append(_rotation_proof(rotated.verified))
    return lines


def deliver(
    st: CliState,
    rt: Runtime,
    incident_id: str,
    creds: Credentials,
    request: AssumeRequest,
    fmt: str,
    console: bool,
    command: list[str],
    announce: Callable[[], None] | None = None,
) -> None:
    """Hand out the credentials, then `announce` (the notification: it never delays them; before
    a command runs, it goes out first with its short budget)."""
    if command:
        if announce is not None:
            announce()
        _run(creds, request.region, command)
    try:
        _print_credentials(rt, incident_id, creds, request, fmt, console)
    finally:
        sys.stdout.flush()
        if announce is not None:
            announce()


def _print_credentials(
    rt: Runtime, incident_id: str, creds: Credentials, request: AssumeRequest, fmt: str, console: bool
) -> None:
    from breakglass_aws.errors import AwsFailure, BreakglassError
    from breakglass_aws.role import console_url, credential_process_json, credentials_json, env_exports

    override = rt.store.get_incident(incident_id).override
    if console:
        seconds = None if request.chained else request.duration_seconds
        try:
            url = console_url(creds, rt.role.http_get, seconds, rt.role.federation_url)
        except BreakglassError:
            raise
        except Exception as err:  # the federation endpoint: HTTP errors, bad answers, timeouts
            raise AwsFailure(
                f"incident {incident_id} is open and the role was assumed, but the console sign-in URL "
                f"could not be obtained from the federation endpoint ({type(err).__name__}: {str(err)[:120]})",
                f"use the CLI credentials: breakglass exec {incident_id} -- COMMAND; or retry the console later "
                f"with a new `breakglass role assume --console` (and close this one: breakglass close {incident_id})",
            ) from None
        typer.echo(url)
    elif fmt == "json":
        typer.echo(
            credentials_json(
                creds,
                {
                    "incident_id": incident_id,
                    "role_arn": request.role_arn,
                    "source_identity": request.source_identity,
                    "override": override,
                },
            )
        )
    elif fmt == "credential-process":
        typer.echo(credential_process_json(creds))
    else:
        typer.echo(f"# breakglass incident {incident_id}: eval this output in your shell")
        if override:
            typer.echo(f"# {OVERRIDE_LINE}")
        typer.echo(env_exports(creds, request.region))


def _run(creds: Credentials, region: str, command: list[str]) -> None:
    from breakglass_aws.role import child_environment

    env = child_environment(creds, region, dict(os.environ))
    try:
        completed = subprocess.run(command, env=env, check=False)
    except FileNotFoundError:
        raise _usage(f"command not found: {command[0]}", "check the command after --") from None
    except PermissionError:
        raise _usage(f"cannot run {command[0]}: permission denied", "is it executable? chmod +x it") from None
    except OSError as err:
        raise _usage(f"cannot run {command[0]}: {err.strerror or err}", "check the command after --") from None
    sys.stdout.flush()
    code = completed.returncode
    raise typer.Exit(128 - code if code < 0 else code)  # killed by a signal: 128 + its number, as shells do


def _command(ctx: typer.Context) -> list[str]:
    args = list(ctx.args)
    if args and args[0] == "--":
        args = args[1:]
    if args and args[0].startswith("-") and not ctx.args[0] == "--":
        raise _usage(f"unknown option {args[0]}", "put the command to run after --")
    return args


def _prompt_code() -> str:
    from breakglass_aws.role import validate_token_code

    try:
        code = typer.prompt("MFA code", hide_input=True, err=True)
    except typer.Abort:
        raise _usage("no MFA code given", "pass --token-code or answer the prompt") from None
    return validate_token_code(str(code).strip())


def _usage(message: str, hint: str) -> Exception:
    from breakglass_aws.errors import UsageError

    return UsageError(message, hint)
