"""The embedded store: one SQLite file under the user's state directory (created 0700)."""

from __future__ import annotations

import functools
import json
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from breakglass_aws.clock import Clock, isoformat, utcnow
from breakglass_aws.errors import ConfigError
from breakglass_aws.journal.base import (
    IncidentChanged,
    IncidentNotFound,
    NothingToJoin,
    TargetLocked,
    UnreadableIncident,
    Versions,
    log,
    parse_incident,
)
from breakglass_aws.journal.chain import GENESIS, chain_entries, load_data
from breakglass_aws.models import Incident, JournalEntry

__all__ = ["SqliteStore"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS incidents (
    incident_id TEXT PRIMARY KEY,
    created_at TEXT NOT NULL,
    body TEXT NOT NULL,
    version INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS journal (
    incident_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    at TEXT NOT NULL,
    kind TEXT NOT NULL,
    data TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL,
    PRIMARY KEY (incident_id, seq)
);
CREATE TABLE IF NOT EXISTS alerts (
    key TEXT PRIMARY KEY,
    at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS holders (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    target TEXT NOT NULL,
    incident_id TEXT NOT NULL,
    UNIQUE (target, incident_id)
);
"""


OPEN_ATTEMPTS = 40


def _connect(path: Path) -> sqlite3.Connection:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
    os.close(fd)
    db = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
    try:
        db.execute("PRAGMA busy_timeout=30000")
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        db.executescript(SCHEMA)
        columns = {row[1] for row in db.execute("PRAGMA table_info(incidents)")}
        if "version" not in columns:  # a file written before saves were version-checked
            db.execute("ALTER TABLE incidents ADD COLUMN version INTEGER NOT NULL DEFAULT 0")
    except BaseException:
        db.close()
        raise
    return db


F = TypeVar("F", bound=Callable[..., Any])


def _locked(method: F) -> F:
    """One connection, many threads (restore --expired): one statement sequence at a time."""

    @functools.wraps(method)
    def wrapper(self: SqliteStore, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            return method(self, *args, **kwargs)

    return wrapper  # type: ignore[return-value]


class SqliteStore:
    def __init__(self, path: Path, clock: Clock = utcnow) -> None:
        self.path = path
        self.clock = clock
        self._lock = threading.RLock()
        self.versions = Versions()
        self._db = self._open(path)

    @staticmethod
    def _open(path: Path) -> sqlite3.Connection:
        """Open (creating 0700/0600 if needed). Several processes may create it at once: the
        schema set-up is retried briefly while another one holds the lock."""
        for attempt in range(OPEN_ATTEMPTS):
            try:
                return _connect(path)
            except sqlite3.OperationalError as err:
                if "locked" not in str(err) or attempt == OPEN_ATTEMPTS - 1:
                    raise ConfigError(f"cannot open the journal at {path}: {err}", "check the store setting") from err
                time.sleep(0.05 * (attempt + 1))
            except (OSError, sqlite3.Error) as err:
                raise ConfigError(
                    f"cannot open the journal at {path}: {err}", "check the store setting and permissions"
                ) from err
        raise AssertionError("unreachable")

    def _tx(self) -> sqlite3.Connection:
        self._db.execute("BEGIN IMMEDIATE")
        return self._db

    @_locked
    def create_incident(self, incident: Incident, join: bool = False) -> None:
        db = self._tx()
        try:
            for target in incident.lock_targets():
                row = db.execute("SELECT incident_id FROM holders WHERE target=? ORDER BY seq LIMIT 1", (target,))
                holder = row.fetchone()
                if holder and not join:
                    raise TargetLocked(target, holder[0])
                if not holder and join:
                    raise NothingToJoin(target)
                db.execute("INSERT INTO holders (target, incident_id) VALUES (?, ?)", (target, incident.incident_id))
            db.execute(
                "INSERT INTO incidents (incident_id, created_at, body, version) VALUES (?, ?, ?, 1)",
                (incident.incident_id, isoformat(incident.created_at), incident.model_dump_json()),
            )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        self.versions.remember(incident, 1)

    @_locked
    def get_incident(self, incident_id: str) -> Incident:
        row = self._db.execute("SELECT body, version FROM incidents WHERE incident_id=?", (incident_id,)).fetchone()
        if row is None:
            raise IncidentNotFound(incident_id)
        return self._parse(incident_id, row[0], row[1])

    def _parse(self, incident_id: str, body: str, version: int) -> Incident:
        incident = parse_incident(incident_id, body, f"the journal at {self.path}")
        self.versions.remember(incident, version)
        return incident

    @_locked
    def save_incident(self, incident: Incident) -> None:
        read_at = self.versions.of(incident)
        body = incident.model_dump_json()
        sql = "UPDATE incidents SET body=?, version=version+1 WHERE incident_id=?"
        args: tuple[str | int, ...] = (body, incident.incident_id)
        if read_at is not None:  # read from here: compare-and-set (else a copy from elsewhere: overwrite)
            sql, args = sql + " AND version=?", (*args, read_at)
        db = self._tx()
        try:
            saved = db.execute(sql, args).rowcount == 1
            row = db.execute("SELECT version FROM incidents WHERE incident_id=?", (incident.incident_id,)).fetchone()
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        if row is None:
            raise IncidentNotFound(incident.incident_id)
        if not saved:
            raise IncidentChanged(incident.incident_id)
        self.versions.remember(incident, int(row[0]))

    @_locked
    def list_incidents(self, limit: int = 50, skipped: list[str] | None = None) -> list[Incident]:
        # rowid breaks ties between incidents opened within the same second: newest first
        rows = self._db.execute(
            "SELECT incident_id, body, version FROM incidents ORDER BY created_at DESC, rowid DESC LIMIT ?", (limit,)
        ).fetchall()
        found: list[Incident] = []
        for incident_id, body, version in rows:
            try:
                found.append(self._parse(incident_id, body, version))
            except UnreadableIncident as err:
                log.warning("skipped: %s", err.message)
                if skipped is not None:
                    skipped.append(incident_id)
        return found

    @_locked
    def release_locks(self, incident_id: str, targets: list[str] | None = None) -> None:
        self._db.execute("DELETE FROM holders WHERE incident_id=?", (incident_id,))

    @_locked
    def holders(self, target: str) -> list[str]:
        rows = self._db.execute("SELECT incident_id FROM holders WHERE target=? ORDER BY seq", (target,))
        return [str(r[0]) for r in rows.fetchall()]

    def holders_of(self, incident_id: str, targets: list[str]) -> dict[str, list[str]]:
        return {target: self.holders(target) for target in targets}

    def lock_holder(self, target: str) -> str | None:
        found = self.holders(target)
        return found[0] if found else None

    def append(self, incident_id: str, kind: str, data: dict[str, Any]) -> JournalEntry:
        return self.append_many(incident_id, [(kind, data)])[0]

    @_locked
    def append_many(self, incident_id: str, entries: Sequence[tuple[str, dict[str, Any]]]) -> list[JournalEntry]:
        db = self._tx()
        try:
            last = db.execute(
                "SELECT seq, hash FROM journal WHERE incident_id=? ORDER BY seq DESC LIMIT 1", (incident_id,)
            ).fetchone()
            head = (last[0], last[1]) if last else (0, GENESIS)
            written = chain_entries(incident_id, head, isoformat(self.clock()), entries)
            db.executemany(
                "INSERT INTO journal VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    (incident_id, e.seq, e.at, e.kind, json.dumps(e.data, sort_keys=True), e.prev_hash, e.hash)
                    for e in written
                ],
            )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return written

    @_locked
    def entries(self, incident_id: str) -> list[JournalEntry]:
        rows = self._db.execute(
            "SELECT seq, at, kind, data, prev_hash, hash FROM journal WHERE incident_id=? ORDER BY seq",
            (incident_id,),
        ).fetchall()
        return [
            JournalEntry(
                incident_id=incident_id, seq=r[0], at=r[1], kind=r[2], data=load_data(r[3]), prev_hash=r[4], hash=r[5]
            )
            for r in rows
        ]

    @_locked
    def record_alert(self, key: str) -> bool:
        cursor = self._db.execute("INSERT OR IGNORE INTO alerts VALUES (?, ?)", (key, isoformat(self.clock())))
        return cursor.rowcount == 1

    @_locked
    def forget_alert(self, key: str) -> None:
        self._db.execute("DELETE FROM alerts WHERE key = ?", (key,))

    def close(self) -> None:
        self._db.close()
