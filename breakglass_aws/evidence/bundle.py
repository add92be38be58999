"""The evidence bundle on disk: files, a manifest of SHA-256 hashes, and verification."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from breakglass_aws.journal.anchor import Signature, head_message, manifest_message, verify_signature
from breakglass_aws.journal.chain import verify_chain
from breakglass_aws.models import JournalEntry

__all__ = [
    "MANIFEST",
    "SIGNATURE",
    "Manifest",
    "manifest_sha256",
    "sha256_file",
    "signature_problems",
    "verify_bundle",
    "write_manifest",
    "write_signature",
]

MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"  # the KMS signature of the manifest's SHA-256 (not listed in it: it signs it)
JOURNAL = "journal.jsonl"
EVENTS = "cloudtrail-events.jsonl"
INCIDENT = "incident.json"


class Manifest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    format: str = "breakglass-evidence/1"
    incident_id: str
    collected_at: str
    window_start: str
    window_end: str
    final: bool
    final_after: str
    event_count: int
    regions: list[str]
    journal_chain_head: str
    files: dict[str, str]


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest()


def manifest_sha256(folder: Path) -> str | None:
    """The SHA-256 of manifest.json as stored (what collect printed and journaled)."""
    path = folder / MANIFEST
    return sha256_file(path) if path.is_file() else None


def write_manifest(folder: Path, names: list[str], **fields: Any) -> tuple[Manifest, str]:
    """Hash exactly the files collect wrote (`names`), never whatever else is in the folder."""
    files = {name: sha256_file(folder / name) for name in sorted(names) if name != MANIFEST}
    manifest = Manifest(files=files, **fields)
    text = json.dumps(manifest.model_dump(), indent=2, sort_keys=True) + "\n"
    (folder / MANIFEST).write_text(text)
    return manifest, hashlib.sha256(text.encode()).hexdigest()


def verify_bundle(folder: Path, expect_sha256: str | None = None) -> list[str]:
    """Every problem found: changed, missing or added files and folders, a broken journal chain, a
    manifest whose facts disagree with the files, and a manifest hash other than the expected one."""
    try:
        manifest = Manifest.model_validate_json((folder / MANIFEST).read_text())
    except FileNotFoundError:
        return [f"{MANIFEST} is missing"]
    except (ValidationError, ValueError) as err:
        return [f"{MANIFEST} is not a valid manifest: {str(err).splitlines()[0]}"]
    problems: list[str] = []
    actual = sha256_file(folder / MANIFEST)
    if expect_sha256 is not None and actual != expect_sha256.lower():
        problems.append(f"{MANIFEST}: sha256 {actual} is not the expected {expect_sha256.lower()}")
    entries = sorted(folder.iterdir())
    present = {p.name for p in entries if p.is_file() and p.name not in (MANIFEST, SIGNATURE)}
    problems += [f"missing: {name}" for name in sorted(set(manifest.files) - present)]
    problems += [f"added: {name}" for name in sorted(present - set(manifest.files))]
    problems += [f"added: {p.name}/ (a folder)" for p in entries if p.is_dir()]
    problems += [f"added: {p.name} (not a regular file)" for p in entries if not p.is_dir() and not p.is_file()]
    problems += [
        f"changed: {name}"
        for name in sorted(set(manifest.files) & present)
        if sha256_file(folder / name) != manifest.files[name]
    ]
    if JOURNAL in present:
        problems += _journal_problems(folder / JOURNAL, manifest.journal_chain_head)
    if EVENTS in present:
        problems += _event_problems(folder / EVENTS, manifest)
    problems += _final_problems(folder / INCIDENT if INCIDENT in present else None, manifest)
    return problems


def _journal_problems(path: Path, head: str) -> list[str]:
    try:
        entries = [JournalEntry.model_validate_json(line) for line in path.read_text().splitlines() if line.strip()]
    except (ValidationError, ValueError):
        return [f"{JOURNAL}: not a journal export"]
    problems = [f"{JOURNAL}: {p}" for p in verify_chain(entries)]
    last = entries[-1].hash if entries else ""
    if last != head:
        problems.append(f"{JOURNAL}: chain head differs from the manifest")
    return problems


def _event_problems(path: Path, manifest: Manifest) -> list[str]:
    """The manifest's event count and regions against the events file (read line by line)."""
    count, regions, unreadable = 0, set(), 0
    with path.open("rb") as handle:
        for line in handle:
            if not line.strip():
                continue
            count += 1
            try:
                regions.add(str(json.loads(line).get("region")))
            except (ValueError, AttributeError):
                unreadable += 1
    problems = []
    if count != manifest.event_count:
        problems.append(f"{MANIFEST}: event_count {manifest.event_count} but {EVENTS} holds {count} events")
    if unreadable:
        problems.append(f"{EVENTS}: {unreadable} line(s) are not CloudTrail event records")
    if stray := sorted(regions - set(manifest.regions)):
        problems.append(f"{MANIFEST}: regions omit {', '.join(stray)}, where events in {EVENTS} come from")
    return problems


