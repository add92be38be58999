"""The restore function as deployed: does its runtime and architecture match what its package was
built for (the `breakglass-build.json` that `breakglass package-lambda` puts in the zip)? A zip built
for another Python or CPU fails to import pydantic's compiled core, and nothing says so until the
dead-man schedule fires in the middle of an incident."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from breakglass_aws.lambda_package import BuildRecord, read_build_record
from breakglass_aws.readiness.common import finding
from breakglass_aws.scp.lint import Finding

__all__ = ["CHECK", "check_function_build", "deployed_record"]

CHECK = "restore-function"


def deployed_record(function: Mapping[str, Any], fetch: Callable[[str], bytes]) -> tuple[BuildRecord | None, str]:
    """The build record of a deployed function's package, from a `lambda get_function` answer:
    `fetch` downloads `Code.Location` (a presigned S3 URL: never log it). (None, why) when it
    cannot be read."""
    code = function.get("Code") or {}
    if code.get("RepositoryType", "S3") != "S3" or not code.get("Location"):
        return None, "the function's code is not a zip package"
    try:
        data = fetch(str(code["Location"]))
    except OSError as err:
        return None, f"its package could not be downloaded ({type(err).__name__})"
    record = read_build_record(data)
    if record is None:
        return None, "its package holds no breakglass-build.json (built by an older breakglass)"
    return record, ""


def _rebuild(configuration: Mapping[str, Any], architecture: str) -> str:
    runtime = str(configuration.get("Runtime", "")).removeprefix("python") or "3.11"
    return (
        f"rebuild it for the function: breakglass package-lambda --python {runtime} --arch {architecture}, then apply"
    )


def check_function_build(
    configuration: Mapping[str, Any],
    record: BuildRecord | None,
    *,
    why_unread: str = "",
    tool_version: str | None = None,
) -> list[Finding]:
    """Findings about one deployed function (`configuration`: a `lambda get_function_configuration`
    answer) and the record of its package (None when it could not be read: `why_unread` says why).
    An error when the runtime or the architecture differs; a warning when the record is missing,
    or when `tool_version` is given and the package holds another breakglass version."""
    subject = str(configuration.get("FunctionArn") or configuration.get("FunctionName") or "restore function")
    runtime = configuration.get("Runtime")
    deployed_arch = (configuration.get("Architectures") or ["x86_64"])[0]
    if record is None:
        why = f" ({why_unread})" if why_unread else ""
        return [
            finding(
                "warning",
                CHECK,
                subject,
                f"what its package was built for is unknown{why}: its runtime and architecture were not compared",
                _rebuild(configuration, deployed_arch) + " (the zip then records what it was built for)",
            )
        ]
    found: list[Finding] = []
    if runtime != record.runtime:
        found.append(
            finding(
                "error",
                CHECK,
                subject,
                f"the function runs {runtime} but its package was built for {record.runtime}: its handler cannot "
                "import pydantic's compiled core, so no scheduled restore runs",
                _rebuild(configuration, deployed_arch),
            )
        )
    if deployed_arch != record.architecture:
        found.append(
            finding(
                "error",
                CHECK,
                subject,
                f"the function runs on {deployed_arch} but its package was built for {record.architecture}: its "
                "handler cannot load pydantic's compiled core, so no scheduled restore runs",
                _rebuild(configuration, deployed_arch),
            )
        )
    versions = {record.breakglass_version, tool_version}
    if tool_version and len(versions) == 2 and "unknown" not in versions:
        found.append(
            finding(
                "warning",
                CHECK,
                subject,
                f"the function holds breakglass {record.breakglass_version}, this tool is {tool_version}",
                _rebuild(configuration, deployed_arch),
            )
        )
    return found
