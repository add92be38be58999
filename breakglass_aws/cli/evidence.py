"""`breakglass evidence collect|verify`."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from breakglass_aws.cli.render import emit
from breakglass_aws.cli.state import CliState, state

if TYPE_CHECKING:
    from breakglass_aws.evidence.collect import CollectResult
    from breakglass_aws.evidence.run import EvidenceOptions

app = typer.Typer(
    rich_markup_mode=None,
    help="Evidence: the incident's CloudTrail record in a tamper-evident bundle.",
    no_args_is_help=True,
)


def options(st: CliState) -> EvidenceOptions:
    from breakglass_aws.evidence.run import EvidenceOptions
    from breakglass_aws.validate import parse_duration

    s = st.settings()
    return EvidenceOptions(
        margin=parse_duration(s.evidence_margin), delay=parse_duration(s.evidence_delay), rate=s.evidence_rate
    )


@app.command()
def collect(
    ctx: typer.Context,
    incident_id: Annotated[str, typer.Argument(help="The incident.")],
    out: Annotated[Path | None, typer.Option(metavar="DIR", help="Bundle folder (default: evidence_dir/ID).")] = None,
    wait_for_delivery: Annotated[
        bool, typer.Option("--wait-for-delivery", help="Wait until the bundle can be final.")
    ] = False,
    upload: Annotated[str | None, typer.Option(metavar="s3://BUCKET/PREFIX", help="Upload with Object Lock.")] = None,
    retain_days: Annotated[int, typer.Option(metavar="N", help="Object Lock retention in days.")] = 365,
    lock_mode: Annotated[str, typer.Option(metavar="GOVERNANCE|COMPLIANCE", help="Object Lock mode.")] = "GOVERNANCE",
) -> None:
    """Collect the incident, its journal and its CloudTrail events into a bundle with a manifest of hashes."""
    from breakglass_aws.evidence.run import Upload, collect_evidence, validate_upload
    from breakglass_aws.validate import validate_incident_id

    st = state(ctx)
    validate_incident_id(incident_id)
    wanted = Upload(upload, retain_days, lock_mode.upper()) if upload else None
    validate_upload(wanted)
    rt = st.runtime()
    opts = options(st)
    if wait_for_delivery:
        _wait(st, rt.store.get_incident(incident_id), opts, rt.clock)
    result = collect_evidence(rt, incident_id, out, opts, wanted)
    emit(st, result.model_dump(mode="json"), lambda: collect_text(result))


def _wait(st: CliState, incident: object, opts: EvidenceOptions, clock: object) -> None:
    from breakglass_aws.models import Incident

    assert isinstance(incident, Incident) and callable(clock)  # noqa: S101
    ready = (incident.closed_at or clock()) + opts.delay
    while (left := (ready - clock()).total_seconds()) > 0:
        st.progress(f"waiting {int(left)}s for CloudTrail delivery (until {ready:%H:%M:%S}Z)")
        time.sleep(min(left, 30.0))


@app.command()
def verify(
    ctx: typer.Context, bundle: Annotated[Path, typer.Argument(metavar="BUNDLE_DIR", help="Bundle folder.")]
) -> None:
    """Recompute every hash and the journal chain; exit 4 naming each changed, missing or added file."""
    from breakglass_aws.errors import GuardRailError
    from breakglass_aws.evidence.run import verify_evidence

    st = state(ctx)
    problems = verify_evidence(bundle)
    emit(
        st,
        {"bundle": str(bundle), "intact": not problems, "problems": problems},
        lambda: [f"{bundle}: intact"] if not problems else [],
    )
    if problems and st.json:
        raise typer.Exit(GuardRailError.exit_code)
    if problems:
        raise GuardRailError(
            f"{bundle} was changed: {'; '.join(problems)}", "do not trust this copy; fetch the locked one"
        )


def collect_text(result: CollectResult) -> list[str]:
    lines = [
        f"bundle {result.folder}: {result.event_count} CloudTrail events, manifest sha256 {result.manifest_sha256}"
    ]
    if not result.final:
        lines.append(f"not final: CloudTrail may still deliver events; collect again after {result.final_after}")
    return lines
