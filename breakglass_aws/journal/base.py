"""The store interface every backend implements (embedded SQLite now, DynamoDB for teams)."""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from pydantic import ValidationError

from breakglass_aws.errors import ConfigError, GuardRailError, UsageError
from breakglass_aws.models import Incident, JournalEntry

__all__ = [
    "ClaimLost",
    "Entries",
    "IncidentChanged",
    "IncidentNotFound",
    "NothingToJoin",
    "Store",
    "StoreUnavailable",
    "TargetLocked",
    "UnreadableIncident",
    "Versions",
    "claim_token",
    "parse_incident",
    "refresh",
    "update_incident",
]

Entries = Sequence[tuple[str, dict[str, Any]]]

log = logging.getLogger("breakglass_aws.journal")

UPDATE_ATTEMPTS = 10


class TargetLocked(GuardRailError):
    def __init__(self, target: str, holder: str) -> None:
        super().__init__(
            f"target {target} already has an open incident {holder}",
            f"share it with --join (see: breakglass show {holder}) or restore it: breakglass scp restore {holder}",
        )
        self.target = target
        self.holder = holder


class NothingToJoin(UsageError):
    def __init__(self, target: str) -> None:
        super().__init__(f"no open incident holds {target}", "leave out --join to open a new incident")


class IncidentNotFound(UsageError):
    def __init__(self, incident_id: str) -> None:
        super().__init__(f"no incident {incident_id} in the journal", "list incidents with: breakglass list")


class IncidentChanged(GuardRailError):
    """A version-checked save lost the race: someone saved the incident after it was read."""

    def __init__(self, incident_id: str) -> None:
        super().__init__(
            f"{incident_id} was changed by someone else meanwhile; nothing was saved",
            f"see what changed with: breakglass show {incident_id}, then run the command again",
        )
        self.incident_id = incident_id


class ClaimLost(GuardRailError):
    """A fenced write found the incident claimed by another closer: this one must stop."""

    def __init__(self, incident_id: str) -> None:
        super().__init__(
            f"{incident_id} is now being closed by another process; this one stopped before its next change",
            f"see who and where with: breakglass show {incident_id}",
        )
        self.incident_id = incident_id


class StoreUnavailable(ConfigError):
    """The embedded journal cannot be read or written (a full disk, a read-only file, an I/O
    error). Nothing more was written; the caller says what had already changed."""

    def __init__(self, where: str, cause: str) -> None:
        super().__init__(
            f"the journal at {where} cannot be written: {cause}",
            f"free space or fix the permissions of {where}; nothing more was recorded",
        )


def claim_token(incident: Incident) -> str | None:
    """The token of the closer holding the incident, if any (what a fenced write compares)."""
    claim = incident.closing.claim if incident.closing else None
    return claim.token if claim else None


class UnreadableIncident(ConfigError):
    """A stored incident that no longer validates (edited by hand, damaged file or item)."""

    def __init__(self, incident_id: str, where: str, err: ValidationError) -> None:
        problems = err.errors()
        first = problems[0] if problems else {"loc": (), "msg": str(err)}
        detail = f"{'.'.join(str(part) for part in first['loc']) or 'record'}: {first['msg']}"
        if len(problems) > 1:
            detail += f" (and {len(problems) - 1} more)"
        super().__init__(
            f"incident {incident_id} in {where} is unreadable: {detail[:200]}",
            "the stored record was damaged or edited by hand; other incidents are unaffected "
            "(breakglass list skips it); repair it from a backup of the store",
        )
        self.incident_id = incident_id


def parse_incident(incident_id: str, body: str, where: str) -> Incident:
    try:
        return Incident.model_validate_json(body)
    except ValidationError as err:
        raise UnreadableIncident(incident_id, where, err) from None


