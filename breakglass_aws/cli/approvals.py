"""`breakglass approve|deny|activate`, and the request path of detach/assume when approvals are required."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Annotated

import typer

from breakglass_aws.cli.render import emit
from breakglass_aws.cli.state import CliState, state

if TYPE_CHECKING:
    from breakglass_aws.models import Incident

OVERRIDE_HELP = "Proceed without approvals when nobody can be reached (recorded, flagged and notified)."
WAIT_HELP = "Wait for the approvals, then apply."


OVERRIDE_LINE = "EMERGENCY OVERRIDE: opened without approvals (recorded and notified)"


def override_banner() -> None:
    """The loud override warning, on stderr even with --quiet: it must never go unnoticed."""
    typer.echo("EMERGENCY OVERRIDE: proceeding without approvals; this is recorded and notified", err=True)


def override_lines(incident: Incident) -> list[str]:
    """The flag line that starts the text output of anything done to an override incident."""
    return [OVERRIDE_LINE] if incident.override else []


def register(root: typer.Typer) -> None:
    root.command("approve")(approve_command)
    root.command("deny")(deny_command)
    root.command("activate")(activate_command)


def approvals_needed(st: CliState, override: bool) -> int:
    """How many approvals this request needs (0 when none are configured or on override)."""
    required = st.settings().approvals_required
    return 0 if override else required


def announce_request(st: CliState, incident: Incident, wait: bool = False) -> None:
    """What the approvers must run. With --wait the primary output (the opened incident, or the
    credentials) comes later on stdout, so the announcement goes to stderr."""
    data = {
        "incident_id": incident.incident_id,
        "status": incident.status.value,
        "approvals_required": incident.approvals_required,
        "approvals": len(incident.approvals),
        "approve_with": f"breakglass approve {incident.incident_id}",
        "then": f"breakglass activate {incident.incident_id}",
    }
    lines = [
        f"incident {incident.incident_id} requested: nothing changed yet; it needs "
        f"{incident.approvals_required} approval(s) from someone else",
        f"  an approver runs: breakglass approve {incident.incident_id}",
        f"  then you run:     breakglass activate {incident.incident_id}",
    ]
    if wait:
        for line in [*lines[:2], f"  waiting up to {int(st.settings().approval_wait_seconds)}s for the approvals"]:
            st.progress(line)
        return
    emit(st, data, lambda: lines)


def wait_for_approval(st: CliState, incident_id: str, timeout: float, poll: float = 5.0) -> Incident:
    """Poll the store until the request is approved; refused on denial or timeout (exit 4)."""
    from breakglass_aws.errors import GuardRailError
    from breakglass_aws.models import IncidentStatus

    rt = st.runtime()
    deadline = time.monotonic() + timeout
    while True:
        incident = rt.store.get_incident(incident_id)
        if incident.status is IncidentStatus.APPROVED:
            st.progress(f"{incident_id} approved by {', '.join(a.name for a in incident.approvals)}")
            return incident
        if incident.status is not IncidentStatus.REQUESTED:
            raise GuardRailError(
                f"{incident_id} was {incident.status.value}: {incident.status_reason}", "nothing was changed"
            )
        if time.monotonic() >= deadline:
            raise GuardRailError(
                f"no quorum for {incident_id} within {int(timeout)}s",
                f"it stays requested; later run: breakglass activate {incident_id}",
            )
        st.progress(f"waiting for approval of {incident_id}: {len(incident.approvals)}/{incident.approvals_required}")
        time.sleep(max(min(poll, deadline - time.monotonic()), 0.05))


def approve_command(
    ctx: typer.Context,
    incident_id: Annotated[str, typer.Argument(help="The requested incident.")],
    comment: Annotated[str | None, typer.Option(metavar="TEXT", help="Why you approve (recorded).")] = None,
) -> None:
    """Approve a request. Your identity comes from AWS; you cannot approve your own request."""
    from breakglass_aws.approval_flow import approve
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
    from breakglass_aws.approval_flow import deny
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
    from breakglass_aws.approval_flow import activate
    from breakglass_aws.cli.role import FORMATS, _prompt_code, deliver
    from breakglass_aws.cli.scp import opened_output
    from breakglass_aws.errors import UsageError
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
        token_code = _prompt_code()
    incident, creds = activate(rt, incident_id, whoami(rt), token_code)
    if creds is None:
        opened_output(st, incident)
        return
    from breakglass_aws.role_incident import request_for

    _, request = request_for(rt, incident)
    deliver(st, rt, incident.incident_id, creds, request, fmt, False, [])
