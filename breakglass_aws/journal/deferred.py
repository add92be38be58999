"""A store whose journal entries for one incident are held back and written together, in one
write: all of them before each `intent` (so everything up to a mutating call is durable before
the call is made), and the rest when the work ends. Entries of other incidents and every other
operation go straight through. Restores use it: one write before each re-attach or detach, and
one at the end, instead of one per entry."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

from breakglass_aws.gate import INTENT
from breakglass_aws.journal.base import Store, Versions
from breakglass_aws.models import Incident, JournalEntry
from breakglass_aws.runtime import Runtime

__all__ = ["DeferredJournal", "deferred_journal"]

log = logging.getLogger(__name__)


class DeferredJournal:
    def __init__(self, store: Store, incident_id: str) -> None:
        self.inner, self.incident_id = store, incident_id
        self.versions: Versions = store.versions
        self.pending: list[tuple[str, dict[str, Any]]] = []

    def append(self, incident_id: str, kind: str, data: dict[str, Any]) -> JournalEntry | None:
        if incident_id != self.incident_id:
            return self.inner.append(incident_id, kind, data)
        self.pending.append((kind, data))
        if kind == INTENT:
            return self.flush()[-1]
        return None

    def append_many(self, incident_id: str, entries: Sequence[tuple[str, dict[str, Any]]]) -> list[JournalEntry]:
        if incident_id != self.incident_id:
            return self.inner.append_many(incident_id, entries)
        self.pending += entries
        return self.flush()

    def flush(self) -> list[JournalEntry]:
        if not self.pending:
            return []
        written = self.inner.append_many(self.incident_id, self.pending)
        self.pending = []
        return written

    def entries(self, incident_id: str) -> list[JournalEntry]:
        if incident_id == self.incident_id:
            self.flush()
        return self.inner.entries(incident_id)

    def create_incident(self, incident: Incident, join: bool = False) -> None:
        self.inner.create_incident(incident, join)

    def get_incident(self, incident_id: str) -> Incident:
        return self.inner.get_incident(incident_id)

    def save_incident(self, incident: Incident) -> None:
        self.inner.save_incident(incident)

    def list_incidents(self, limit: int = 50, skipped: list[str] | None = None) -> list[Incident]:
        return self.inner.list_incidents(limit, skipped)

    def release_locks(self, incident_id: str, targets: list[str] | None = None) -> None:
        self.inner.release_locks(incident_id, targets)

    def lock_holder(self, target: str) -> str | None:
        return self.inner.lock_holder(target)

    def holders(self, target: str) -> list[str]:
        return self.inner.holders(target)

    def holders_of(self, incident_id: str, targets: list[str]) -> dict[str, list[str]]:
        return self.inner.holders_of(incident_id, targets)

    def record_alert(self, key: str) -> bool:
        return self.inner.record_alert(key)

    def forget_alert(self, key: str) -> None:
        self.inner.forget_alert(key)

    def close(self) -> None:
        self.flush()


@contextmanager
def deferred_journal(rt: Runtime, incident_id: str) -> Iterator[Runtime]:
    """The runtime, with the incident's journal entries written together; whatever is held back
    is written when the block ends, also when it ends in an error or an interrupt (a killed
    process loses them: an intent without its outcome, which the next restore finishes)."""
    store = DeferredJournal(rt.store, incident_id)
    try:
        yield replace(rt, store=store)
    except (Exception, KeyboardInterrupt, SystemExit):
        try:
            store.flush()
        except Exception:
            log.warning("%s: %d journal entries could not be written", incident_id, len(store.pending), exc_info=True)
        raise
    store.flush()