def _when(text: str | None) -> datetime | None:
    try:
        when = datetime.fromisoformat(text) if text else None
    except ValueError:
        return None
    return when.replace(tzinfo=UTC) if when is not None and when.tzinfo is None else when


def _final_problems(incident_path: Path | None, manifest: Manifest) -> list[str]:
    """final: true only for a closed incident collected at or after final_after, with the window
    reaching it; final: false only when collected no later than final_after."""
    collected, after, end = _when(manifest.collected_at), _when(manifest.final_after), _when(manifest.window_end)
    if collected is None or after is None or end is None:
        return [f"{MANIFEST}: collected_at, final_after or window_end is not a timestamp"]
    problems = []
    if manifest.final and (collected < after or end < after):
        problems.append(f"{MANIFEST}: final is true but the bundle was collected before {manifest.final_after}")
    if not manifest.final and collected > after:  # timestamps are whole seconds: equal is not yet final
        problems.append(f"{MANIFEST}: final is false but the bundle was collected after {manifest.final_after}")
    if incident_path is not None:
        try:
            incident = json.loads(incident_path.read_text())
        except ValueError:
            return [*problems, f"{INCIDENT}: not an incident record"]
        if not isinstance(incident, dict):
            return [*problems, f"{INCIDENT}: not an incident record"]
        if incident.get("incident_id") != manifest.incident_id:
            problems.append(f"{MANIFEST}: incident_id differs from {INCIDENT}")
        if manifest.final and not incident.get("closed_at"):
            problems.append(f"{MANIFEST}: final is true but the incident in {INCIDENT} was still open")
    return problems


def write_signature(folder: Path, signature: Signature) -> None:
    """Write manifest.sig beside the manifest (written whole, then moved into place)."""
    partial = folder / f".{SIGNATURE}.partial"
    partial.write_text(json.dumps(signature.model_dump(), indent=2, sort_keys=True) + "\n")
    partial.replace(folder / SIGNATURE)


def signature_problems(folder: Path, public_pem: bytes) -> list[str]:
    """With the signing key's public key: manifest.sig must sign this manifest's SHA-256 for this
    incident, and every `signed` entry of journal.jsonl the entry it names."""
    try:
        manifest = Manifest.model_validate_json((folder / MANIFEST).read_text())
        signature = Signature.model_validate_json((folder / SIGNATURE).read_text())
    except FileNotFoundError as err:
        return [f"{Path(str(err.filename)).name} is missing: the bundle is not signed"]
    except (ValidationError, ValueError):
        return [f"{SIGNATURE} is not a signature"]
    expected = manifest_message(manifest.incident_id, sha256_file(folder / MANIFEST))
    problem = verify_signature(signature, public_pem, expected)
    problems = [f"{SIGNATURE}: {problem}"] if problem else []
    return problems + _journal_signatures(folder / JOURNAL, manifest.incident_id, public_pem)


def _journal_signatures(path: Path, incident_id: str, public_pem: bytes) -> list[str]:
    try:
        entries = [JournalEntry.model_validate_json(line) for line in path.read_text().splitlines() if line.strip()]
    except (OSError, ValidationError, ValueError):
        return []  # reported by verify_bundle
    hashes = {e.seq: e.hash for e in entries}
    problems = []
    for entry in (e for e in entries if e.kind == "signed"):
        seq = int(entry.data.get("seq", 0))
        fields = {k: entry.data.get(k) for k in ("key_id", "algorithm", "message", "signature")}
        try:
            signature = Signature.model_validate(fields)
        except ValidationError:
            problems.append(f"{JOURNAL}: entry {entry.seq} is not a signature")
            continue
        problem = verify_signature(signature, public_pem, head_message(incident_id, seq, hashes.get(seq, "")))
        if problem:
            problems.append(f"{JOURNAL}: the signature of entry {seq}: {problem}")
    return problems
