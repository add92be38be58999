"""`breakglass approve|deny|activate|extend`, and the request path of detach/assume when approvals are required."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from breakglass_aws.cli.common.output import emit, status_line
from breakglass_aws.cli.common.request import OVERRIDE_HELP
from breakglass_aws.cli.state import state

if TYPE_CHECKING:
    from breakglass_aws.cli.state import CliState
    from breakglass_aws.models import Incident


def register(root: typer.Typer) -> None:
    root.command("approve")(approve_command)
    root.command("deny")(deny_command)
    root.command("activate")(activate_command)
    root.command("extend")(extend_command)


def approve_command(
    ctx: typer.Context,
    incident_id: Annotated[str, typer.Argument(help="The requested incident.")],
    comment: Annotated[str | None, typer.Option(metavar="TEXT", help="Why you approve (recorded).")] = None,
) -> None:
    """Approve a request, or an extension waiting on an active incident. Your identity comes from
    AWS; you cannot approve your own request."""
    from breakglass_aws.incident.approvals import approve
    from breakglass_aws.incident.extend import approve_extension, pending_extension
    from breakglass_aws.runtime import whoami
    from breakglass_aws.validate import check_text, validate_incident_id

    st = state(ctx)
    validate_incident_id(incident_id)
    if comment is not None:
        check_text(comment, "--comment")
    rt = st.runtime()
    found = rt.store.get_incident(incident_id)
    if pending_extension(found):
        _extension_output(st, approve_extension(rt, incident_id, whoami(rt), comment), found)
        return
    incident = approve(rt, incident_id, whoami(rt), comment)
    emit(
        st,
        incident.public(),
        lambda: [
            f"{incident_id}: {len(incident.approvals)} of {incident.approvals_required} approval(s); "
            f"status {incident.status.value}"
        ],
    )


def deny_command(
    ctx: typer.Context,
    incident_id: Annotated[str, typer.Argument(help="The requested incident.")],
    comment: Annotated[str | None, typer.Option(metavar="TEXT", help="Why (recorded).")] = None,
) -> None:
    """Deny a request (it can never be activated), or an extension waiting on an active incident."""
    from breakglass_aws.incident.approvals import deny
    from breakglass_aws.incident.extend import deny_extension, pending_extension
    from breakglass_aws.runtime import whoami
    from breakglass_aws.validate import check_text, validate_incident_id

    st = state(ctx)
    validate_incident_id(incident_id)
    if comment is not None:
        check_text(comment, "--comment")
    rt = st.runtime()
    if pending_extension(rt.store.get_incident(incident_id)):
        dropped = deny_extension(rt, incident_id, whoami(rt), comment)
        denied = [f"{incident_id}: extension denied; it still expires at {_at(dropped)}"]
        emit(st, dropped.public(), lambda: [*denied, status_line(incident_id, dropped.status.value)])
        return
    incident = deny(rt, incident_id, whoami(rt), comment)
    emit(st, incident.public(), lambda: [f"{incident_id} denied"])


def activate_command(
    ctx: typer.Context,
    incident_id: Annotated[str, typer.Argument(help="An approved incident.")],
    token_code: Annotated[str | None, typer.Option(metavar="CODE", help="6-digit MFA code (role mode).")] = None,
    fmt: Annotated[
        str, typer.Option("--format", metavar="env|json|credential-process", help="Credential output (role mode).")
    ] = "env",
) -> None:
    """Apply an approved request (only its requester can)."""
    from breakglass_aws.cli.common.credentials import FORMATS, deliver, prompt_code
    from breakglass_aws.cli.common.views import opened_output
    from breakglass_aws.errors import UsageError
    from breakglass_aws.incident.approvals import activate
    from breakglass_aws.models import Mode
    from breakglass_aws.runtime import whoami
    from breakglass_aws.validate import validate_incident_id

    st = state(ctx)
    validate_incident_id(incident_id)
    if fmt not in FORMATS:
        raise UsageError(f"invalid --format {fmt!r}", "use env, json or credential-process")
    rt = st.runtime()
    found = rt.store.get_incident(incident_id)
    if found.mode is Mode.ROLE and found.request.get("mfa_serial") and token_code is None:
        token_code = prompt_code()
    incident, creds = activate(rt, incident_id, whoami(rt), token_code)
    if creds is None:
        opened_output(st, incident)
        return
    from breakglass_aws.incident.role import request_for

    _, request = request_for(rt, incident)
    deliver(st, rt, incident.incident_id, creds, request, fmt, False, [])


def extend_command(
    ctx: typer.Context,
    incident_id: Annotated[str, typer.Argument(help="The active incident.")],
    ttl: Annotated[str, typer.Option(metavar="DURATION", help="New time left from now, e.g. 2h (at most max_ttl).")],
    reason: Annotated[str, typer.Option(metavar="TEXT", help="Why it needs longer (recorded and notified).")],
    emergency_override: Annotated[bool, typer.Option("--emergency-override", help=OVERRIDE_HELP)] = False,
) -> None:
    """Move an active incident's expiry to now + TTL. With approvals configured it waits for them
    (`breakglass approve ID`; the approval that meets the quorum applies it)."""
    from breakglass_aws.cli.common.request import override_banner
    from breakglass_aws.incident.extend import extend
    from breakglass_aws.runtime import whoami
    from breakglass_aws.validate import parse_duration, validate_incident_id, validate_reason

    st = state(ctx)
    validate_incident_id(incident_id)
    wanted = parse_duration(ttl, what="--ttl")
    why = validate_reason(reason)
    rt = st.runtime()
    before = rt.store.get_incident(incident_id)
    required = st.settings().approvals_required
    if emergency_override and required:
        override_banner()
    incident = extend(rt, incident_id, wanted, why, whoami(rt), required, emergency_override)
    _extension_output(st, incident, before)


def _at(incident: Incident) -> str:
    from breakglass_aws.clock import isoformat

    return isoformat(incident.expires_at)


def _extension_output(st: CliState, incident: Incident, before: Incident) -> None:
    waiting = incident.extension
    if waiting is not None:
        lines = [
            f"{incident.incident_id}: extension requested ({len(waiting.approvals)} of {waiting.approvals_required} "
            f"approval(s)); it still expires at {_at(incident)}",
            f"  an approver runs: breakglass approve {incident.incident_id}",
        ]
    else:
        lines = [f"{incident.incident_id}: expiry moved from {_at(before)} to {_at(incident)}"]
    lines.append(status_line(incident.incident_id, incident.status.value))
    emit(st, {**incident.public(), "extended": waiting is None}, lambda: lines)
