"""A store that writes one incident's journal only while the incident is claimed by a given
closer: a closer that lost its claim (it was suspended, and another took over when its lease ran
out) is stopped at its next journal write, before the mutating call that write would announce."""

from __future__ import annotations

from collections.abc import Sequence

from breakglass_aws.journal.base import Entries, Store, StoreWrapper, claim_token
from breakglass_aws.models import Incident, JournalEntry

__all__ = ["FencedStore"]


class FencedStore(StoreWrapper):
    def __init__(self, store: Store, incident_id: str, token: str) -> None:
        super().__init__(store)
        self.incident_id, self.token = incident_id, token
        self.fencing = True

    def append_many(self, incident_id: str, entries: Entries, fence: str | None = None) -> list[JournalEntry]:
        if incident_id == self.incident_id and self.fencing:
            fence = self.token
        return self.inner.append_many(incident_id, entries, fence)

    def save_incident(
        self, incident: Incident, entries: Entries = (), release: Sequence[str] = ()
    ) -> list[JournalEntry]:
        written = self.inner.save_incident(incident, entries, release)
        if incident.incident_id == self.incident_id and claim_token(incident) != self.token:
            self.fencing = False  # this closer's own save let go of the claim (closed, or stopped)
        return written
