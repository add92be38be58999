"""A store whose journal entries for one incident are held back and written together, in one
write: all of them before each `intent` (so everything up to a mutating call is durable before
the call is made), with the next save of the incident, and the rest when the work ends. Entries
of other incidents and every other operation go straight through. Restores use it: one write
before each re-attach or detach, and one at the end, instead of one per entry."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

from breakglass_aws.gate import INTENT
from breakglass_aws.journal.base import Entries, Store, StoreWrapper
from breakglass_aws.models import Incident, JournalEntry
from breakglass_aws.runtime import Runtime

__all__ = ["DeferredJournal", "deferred_journal"]

log = logging.getLogger(__name__)


class DeferredJournal(StoreWrapper):
    def __init__(self, store: Store, incident_id: str) -> None:
        super().__init__(store)
        self.incident_id = incident_id
        self.pending: list[tuple[str, dict[str, Any]]] = []

    def append(self, incident_id: str, kind: str, data: dict[str, Any]) -> JournalEntry | None:
        if incident_id != self.incident_id:
            return self.inner.append(incident_id, kind, data)
        self.pending.append((kind, data))
        if kind == INTENT:
            return self.flush()[-1]
        return None

    def append_many(self, incident_id: str, entries: Entries, fence: str | None = None) -> list[JournalEntry]:
        if incident_id != self.incident_id:
            return self.inner.append_many(incident_id, entries, fence)
        self.pending += entries
        return self.flush()

    def save_incident(
        self, incident: Incident, entries: Entries = (), release: Sequence[str] = ()
    ) -> list[JournalEntry]:
        if incident.incident_id != self.incident_id:
            return self.inner.save_incident(incident, entries, release)
        written = self.inner.save_incident(incident, [*self.pending, *entries], release)
        self.pending = []
        return written

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

    def head(self, incident_id: str) -> tuple[int, str]:
        if incident_id == self.incident_id:
            self.flush()
        return self.inner.head(incident_id)

    def close(self) -> None:
        self.flush()


@contextmanager
def deferred_journal(rt: Runtime, incident_id: str) -> Iterator[Runtime]:
    """The runtime, with the incident's journal entries written together; whatever is held back
    is written when the block ends, also when it ends in an error or an interrupt (a killed
    process loses them: an intent without its outcome, which the next restore finishes). A
    failure to write them then never hides the error that ended the block."""
    store = DeferredJournal(rt.store, incident_id)
    try:
        yield replace(rt, store=store)
    except (Exception, KeyboardInterrupt, SystemExit):
        try:
            store.flush()
        except Exception as err:  # the journal is failing too: the first error is the one to report
            log.debug("%s: %d journal entries could not be written: %s", incident_id, len(store.pending), err)
        raise
    store.flush()