class Versions:
    """The stored version each Incident object was read (or last saved) at, kept beside the
    object rather than in the model, so equality and the JSON shape stay as they are. A save of
    an object read at version v succeeds only while the store still holds v (compare-and-set)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_object: dict[int, int] = {}

    def remember(self, incident: Incident, version: int) -> None:
        key = id(incident)
        with self._lock:
            if key not in self._by_object:
                weakref.finalize(incident, self._forget, key)
            self._by_object[key] = version

    def of(self, incident: Incident) -> int | None:
        """None for an object this store never handed out (e.g. copied from another store)."""
        with self._lock:
            return self._by_object.get(id(incident))

    def _forget(self, key: int) -> None:
        with self._lock:
            self._by_object.pop(key, None)


def refresh(store: Store, incident: Incident) -> None:
    """Re-read the stored record into this very object (fields and version), so that whoever
    holds it keeps saving on top of what others saved meanwhile."""
    fresh = store.get_incident(incident.incident_id)
    for name in Incident.model_fields:
        setattr(incident, name, getattr(fresh, name))
    store.versions.remember(incident, store.versions.of(fresh) or 0)


def update_incident(
    store: Store,
    incident_id: str,
    change: Callable[[Incident], None],
    entries: Callable[[Incident], Entries] | None = None,
    release: Sequence[str] = (),
) -> Incident:
    """Read, change, save with compare-and-set; on a lost race read again and re-apply `change`
    (which may refuse by raising, e.g. once a request was denied meanwhile). The journal
    `entries` made from the changed incident, and letting go of `release`, go in the same write."""
    for _ in range(UPDATE_ATTEMPTS):
        incident = store.get_incident(incident_id)
        change(incident)
        try:
            store.save_incident(incident, entries(incident) if entries else (), release)
        except IncidentChanged:
            log.info("%s changed while being updated; retrying", incident_id)
            continue
        return incident
    raise IncidentChanged(incident_id)


class Store(Protocol):
    """Incidents, their hash-chained journals and per-target locks."""

    versions: Versions

    def create_incident(self, incident: Incident, join: bool = False, entries: Entries = ()) -> list[JournalEntry]:
        """Store a new incident, hold its targets and write its first journal `entries`, all in
        one atomic write. A held target raises TargetLocked, unless `join` (overlapping
        incidents, reference-counted)."""

    def get_incident(self, incident_id: str) -> Incident: ...

    def save_incident(
        self, incident: Incident, entries: Entries = (), release: Sequence[str] = ()
    ) -> list[JournalEntry]:
        """Compare-and-set: raises IncidentChanged when the incident was saved by someone else
        since this object was read from this store (see `update_incident` for read-change-save
        with retries). An object the store never handed out overwrites the stored record.
        `entries` are appended to its journal and the `release`d targets let go of, in the same
        atomic write: a status and its journal entry are never apart."""

    def list_incidents(self, limit: int = 50, skipped: list[str] | None = None) -> list[Incident]:
        """Newest first. A record that cannot be read is skipped with a warning, and its id
        appended to `skipped` when given."""

    def release_locks(self, incident_id: str, targets: list[str] | None = None) -> None:
        """Let go of the incident's targets (all of them, or the given ones)."""

    def lock_holder(self, target: str) -> str | None: ...

    def holders(self, target: str) -> list[str]:
        """Incidents holding the target, oldest first."""

    def holders_of(self, incident_id: str, targets: list[str]) -> dict[str, list[str]]:
        """`holders` of each of an incident's targets, read together (the DynamoDB store also
        finds the incident's journal head in the same read)."""

    def append(self, incident_id: str, kind: str, data: dict[str, Any]) -> JournalEntry | None:
        """Durably append an entry (committed before this returns). None only from a store that
        holds entries back to write them together (see journal.deferred)."""

    def append_many(self, incident_id: str, entries: Entries, fence: str | None = None) -> list[JournalEntry]:
        """Durably append several (kind, data) entries in one write: all of them or none. With
        `fence`, only while the incident is claimed by that token (else ClaimLost)."""

    def entries(self, incident_id: str) -> list[JournalEntry]: ...

    def head(self, incident_id: str) -> tuple[int, str]:
        """The last journal entry's sequence and hash ((0, GENESIS) for none)."""

    def record_alert(self, key: str) -> bool:
        """Remember that `key` was alerted; True the first time only."""

    def forget_alert(self, key: str) -> None:
        """Drop a claim made by record_alert whose alert could not be sent (retried next run)."""

    def close(self) -> None: ...


class StoreWrapper:
    """A store that passes every call on to `inner`: the base of stores that change how one
    incident's journal is written (held back, fenced) and nothing else."""

    def __init__(self, inner: Store) -> None:
        self.inner = inner
        self.versions: Versions = inner.versions

    def create_incident(self, incident: Incident, join: bool = False, entries: Entries = ()) -> list[JournalEntry]:
        return self.inner.create_incident(incident, join, entries)

    def get_incident(self, incident_id: str) -> Incident:
        return self.inner.get_incident(incident_id)

    def save_incident(
        self, incident: Incident, entries: Entries = (), release: Sequence[str] = ()
    ) -> list[JournalEntry]:
        return self.inner.save_incident(incident, entries, release)

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

    def append(self, incident_id: str, kind: str, data: dict[str, Any]) -> JournalEntry | None:
        written = self.append_many(incident_id, [(kind, data)])
        return written[-1] if written else None

    def append_many(self, incident_id: str, entries: Entries, fence: str | None = None) -> list[JournalEntry]:
        return self.inner.append_many(incident_id, entries, fence)

    def entries(self, incident_id: str) -> list[JournalEntry]:
        return self.inner.entries(incident_id)

    def head(self, incident_id: str) -> tuple[int, str]:
        return self.inner.head(incident_id)

    def record_alert(self, key: str) -> bool:
        return self.inner.record_alert(key)

    def forget_alert(self, key: str) -> None:
        self.inner.forget_alert(key)

    def close(self) -> None:
        self.inner.close()
