"""Restoring SCP incidents: `scp restore ID` and the expiry sweep's restores.

A restore is a close that rotates nobody unless a close was already planned: it re-attaches
first, removes FullAWSAccess last, verifies against the snapshot, lets go of the target and says
`closed` only then. Meeting a close under way (with its rotations), it finishes that close.
"""

from __future__ import annotations

from breakglass_aws.close import CloseRequest, as_restore, finish_close
from breakglass_aws.errors import UsageError
from breakglass_aws.models import ACTIVE_STATUSES, Incident, IncidentStatus, Mode
from breakglass_aws.runtime import Runtime
from breakglass_aws.scp_restore import RestoreResult, TargetRestore, unrecoverable_reason
from breakglass_aws.sweep import restore_expired
from breakglass_aws.validate import validate_incident_id

__all__ = [
    "RestoreResult",
    "TargetRestore",
    "check_restorable",
    "restore_expired",
    "restore_incident",
    "unrecoverable_reason",
]


def restore_incident(rt: Runtime, incident_id: str, accept_drift: bool = False) -> RestoreResult:
    validate_incident_id(incident_id)
    incident = rt.store.get_incident(incident_id)
    check_restorable(incident)
    request = CloseRequest(accept_drift=accept_drift, restore_only=True, by="scp restore")
    return as_restore(finish_close(rt, incident, None, request))


def check_restorable(incident: Incident) -> None:
    incident_id = incident.incident_id
    if incident.mode is not Mode.SCP:
        raise UsageError(
            f"{incident_id} is a {incident.mode} incident", f"close it with: breakglass close {incident_id}"
        )
    if incident.status not in (*ACTIVE_STATUSES, IncidentStatus.CLOSED, IncidentStatus.FAILED):
        raise UsageError(
            f"{incident_id} is {incident.status}: nothing was detached", "see: breakglass show " + incident_id
        )
