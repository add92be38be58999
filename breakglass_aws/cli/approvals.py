"""`breakglass approve|deny|activate`, and the request path of detach/assume when approvals are required."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from breakglass_aws.cli.common.output import emit
from breakglass_aws.cli.state import state

if TYPE_CHECKING:
    pass


def register(root: typer.Typer) -> None:
    root.command("approve")(approve_command)
    root.command("deny")(deny_command)
    root.command("activate")(activate_command)


def approve_command(
    ctx: typer.Context,
    incident_id: Annotated[str, typer.Argument(help="The requested incident.")],
    comment: Annotated[str | None, typer.Option(metavar="TEXT", help="Why you approve (recorded).")] = None,
) -> None:
    """Approve a request. Your identity comes from AWS; you cannot approve your own request."""
    from breakglass_aws.incident.approvals import approve
    from breakglass_aws.runtime import whoami
    from breakglass_aws.validate import check_text, validate_incident_id

    st = state(ctx)
    validate_incident_id(incident_id)
    if comment is not None:
        check_text(comment, "--comment")
    rt = st.runtime()
    rt.store.get_incident(incident_id)
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
    """Deny a request: it can never be activated."""
    from breakglass_aws.incident.approvals import deny
    from breakglass_aws.runtime import whoami
    from breakglass_aws.validate import check_text, validate_incident_id

    st = state(ctx)
    validate_incident_id(incident_id)
    if comment is not None:
        check_text(comment, "--comment")
    rt = st.runtime()
    rt.store.get_incident(incident_id)
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
