"""What is said when work stops because the journal itself could not be written: one line with
the cause and the incident id; exit 8 when a change was already made (a rerun finishes it), else
the store's own code (5 for the embedded file, 7 for the shared table). Recording the stop is
attempted, and never hides the failure that caused it."""

from __future__ import annotations

import logging
from collections.abc import Callable

from breakglass_aws.errors import BreakglassError, PartialApplyError
from breakglass_aws.incident.gate import StepFailed
from breakglass_aws.models import Incident, IncidentStatus
from breakglass_aws.runtime import Runtime

__all__ = ["journal_failure", "try_to_record"]

log = logging.getLogger(__name__)


def try_to_record(what: str, record: Callable[[], object]) -> bool:
    """Record a stop (a status, an entry); False when the store refuses it too."""
    try:
        record()
    except Exception as err:
        log.debug("could not record %s: %s", what, err)
        return False
    return True


def journal_failure(
    rt: Runtime, incident: Incident, failed: StepFailed, finish: str, changed_before: bool = False
) -> BreakglassError:
    """The error for a journal write that failed inside the gate. `finish`: the command that
    finishes the job (`scp restore`, `close`)."""
    from breakglass_aws.incident.status import set_status

    incident_id = incident.incident_id
    cause, hint = failed.error.message, failed.error.cause()
    rerun = f"breakglass {finish} {incident_id}"
    if failed.done or changed_before:
        reason = f"the journal could not be written after {failed.done} change(s): {cause}"
        try_to_record("the stop", lambda: set_status(rt, incident, IncidentStatus.NEEDS_ATTENTION, reason))
        return PartialApplyError(f"{incident_id}: {reason}", incident_id, f"{hint}; then run: {rerun}")
    error = failed.error
    error.message = f"{incident_id}: nothing was changed in AWS; {cause}"
    error.remediation = f"{hint}; then run: {rerun}"
    return error
