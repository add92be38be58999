"""The log of AWS calls, from botocore's events on each client.

`-v` (INFO): one line per call, written when it ends: service and operation, the ids it acts on
(only the non-secret ones in LOGGED_PARAMS), then the HTTP status (or the error code, or the
exception of a call that got no answer), the time, the attempts, the region and the endpoint host.
`-vv` (DEBUG): also each attempt's request line (method and URL, never headers or body) and each
retry with the reason of the attempt before it. The handler's RedactingFilter sees every line.
"""

from __future__ import annotations

import logging
import time
from typing import Any
from urllib.parse import urlsplit

__all__ = ["LOGGED_PARAMS", "CallLog"]

log = logging.getLogger("breakglass_aws.aws")

LOGGED_PARAMS = ("TargetId", "PolicyId", "ParentId", "ChildId", "RoleArn", "RoleName", "UserName")
KEY = "breakglass_call"


class CallLog:
    """The call log of one client (its region is the client's)."""

    def __init__(self, region: str) -> None:
        self.region = region

    def register(self, events: Any) -> None:
        events.register("before-parameter-build", self.started)
        events.register("request-created", self.attempt)
        events.register("response-received", self.answered)
        events.register("after-call", self.done)
        events.register("after-call-error", self.failed)

    def started(self, model: Any = None, params: Any = None, context: Any = None, **_: Any) -> None:
        if model is None or not isinstance(context, dict) or not log.isEnabledFor(logging.INFO):
            return
        shown = [f"{k}={params[k]}" for k in LOGGED_PARAMS if isinstance(params, dict) and k in params]
        name = f"{model.service_model.service_name}:{model.name}"
        context[KEY] = {"name": " ".join([name, *shown]), "start": time.monotonic(), "attempts": 0}

    def attempt(self, request: Any = None, **_: Any) -> None:
        """Each attempt, before it is sent: counted; with -vv its request line, and for a retry why."""
        call = _call(getattr(request, "context", None))
        if call is None:
            return
        call["attempts"] += 1
        signing = request.context.get("signing")  # the region signed for (not "aws-global")
        call["region"] = signing.get("region") if isinstance(signing, dict) else None
        url = str(getattr(request, "url", "") or "")
        call["host"] = urlsplit(url).hostname or call.get("host")
        if not log.isEnabledFor(logging.DEBUG):
            return
        if call["attempts"] > 1:
            waited = _ms(time.monotonic() - call.get("answered", call["start"]))
            last = call.get("last", "no answer")
            log.debug("aws %s retry, attempt %d: after %s, waited %d ms", call["name"], call["attempts"], last, waited)
        log.debug("aws %s attempt %d: %s %s", call["name"], call["attempts"], getattr(request, "method", "?"), url)

    def answered(self, context: Any = None, response_dict: Any = None, exception: Any = None, **kw: Any) -> None:
        """Each attempt's outcome, kept as the reason of a retry that may follow."""
        call = _call(context)
        if call is None:
            return
        status = response_dict.get("status_code") if isinstance(response_dict, dict) else None
        call["last"] = _outcome(status, _code(kw.get("parsed_response")), exception)
        call["answered"] = time.monotonic()

    def done(self, http_response: Any = None, parsed: Any = None, context: Any = None, **_: Any) -> None:
        call = _call(context)
        if call is None:
            return
        status = getattr(http_response, "status_code", None)
        retries = parsed.get("ResponseMetadata", {}).get("RetryAttempts", 0) if isinstance(parsed, dict) else 0
        host = call.get("host") or urlsplit(str(getattr(http_response, "url", "") or "")).hostname
        self._line(call, _outcome(status, _code(parsed), None), max(call["attempts"], int(retries or 0) + 1), host)

    def failed(self, exception: Any = None, context: Any = None, **_: Any) -> None:
        call = _call(context)
        if call is not None:
            self._line(call, _outcome(None, None, exception), call["attempts"], call.get("host"))

    def _line(self, call: dict[str, Any], outcome: str, attempts: int, host: str | None) -> None:
        attempts = max(attempts, 1)
        took = _ms(time.monotonic() - call["start"])
        counted = f"{attempts} attempt" + ("" if attempts == 1 else "s")
        region = call.get("region") or self.region
        log.info("aws %s -> %s in %d ms, %s (%s, %s)", call["name"], outcome, took, counted, region, host or "?")


def _call(context: Any) -> dict[str, Any] | None:
    call = context.get(KEY) if isinstance(context, dict) else None
    return call if isinstance(call, dict) else None


def _code(parsed: Any) -> str | None:
    error = parsed.get("Error") if isinstance(parsed, dict) else None
    code = error.get("Code") if isinstance(error, dict) else None
    return str(code) if code else None


def _outcome(status: Any, code: str | None, exception: Any) -> str:
    if exception is not None:
        return f"{type(exception).__name__} (no HTTP answer)"
    if code and code != str(status):
        return f"{code} (HTTP {status})"
    return f"HTTP {status}"


def _ms(seconds: float) -> int:
    return round(seconds * 1000)
