"""The incident report, read from an evidence bundle alone (no AWS call, no store): the incident
record, the bundle's verification, the journal's transitions and changes, and one streaming pass
over the CloudTrail events. `report_write` renders it as HTML or Markdown."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from pydantic import ValidationError

from breakglass_aws.errors import GuardRailError, UsageError
from breakglass_aws.evidence.bundle import (
    EVENTS,
    INCIDENT,
    JOURNAL,
    MANIFEST,
    SIGNATURE,
    Manifest,
    manifest_sha256,
    signature_problems,
    verify_bundle,
)
from breakglass_aws.evidence.report_journal import JournalFacts, read_journal
from breakglass_aws.evidence.report_scan import Context, Scan, padded, scan
from breakglass_aws.evidence.report_text import parse_time
from breakglass_aws.models import FULL_AWS_ACCESS, RCP_FULL_AWS_ACCESS, Incident

__all__ = ["Report", "Verification", "build_report", "context_for", "load_incident"]

DEFAULT_MARGIN = timedelta(minutes=5)  # the axis of a bundle without a readable manifest
REVOKE_POLICY = "AWSRevokeOlderSessions"


@dataclass
class Verification:
    intact: bool
    problems: list[str]
    manifest: Manifest | None
    manifest_sha256: str | None
    signature: str  # one line: verified, present but not checked, unsigned, or failed

    @property
    def final_after(self) -> datetime | None:
        return parse_time(self.manifest.final_after) if self.manifest else None


@dataclass
class Report:
    folder: Path
    incident: Incident
    verification: Verification
    context: Context
    journal: JournalFacts
    scan: Scan
    generated_at: datetime


def build_report(folder: Path, now: datetime, public_key: bytes | None = None) -> Report:
    """Everything the report shows, in memory bounded whatever the number of events."""
    incident = load_incident(folder)
    verification = verify(folder, public_key)
    journal = read_journal(folder / JOURNAL)
    context = context_for(incident, journal, verification.manifest)
    events = scan(folder / EVENTS, context) if (folder / EVENTS).is_file() else Scan()
    return Report(folder, incident, verification, context, journal, events, now)


def load_incident(folder: Path) -> Incident:
    if not folder.is_dir():
        raise UsageError(f"{folder} is not a folder", "pass an evidence bundle folder (breakglass evidence collect ID)")
    path = folder / INCIDENT
    if not path.is_file():
        raise UsageError(
            f"{folder} is not an evidence bundle: it has no {INCIDENT}",
            "pass the folder written by breakglass evidence collect",
        )
    try:
        return Incident.model_validate(json.loads(path.read_text()))
    except (ValidationError, ValueError) as err:
        raise GuardRailError(
            f"{path} is not an incident record: the bundle was changed or damaged",
            f"do not trust this copy; see: breakglass evidence verify {folder}",
        ) from err


def verify(folder: Path, public_key: bytes | None) -> Verification:
    problems = verify_bundle(folder)
    if public_key is not None:
        failed = signature_problems(folder, public_key)
        problems += failed
        signature = "FAILED: " + "; ".join(failed) if failed else "manifest.sig verified with the public key"
    elif (folder / SIGNATURE).is_file():
        signature = "manifest.sig present (a KMS signature), not checked here: pass --public-key"
    else:
        signature = "unsigned: no signing_key was configured when the bundle was collected"
    return Verification(not problems, problems, _manifest(folder), manifest_sha256(folder), signature)


def _manifest(folder: Path) -> Manifest | None:
    try:
        return Manifest.model_validate_json((folder / MANIFEST).read_text())
    except (OSError, ValidationError, ValueError):
        return None


def context_for(incident: Incident, journal: JournalFacts, manifest: Manifest | None) -> Context:
    opened = incident.created_at
    ended = incident.closed_at or incident.expires_at
    start = parse_time(manifest.window_start) if manifest else None
    end = parse_time(manifest.window_end) if manifest else None
    first = min(start or opened - DEFAULT_MARGIN, opened)
    last = max(end or ended + DEFAULT_MARGIN, incident.closed_at or opened)
    role = incident.role
    cutoff = role.revoked_before if role else None
    if cutoff is None and incident.closing is not None:
        cutoff = incident.closing.revoke_before
    return Context(
        opened=opened,
        ended=ended,
        axis=padded(first, last),
        requester=frozenset({incident.requester.arn, incident.requester.arn.rsplit("/", 1)[-1]}),
        session_name=role.session_name if role else None,
        session_keys=frozenset(s.access_key_id for s in role.sessions) if role else frozenset(),
        cutoff=cutoff,
        watched=tuple(sorted(_watched(incident, journal))),
    )


def _watched(incident: Incident, journal: JournalFacts) -> set[str]:
    """The break-glass resources by name or id: the role, the users and secrets the tool rotated,
    its schedules, the SCPs/RCPs it detached, a root task's resource, the revocation policy."""
    found = set(journal.watched)
    if incident.role is not None:
        found |= {incident.role.role_arn.rsplit("/", 1)[-1], REVOKE_POLICY}
    found |= {p for snap in incident.scp for p in snap.detach}
    if incident.root is not None and incident.root.resource:
        found.add(incident.root.resource)
    if incident.closing is not None:
        found |= set(incident.closing.users)
    return {n for n in found - {FULL_AWS_ACCESS, RCP_FULL_AWS_ACCESS} if len(n) >= 3}
