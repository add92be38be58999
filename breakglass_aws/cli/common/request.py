"""The request path shared by `scp detach` and `role assume` when approvals are required: the
override banner and flag lines, the announcement, waiting for a quorum."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import typer

from breakglass_aws.cli.state import CliState

if TYPE_CHECKING:
    from breakglass_aws.models import Incident

from breakglass_aws.cli.common.output import emit, status_line

__all__ = [
    "OVERRIDE_HELP",
    "OVERRIDE_LINE",
    "WAIT_HELP",
    "announce_request",
    "approvals_needed",
    "override_banner",
    "override_lines",
    "wait_for_approval",
]

OVERRIDE_HELP = "Proceed without approvals when nobody can be reached (recorded, flagged and notified)."
WAIT_HELP = "Wait for the approvals, then apply."
OVERRIDE_LINE = "EMERGENCY OVERRIDE: opened without approvals (recorded and notified)"


def override_banner() -> None:
    """The loud override warning, on stderr even with --quiet: it must never go unnoticed."""
    typer.echo("EMERGENCY OVERRIDE: proceeding without approvals; this is recorded and notified", err=True)


def override_lines(incident: Incident) -> list[str]:
    """The flag line that starts the text output of anything done to an override incident."""
    return [OVERRIDE_LINE] if incident.override else []


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
        status_line(incident.incident_id, incident.status.value),
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
