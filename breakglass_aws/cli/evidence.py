"""`breakglass evidence collect|verify`."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from breakglass_aws.cli.common.options import evidence_options
from breakglass_aws.cli.common.output import emit, read_public_key
from breakglass_aws.cli.common.views import collect_text
from breakglass_aws.cli.state import state

if TYPE_CHECKING:
    pass

app = typer.Typer(
    rich_markup_mode=None,
    help="Evidence: the incident's CloudTrail record in a tamper-evident bundle.",
    no_args_is_help=True,
)


@app.command()
def collect(
    ctx: typer.Context,
    incident_id: Annotated[str, typer.Argument(help="The incident.")],
    out: Annotated[Path | None, typer.Option(metavar="DIR", help="Bundle folder (default: evidence_dir/ID).")] = None,
    wait_for_delivery: Annotated[
        bool, typer.Option("--wait-for-delivery", help="Wait until the bundle can be final.")
    ] = False,
    upload: Annotated[
        str | None,
        typer.Option(metavar="s3://BUCKET/PREFIX", help="Upload with Object Lock, under PREFIX/INCIDENT_ID/."),
    ] = None,
    retain_days: Annotated[int, typer.Option(metavar="N", help="Object Lock retention in days.")] = 365,
    lock_mode: Annotated[str, typer.Option(metavar="GOVERNANCE|COMPLIANCE", help="Object Lock mode.")] = "GOVERNANCE",
    lookup_region: Annotated[
        list[str] | None,
        typer.Option(
            "--lookup-region",
            metavar="REGION",
            help="Also search this region (repeatable). Always searched: us-east-1, the regions the incident "
            "touched, evidence_regions and the global --region.",
        ),
    ] = None,
) -> None:
    """Collect the incident, its journal and its CloudTrail events into a bundle with a manifest of hashes."""
    from breakglass_aws.evidence.collect import check_out_folder
    from breakglass_aws.incident.evidence import Upload, collect_evidence, validate_upload
    from breakglass_aws.incident.evidence import wait_for_delivery as wait_until_final
    from breakglass_aws.validate import validate_incident_id

    st = state(ctx)
    validate_incident_id(incident_id)
    wanted = Upload(upload, retain_days, lock_mode.upper()) if upload else None
    validate_upload(wanted)
    if out is not None:
        check_out_folder(out, incident_id)
    opts = evidence_options(st, lookup_region)
    rt = st.runtime()
    if wait_for_delivery:
        wait_until_final(rt, incident_id, opts, time.sleep)
    result = collect_evidence(rt, incident_id, out, opts, wanted)
    emit(st, result.model_dump(mode="json"), lambda: collect_text(result))


@app.command()
def verify(
    ctx: typer.Context,
    bundle: Annotated[Path, typer.Argument(metavar="BUNDLE_DIR", help="Bundle folder.")],
    expect_sha256: Annotated[
        str | None,
        typer.Option(
            "--expect-sha256",
            metavar="HEX",
            help="The manifest's SHA-256 as journaled by collect (breakglass show ID) or on the locked S3 copy.",
        ),
    ] = None,
    public_key: Annotated[
        Path | None,
        typer.Option(
            metavar="FILE",
            help="PEM public key of the signing key (breakglass evidence public-key): check the signatures offline.",
        ),
    ] = None,
) -> None:
    """Recompute every hash, the journal chain and the manifest's facts, and with --public-key the
    signatures; exit 4 naming each problem."""
    from dataclasses import asdict

    from breakglass_aws.errors import GuardRailError
    from breakglass_aws.incident.evidence import verify_report

    st = state(ctx)
    report = verify_report(bundle, expect_sha256, read_public_key(public_key))
    problems = report.problems

    def text() -> list[str]:
        sha = f"manifest sha256 {report.manifest_sha256}" if report.manifest_sha256 else "no manifest"
        checked = " (the expected one)" if expect_sha256 and not problems else ""
        if problems:
            return [f"{bundle}: {sha}"]
        signed = "; signatures verified with the public key" if report.signature_checked else ""
        note = (
            ""
            if expect_sha256 or signed
            else ("; pass --public-key (or --expect-sha256 with the journaled value) to prove the manifest itself")
        )
        return [f"{bundle}: intact, {sha}{checked}{signed}{note}"]

    emit(st, asdict(report), text)
    if problems and st.json:
        raise typer.Exit(GuardRailError.exit_code)
    if problems:
        raise GuardRailError(
            f"{bundle} was changed: {'; '.join(problems)}", "do not trust this copy; fetch the locked one"
        )


@app.command("public-key")
def public_key_command(
    ctx: typer.Context,
    out: Annotated[Path | None, typer.Option(metavar="FILE", help="Write the PEM here (default: print it).")] = None,
) -> None:
    """The signing key's public key (PEM), to verify bundles and journals offline."""
    from breakglass_aws.aws import aws_errors
    from breakglass_aws.errors import ConfigError, UsageError

    st = state(ctx)
    if out is not None and out.exists():
        raise UsageError(f"--out {out} already exists", "choose a new file name")
    signer = st.runtime().signer
    if signer is None:
        raise ConfigError("no signing_key is configured", "set signing_key to the KMS key made by the control plane")
    with aws_errors():
        pem = signer.public_key_pem()
    if out is None:
        typer.echo(pem.decode().rstrip())
        return
    try:
        out.write_bytes(pem)
    except OSError as err:
        raise UsageError(f"cannot write --out {out}: {err.strerror}", "choose a writable path") from None
    emit(st, {"public_key": str(out), "key_id": signer.key_id}, lambda: [f"public key of {signer.key_id} in {out}"])
