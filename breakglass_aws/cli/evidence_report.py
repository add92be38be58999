"""`breakglass evidence report (INCIDENT_ID | BUNDLE_DIR)`: the report an auditor reads, from the
evidence bundle alone. For an incident id it reads the bundle collect wrote (evidence_dir/ID) and
never collects (collecting calls CloudTrail and writes the journal: `evidence collect` does that)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from breakglass_aws.cli.common.output import emit, read_public_key
from breakglass_aws.cli.state import CliState, state

if TYPE_CHECKING:
    from breakglass_aws.evidence.report_write import ReportResult

__all__ = ["report_command"]


def report_command(
    ctx: typer.Context,
    source: Annotated[
        str,
        typer.Argument(
            metavar="INCIDENT_ID|BUNDLE_DIR",
            help="A bundle folder, or an incident whose bundle evidence collect wrote to evidence_dir/ID.",
        ),
    ],
    fmt: Annotated[
        str, typer.Option("--format", metavar="html|md", help="HTML (one self-contained file) or Markdown.")
    ] = "html",
    out: Annotated[
        Path | None,
        typer.Option(metavar="FILE", help="Write here (default: beside the bundle, BUNDLE.report.html); - prints it."),
    ] = None,
    public_key: Annotated[
        Path | None,
        typer.Option(metavar="FILE", help="PEM public key of the signing key: the report checks the signatures too."),
    ] = None,
) -> None:
    """Write the incident report: who, why, when, the bundle's verification, a timeline, the calls made
    with the break-glass credentials, what the tool changed and put back, and findings for an auditor.
    Exits 4 (after writing it) when the bundle fails verification."""
    from breakglass_aws.evidence.report_write import (
        check_format,
        check_out_file,
        render_report,
        result_of,
        write_report,
    )

    st = state(ctx)
    check_format(fmt)
    folder = _bundle(st, source)
    key = read_public_key(public_key)
    now = _now(st)
    if out is not None and str(out) == "-":
        report, text = render_report(folder, fmt, now, key)
        typer.echo(text, nl=False)
        _refuse_if_changed(st, result_of(report, fmt, "-", len(text.encode())))
        return
    if out is not None:
        check_out_file(folder, out)
    result = write_report(folder, fmt, now, out, key)
    emit(st, result.model_dump(), lambda: _text(result))
    _refuse_if_changed(st, result)


def _bundle(st: CliState, source: str) -> Path:
    from breakglass_aws.errors import UsageError
    from breakglass_aws.validate import INCIDENT_RE

    given = Path(source).expanduser()
    if given.is_dir():
        return given
    if not INCIDENT_RE.fullmatch(source):
        raise UsageError(
            f"{source} is neither a bundle folder nor an incident id",
            "pass the folder written by breakglass evidence collect, or an incident id (bg-...)",
        )
    folder = _evidence_dir(st) / source
    if not folder.is_dir():
        raise UsageError(
            f"no evidence bundle of {source} in {folder.parent}",
            f"collect it first: breakglass evidence collect {source} (or pass the bundle folder)",
        )
    return folder


def _evidence_dir(st: CliState) -> Path:
    """Where evidence collect writes by default (as the runtime sets it), without opening the store."""
    settings = st.settings()
    if settings.evidence_dir:
        return Path(settings.evidence_dir).expanduser()
    return settings.store_path().parent / "evidence"


def _now(st: CliState) -> datetime:
    from breakglass_aws.clock import utcnow

    return (st.overrides.clock or utcnow)()


def _text(result: ReportResult) -> list[str]:
    bundle = "intact" if result.intact else f"CHANGED ({len(result.problems)} problem(s))"
    final = "" if result.final is not False else "; not final: collect again after CloudTrail's delay"
    return [
        f"report {result.report} ({result.format}, {result.bytes} bytes): {result.events} events, "
        f"{result.findings} finding(s); bundle {bundle}{final}"
    ]


def _refuse_if_changed(st: CliState, result: ReportResult) -> None:
    from breakglass_aws.errors import GuardRailError

    if result.intact:
        return
    if st.json:
        raise typer.Exit(GuardRailError.exit_code)
    raise GuardRailError(
        f"{result.bundle} failed verification: {'; '.join(result.problems[:5])}",
        "the report says so in red; do not trust this copy, fetch the locked one",
    )
