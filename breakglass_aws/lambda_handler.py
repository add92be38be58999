"""The scheduled restore function (AWS Lambda): restores one incident (from its one-time
schedule) or every expired incident (from the periodic schedule), from the shared store.

Configuration comes from BREAKGLASS_* environment variables (BREAKGLASS_STORE=dynamodb://TABLE).
"""

from __future__ import annotations

import json
import logging
from typing import Any

from breakglass_aws.errors import BreakglassError
from breakglass_aws.incident.close import as_restore
from breakglass_aws.incident.restore import RestoreResult
from breakglass_aws.incident.sweep import SweepResult, end_expired, sweep
from breakglass_aws.models import IncidentStatus
from breakglass_aws.redact import RedactingFilter
from breakglass_aws.runtime import Injected, build_runtime
from breakglass_aws.settings import load_settings

__all__ = ["handler"]

log = logging.getLogger("breakglass_aws.restore_function")


def _log(event: str, **fields: Any) -> None:
    log.info(json.dumps({"event": event, **fields}, sort_keys=True, default=str))


def handler(event: Any, context: Any = None) -> dict[str, Any]:
    """Entry point. Never raises for one incident's failure: the summary says what happened, and
    a sweep that leaves anything unfinished is published to the topic."""
    _configure_logging()
    settings = load_settings()
    rt = build_runtime(settings, Injected(progress=lambda message: _log("progress", message=message)))
    incident_id = event.get("incident_id") if isinstance(event, dict) else None
    if incident_id:
        swept = SweepResult(restored=[_one(rt, str(incident_id))])
    else:
        swept = sweep(rt, workers=settings.restore_workers, max_rps=settings.max_rps)
    results = [*swept.restored, *(as_restore(c) for c in swept.finished)]
    summary = {
        "restored": [r.incident_id for r in swept.restored if r.status.value == "closed" and not r.noop],
        "closes_finished": [c.incident_id for c in swept.finished if c.status.value == "closed"],
        "already_closed": [r.incident_id for r in swept.restored if r.noop],
        "lapsed_requests": swept.lapsed,
        "failed": [
            {"incident_id": r.incident_id, "status": r.status.value, "error": r.error} for r in results if r.exit_code
        ],
        "pending": swept.pending,
        "request_id": getattr(context, "aws_request_id", None),
    }
    _log("summary", **summary)
    if summary["failed"] or summary["pending"]:
        _alert(rt, summary)
    return summary


def _alert(rt: Any, summary: dict[str, Any]) -> None:
    """Unfinished work is heard: one message to the topic (the incidents' own needs-attention
    notices say the details)."""
    if rt.notifier is None:
        return
    message = {"source": "breakglass-aws", "event": "scheduled-restore-unfinished", **summary}
    try:
        rt.notifier.publish(message, f"[breakglass] scheduled restore left {len(summary['pending'])} unfinished")
    except Exception as err:  # the function's own error metrics and alarm still report it
        _log("alert-failed", error=f"{type(err).__name__}")


def _one(rt: Any, incident_id: str) -> RestoreResult:
    try:
        return end_expired(rt, incident_id)
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
