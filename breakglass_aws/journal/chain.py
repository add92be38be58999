"""Hash chaining of journal entries: each entry's hash covers its content and its predecessor."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from typing import Any

from breakglass_aws.models import JournalEntry

__all__ = ["GENESIS", "UNREADABLE", "ChainProblem", "chain_entries", "entry_hash", "load_data", "verify_chain"]

GENESIS = "0" * 64
UNREADABLE = "unreadable"  # the key of the data of an entry whose stored text is not JSON


def load_data(text: str) -> dict[str, Any]:
    """An entry's stored data; text that is not a JSON object (damaged, or edited by hand) is kept
    as unreadable, so `journal verify` reports that entry instead of every reader crashing."""
    try:
        value = json.loads(text)
    except ValueError:
        return {UNREADABLE: text[:200]}
    return value if isinstance(value, dict) else {UNREADABLE: text[:200]}


def canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def entry_hash(incident_id: str, seq: int, at: str, kind: str, data: dict[str, Any], prev: str) -> str:
    body = {"incident_id": incident_id, "seq": seq, "at": at, "kind": kind, "data": data, "prev": prev}
    return hashlib.sha256(canonical(body)).hexdigest()


def chain_entries(
    incident_id: str, head: tuple[int, str], at: str, entries: Sequence[tuple[str, dict[str, Any]]]
) -> list[JournalEntry]:
    """The (kind, data) entries as they follow `head` (the last entry's seq and hash)."""
    seq, prev = head
    chained = []
    for kind, data in entries:
        seq += 1
        digest = entry_hash(incident_id, seq, at, kind, data, prev)
        chained.append(
            JournalEntry(incident_id=incident_id, seq=seq, at=at, kind=kind, data=data, prev_hash=prev, hash=digest)
        )
        prev = digest
    return chained


class ChainProblem(str):
    """A human-readable description of where the chain breaks."""


def verify_chain(entries: Iterable[JournalEntry]) -> list[ChainProblem]:
    problems: list[ChainProblem] = []
    prev = GENESIS
    expected_seq = 1
    for entry in entries:
        if entry.seq != expected_seq:
            problems.append(ChainProblem(f"entry {entry.seq}: expected sequence {expected_seq}"))
        if entry.prev_hash != prev:
            problems.append(ChainProblem(f"entry {entry.seq}: link to previous entry broken"))
        if UNREADABLE in entry.data:
            problems.append(ChainProblem(f"entry {entry.seq} ({entry.kind}): its data is not readable JSON"))
        recomputed = entry_hash(entry.incident_id, entry.seq, entry.at, entry.kind, entry.data, entry.prev_hash)
        if recomputed != entry.hash:
            problems.append(ChainProblem(f"entry {entry.seq} ({entry.kind}): content changed"))
        prev = entry.hash
        expected_seq = entry.seq + 1
    return problems
