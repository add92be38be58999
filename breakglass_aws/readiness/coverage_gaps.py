"""What `check` did not check, and why: a report that is silent about what it skipped reads as
a clean bill of health. Each gap is one line naming what was not read and what would let it be."""

from __future__ import annotations

import os
import urllib.request
from collections.abc import Mapping
from typing import Any

from breakglass_aws.lambda_package import BuildRecord
from breakglass_aws.readiness.lambda_fn import check_function_build, deployed_record
from breakglass_aws.runtime import Runtime
from breakglass_aws.scp.lint import Finding

__all__ = ["member_gap", "restore_function"]

FETCH_TIMEOUT = 10.0


def member_gap(accounts: list[str], named: list[str] | None) -> list[str]:
    if accounts or named:
        return []
    return [
        "no member account in the organization: the break-glass role and the member accounts' alert "
        "forwarding were not read (name one with --account ID)"
    ]


def _fetch(url: str) -> bytes:
    if not url.startswith("https://"):
        raise OSError("not an https location")
    with urllib.request.urlopen(url, timeout=FETCH_TIMEOUT) as answer:  # noqa: S310 - https only, checked above
        return bytes(answer.read())


def _custom_endpoint() -> bool:
    return bool(os.environ.get("AWS_ENDPOINT_URL") or os.environ.get("AWS_ENDPOINT_URL_LAMBDA"))


def restore_function(rt: Runtime) -> tuple[list[Finding], list[str]]:
    """The deployed restore function's runtime and architecture against what its package was
    built for: findings, and what could not be compared (with why)."""
    arn = rt.schedule.function_arn
    if not arn:
        return [], ["the restore function: restore_function_arn is not set"]
    lam = rt.factory.client("lambda")
    try:
        function: Mapping[str, Any] = lam.get_function(FunctionName=arn)
    except Exception as err:  # unreadable (denied, absent, an emulator): said, never the end of the report
        code = getattr(err, "response", {}).get("Error", {}).get("Code", type(err).__name__)
        return [], [f"the restore function {arn} could not be read ({code}): grant lambda:GetFunction"]
    configuration = function.get("Configuration") or {}
    if _custom_endpoint():
        return [], [f"the package of {arn}: a custom endpoint serves no package download"]
    record: BuildRecord | None
    record, why = deployed_record(function, _fetch)
    return check_function_build(configuration, record, why_unread=why), []
