"""Evidence lifecycle: collect for an incident (optionally upload), verify a bundle."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from breakglass_aws.aws import aws_errors
from breakglass_aws.errors import PartialApplyError, UsageError
from breakglass_aws.evidence.bundle import MANIFEST, Manifest, verify_bundle
from breakglass_aws.evidence.collect import CollectResult, collect_bundle, window_for
from breakglass_aws.evidence.source import CloudTrailSource, EvidenceSource
from breakglass_aws.evidence.upload import check_bucket, parse_s3_url, perform_upload, upload_steps
from breakglass_aws.gate import StepFailed, apply_steps
from breakglass_aws.runtime import Runtime
from breakglass_aws.validate import validate_incident_id

__all__ = ["EvidenceOptions", "Upload", "collect_evidence", "validate_upload", "verify_evidence"]


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


def validate_upload(upload: Upload | None) -> tuple[str, str] | None:
    if upload is None:
        return None
    if upload.lock_mode not in ("GOVERNANCE", "COMPLIANCE"):
        raise UsageError(f"invalid --lock-mode {upload.lock_mode!r}", "use GOVERNANCE or COMPLIANCE")
    if not 1 <= upload.retain_days <= 36500:
        raise UsageError(f"--retain-days must be 1 to 36500, got {upload.retain_days}", "e.g. --retain-days 2555")
    return parse_s3_url(upload.url)


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
    incident = rt.store.get_incident(incident_id)
    folder = out or rt.evidence_dir / incident_id
    now = rt.clock()
    window = window_for(incident, now, options.margin, options.delay)
    final_after = (incident.closed_at or now) + options.delay
    if target is not None:
        with aws_errors():
            check_bucket(rt.factory.client("s3"), target[0])

    def progress(region: str, count: int) -> None:
        if count:
            rt.progress(f"{region}: page of {count} events")

    chosen = source or CloudTrailSource(rt.factory, options.rate, on_page=progress)
    with aws_errors():
        result = collect_bundle(incident, rt.store.entries(incident_id), chosen, folder, window, final_after, now)
    rt.store.append(
        incident_id,
        "evidence",
        {
            "folder": result.folder,
            "final": result.final,
            "events": result.event_count,
            "manifest_sha256": result.manifest_sha256,
        },
    )
    if target is not None and upload is not None:
        _upload(rt, incident_id, folder, target, upload)
    return result


def _upload(rt: Runtime, incident_id: str, folder: Path, target: tuple[str, str], upload: Upload) -> None:
    manifest = Manifest.model_validate_json((folder / MANIFEST).read_text())
    files = {**manifest.files, MANIFEST: hashlib.sha256((folder / MANIFEST).read_bytes()).hexdigest()}
    until = rt.clock() + timedelta(days=upload.retain_days)
    steps = upload_steps(folder, files, target[0], target[1], upload.lock_mode, until)
    s3 = rt.factory.client("s3")
    try:
        apply_steps(
            rt.store,
            incident_id,
            steps,
            lambda s: perform_upload(s3, s),
            lambda s: rt.progress(f"done: {s.describe()}"),
        )
    except StepFailed as failed:
        if failed.done == 0:
            raise failed.error from failed
        raise PartialApplyError(
            f"upload stopped after {failed.done} file(s): {failed.error.message}",
            incident_id,
            "rerun the same collect with --upload: every file is uploaded again",
        ) from failed


def verify_evidence(folder: Path) -> list[str]:
    if not folder.is_dir():
        raise UsageError(f"{folder} is not a folder", "pass the bundle folder written by evidence collect")
    return verify_bundle(folder)
