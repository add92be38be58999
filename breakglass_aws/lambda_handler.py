"""The scheduled restore function (AWS Lambda): restores one incident (from its one-time
schedule) or every expired incident (from the periodic schedule), from the shared store.

Configuration comes from BREAKGLASS_* environment variables (BREAKGLASS_STORE=dynamodb://TABLE).
"""

from __future__ import annotations

import json
import logging
from typing import Any

from breakglass_aws.errors import BreakglassError
from breakglass_aws.models import IncidentStatus
from breakglass_aws.redact import RedactingFilter
from breakglass_aws.restore import RestoreResult, restore_expired, restore_incident
from breakglass_aws.settings import load_settings
from breakglass_aws.setup import Injected, build_runtime

__all__ = ["handler"]

log = logging.getLogger("breakglass_aws.restore_function")


def _log(event: str, **fields: Any) -> None:
    log.info(json.dumps({"event": event, **fields}, sort_keys=True, default=str))


def handler(event: Any, context: Any = None) -> dict[str, Any]:
    """Entry point. Never raises for one incident's failure: the summary says what happened."""
    _configure_logging()
    settings = load_settings()
    rt = build_runtime(settings, Injected(progress=lambda message: _log("progress", message=message)))
    incident_id = event.get("incident_id") if isinstance(event, dict) else None
    lapsed: list[str] = []
    if incident_id:
        results = [_one(rt, str(incident_id))]
    else:
        results = restore_expired(rt, workers=settings.restore_workers, max_rps=settings.max_rps)
        lapsed = _finish_pending(rt)
    summary = {
        "restored": [r.incident_id for r in results if r.status.value == "closed" and not r.noop],
        "already_closed": [r.incident_id for r in results if r.noop],
        "lapsed_requests": lapsed,
        "failed": [
            {"incident_id": r.incident_id, "status": r.status.value, "error": r.error} for r in results if r.exit_code
        ],
        "request_id": getattr(context, "aws_request_id", None),
    }
    _log("summary", **summary)
    return summary


def _finish_pending(rt: Any) -> list[str]:
    """Lapse stale requests and finish stopped closes; returns the lapsed request ids."""
    from breakglass_aws.approval_flow import lapse_requests
    from breakglass_aws.close import finish_pending
    from breakglass_aws.runtime import whoami

    lapsed: list[str] = []
    try:
        for request in lapse_requests(rt):
            _log("lapsed", incident_id=request.incident_id, targets=request.targets)
            lapsed.append(request.incident_id)
        for closed in finish_pending(rt, whoami(rt)):
            _log("close", incident_id=closed.incident_id, status=closed.status.value)
    except BreakglassError as err:
        _log("close-failed", error=err.message)
    return lapsed


def _one(rt: Any, incident_id: str) -> RestoreResult:
    try:
        return restore_incident(rt, incident_id)
    except BreakglassError as err:
        try:
            status = rt.store.get_incident(incident_id).status
        except BreakglassError:  # unknown or unreadable: the summary says so instead of the function failing
            status = IncidentStatus.FAILED
        return RestoreResult(incident_id=incident_id, status=status, error=err.message, exit_code=err.exit_code)


def _configure_logging() -> None:
    package = logging.getLogger("breakglass_aws")
    if not any(isinstance(f, RedactingFilter) for h in package.handlers for f in h.filters):
        handler_ = logging.StreamHandler()
        handler_.addFilter(RedactingFilter())
        handler_.setFormatter(logging.Formatter("%(message)s"))
        package.addHandler(handler_)
    package.setLevel(logging.INFO)
