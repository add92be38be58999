"""The evidence bundle on disk: files, a manifest of SHA-256 hashes, and verification."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from breakglass_aws.journal.chain import verify_chain
from breakglass_aws.models import JournalEntry

__all__ = ["MANIFEST", "Manifest", "sha256_file", "verify_bundle", "write_manifest"]

MANIFEST = "manifest.json"
JOURNAL = "journal.jsonl"


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


def write_manifest(folder: Path, **fields: Any) -> tuple[Manifest, str]:
    files = {p.name: sha256_file(p) for p in sorted(folder.iterdir()) if p.is_file() and p.name != MANIFEST}
    manifest = Manifest(files=files, **fields)
    text = json.dumps(manifest.model_dump(), indent=2, sort_keys=True) + "\n"
    (folder / MANIFEST).write_text(text)
    return manifest, hashlib.sha256(text.encode()).hexdigest()


def verify_bundle(folder: Path) -> list[str]:
    """Every problem found: changed, missing or added files, and a broken journal chain."""
    try:
        manifest = Manifest.model_validate_json((folder / MANIFEST).read_text())
    except FileNotFoundError:
        return [f"{MANIFEST} is missing"]
    except (ValidationError, ValueError) as err:
        return [f"{MANIFEST} is not a valid manifest: {str(err).splitlines()[0]}"]
    present = {p.name for p in folder.iterdir() if p.is_file() and p.name != MANIFEST}
    problems = [f"missing: {name}" for name in sorted(set(manifest.files) - present)]
    problems += [f"added: {name}" for name in sorted(present - set(manifest.files))]
    problems += [
        f"changed: {name}"
        for name in sorted(set(manifest.files) & present)
        if sha256_file(folder / name) != manifest.files[name]
    ]
    if JOURNAL in present:
        problems += _journal_problems(folder / JOURNAL, manifest.journal_chain_head)
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
