"""Evidence lifecycle: collect for an incident (optionally upload), verify a bundle."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from breakglass_aws.aws import aws_errors
from breakglass_aws.errors import PartialApplyError, UsageError
from breakglass_aws.evidence.bundle import (
    MANIFEST,
    SIGNATURE,
    Manifest,
    manifest_sha256,
    sha256_file,
    signature_problems,
    verify_bundle,
    write_signature,
)
from breakglass_aws.evidence.collect import CollectResult, check_out_folder, collect_bundle, window_for
from breakglass_aws.evidence.source import Attribute, CloudTrailSource, EvidenceSource
from breakglass_aws.evidence.upload import check_bucket, perform_upload, upload_steps
from breakglass_aws.incident.gate import StepFailed, apply_steps
from breakglass_aws.incident.notice import notify
from breakglass_aws.journal.anchor import manifest_message
from breakglass_aws.runtime import Runtime
from breakglass_aws.validate import parse_s3_url, validate_incident_id, validate_region

__all__ = [
    "EvidenceOptions",
    "Upload",
    "VerifyReport",
    "collect_evidence",
    "validate_upload",
    "verify_evidence",
    "verify_report",
    "wait_for_delivery",
]

SHA256_RE = re.compile(r"\A[0-9a-fA-F]{64}\Z")


@dataclass
class Upload:
    url: str
    retain_days: int
    lock_mode: str


@dataclass
class EvidenceOptions:
    margin: timedelta = timedelta(minutes=5)
    delay: timedelta = timedelta(minutes=15)
    rate: float = 2.0
    regions: list[str] = field(default_factory=list)  # searched besides us-east-1 and the incident's


def validate_upload(upload: Upload | None) -> tuple[str, str] | None:
    if upload is None:
        return None
    if upload.lock_mode not in ("GOVERNANCE", "COMPLIANCE"):
        raise UsageError(f"invalid --lock-mode {upload.lock_mode!r}", "use GOVERNANCE or COMPLIANCE")
    if not 1 <= upload.retain_days <= 36500:
        raise UsageError(f"--retain-days must be 1 to 36500, got {upload.retain_days}", "e.g. --retain-days 2555")
    return parse_s3_url(upload.url)


def wait_for_delivery(
    rt: Runtime, incident_id: str, options: EvidenceOptions, sleep: Callable[[float], None] = time.sleep
) -> None:
    """Wait until CloudTrail's delivery delay after the close has passed. An open incident has no
    end yet, so no wait could make its bundle final: refused."""
    validate_incident_id(incident_id)
    incident = rt.store.get_incident(incident_id)
    if incident.closed_at is None:
        raise UsageError(
            f"incident {incident_id} is still open ({incident.status.value}): "
            "its bundle cannot be final until it is closed",
            f"close it first (breakglass close {incident_id}), or collect now without --wait-for-delivery",
        )
    ready = incident.closed_at + options.delay
    while (left := (ready - rt.clock()).total_seconds()) > 0:
        rt.progress(f"waiting {int(left)}s for CloudTrail delivery (until {ready:%H:%M:%S}Z)")
        sleep(min(left, 30.0))


def collect_evidence(
    rt: Runtime,
    incident_id: str,
    out: Path | None,
    options: EvidenceOptions,
    upload: Upload | None = None,
    source: EvidenceSource | None = None,
) -> CollectResult:
    validate_incident_id(incident_id)
    target = validate_upload(upload)
    for region in options.regions:
        validate_region(region)
    folder = out or rt.evidence_dir / incident_id
    check_out_folder(folder, incident_id)
    incident = rt.store.get_incident(incident_id)
    now = rt.clock()
    window = window_for(incident, now, options.margin, options.delay)
    final_after = (incident.closed_at or now) + options.delay
    if target is not None:
        with aws_errors():
            check_bucket(rt.factory.client("s3"), target[0])
    fetched = [0]

    def progress(region: str, attribute: Attribute, count: int) -> None:
        fetched[0] += count
        if count:
            rt.progress(f"{region} {attribute[0]}={attribute[1]}: page of {count} events, {fetched[0]} fetched so far")

    chosen = source or CloudTrailSource(rt.factory, options.rate, on_page=progress, sleep=rt.pace)
    with aws_errors():
        result = collect_bundle(
            incident, rt.store.entries(incident_id), chosen, folder, window, final_after, now, options.regions
        )
    result.signed = _sign(rt, result)
    written = rt.store.append(
        incident_id,
        "evidence",
        {
            "folder": result.folder,
            "final": result.final,
            "events": result.event_count,
            "regions": result.regions,
            "manifest_sha256": result.manifest_sha256,
            "signed": result.signed,
        },
    )
    head = (written.seq, written.hash) if written else None
    notify(rt, incident, "evidence-collected", f"manifest sha256 {result.manifest_sha256}", head=head)
    if target is not None and upload is not None:
        _upload(rt, incident_id, folder, target, upload)
    return result


def _sign(rt: Runtime, result: CollectResult) -> bool:
    """manifest.sig: the KMS signature of the manifest's SHA-256. A signature that cannot be
    made (KMS unreachable) never stops the evidence: the bundle says it is unsigned."""
    if rt.signer is None:
        return False
    try:
        signature = rt.signer.sign(manifest_message(result.incident_id, result.manifest_sha256))
    except Exception as err:
        rt.progress(f"warning: the bundle of {result.incident_id} is not signed: {type(err).__name__}: {err}")
        return False
    write_signature(Path(result.folder), signature)
    return True


def _upload(rt: Runtime, incident_id: str, folder: Path, target: tuple[str, str], upload: Upload) -> None:
    """Only the files the manifest lists (those collect wrote), then the manifest itself, under
    PREFIX/INCIDENT_ID/ whatever --out is."""
    manifest = Manifest.model_validate_json((folder / MANIFEST).read_text())
    files = {**manifest.files, MANIFEST: sha256_file(folder / MANIFEST)}
    if (folder / SIGNATURE).is_file():
        files[SIGNATURE] = sha256_file(folder / SIGNATURE)
    until = rt.clock() + timedelta(days=upload.retain_days)
    steps = upload_steps(folder, files, target[0], target[1], upload.lock_mode, until, incident_id)
    s3 = rt.factory.client("s3")
    try:
        apply_steps(
            rt.store,
            incident_id,
            steps,
            lambda s: perform_upload(s3, s),
            rt.progress,
        )
    except StepFailed as failed:
        if failed.done == 0 or not failed.error.resumable:  # access denied, a refused request: its own code
            if failed.done:
                failed.error.message = f"upload stopped after {failed.done} file(s): {failed.error.message}"
            raise failed.error from failed
        raise PartialApplyError(
            f"upload stopped after {failed.done} file(s): {failed.error.message}",
            incident_id,
            "rerun the same collect with --upload: every file is uploaded again",
        ) from failed


@dataclass
class VerifyReport:
    bundle: str
    intact: bool
    manifest_sha256: str | None
    problems: list[str]
    signature_checked: bool = False  # with --public-key: the manifest and journal signatures verify


def verify_report(folder: Path, expect_sha256: str | None = None, public_key: bytes | None = None) -> VerifyReport:
    if expect_sha256 is not None and not SHA256_RE.fullmatch(expect_sha256.strip()):
        raise UsageError(
            f"--expect-sha256 must be 64 hex digits, got {expect_sha256!r}",
            "pass the manifest_sha256 from the incident journal (breakglass show ID) or the S3 copy",
        )
    if not folder.is_dir():
        raise UsageError(f"{folder} is not a folder", "pass the bundle folder written by evidence collect")
    problems = verify_bundle(folder, expect_sha256.strip() if expect_sha256 else None)
    if public_key is not None:
        problems += signature_problems(folder, public_key)
    return VerifyReport(str(folder), not problems, manifest_sha256(folder), problems, public_key is not None)


def verify_evidence(folder: Path, expect_sha256: str | None = None) -> list[str]:
    return verify_report(folder, expect_sha256).problems
