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
    ClaimLost,
    Entries,
    IncidentChanged,
    IncidentNotFound,
    NothingToJoin,
    StoreUnavailable,
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
T = TypeVar("T")

CAUSES = {
    "SQLITE_FULL": "the disk is full",
    "SQLITE_READONLY": "the file is read-only",
    "SQLITE_IOERR": "an I/O error",
    "SQLITE_BUSY": "another process kept it locked",
    "SQLITE_LOCKED": "another process kept it locked",
    "SQLITE_CANTOPEN": "it cannot be opened",
    "SQLITE_CORRUPT": "the file is damaged",
    "SQLITE_NOTADB": "it is not a journal file",
    "SQLITE_PERM": "permission denied",
}


def _cause(err: sqlite3.Error) -> str:
    """A one-line cause: SQLite's error name in words, then its code."""
    name = str(getattr(err, "sqlite_errorname", "") or "")
    base = name.split("_", maxsplit=1)[0] + "_" + name.split("_")[1] if name.count("_") >= 2 else name
    words = CAUSES.get(name) or CAUSES.get(base) or str(err)
    return f"{words} ({name})" if name else words


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

    def _write(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """One write transaction. A failed write is reported as the store being unavailable,
        naming its cause (the rollback after it never hides it)."""
        try:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                result = work(self._db)
                self._db.execute("COMMIT")
            except BaseException:
                self._rollback()
                raise
        except sqlite3.Error as err:
            raise StoreUnavailable(str(self.path), _cause(err)) from err
        return result

    def _rollback(self) -> None:
        if self._db.in_transaction:
            try:
                self._db.execute("ROLLBACK")
            except sqlite3.Error:
                log.debug("rollback failed after an error; the original error is reported", exc_info=True)

    def _read(self, sql: str, args: tuple[Any, ...] = ()) -> list[Any]:
        try:
            return self._db.execute(sql, args).fetchall()
        except sqlite3.Error as err:
            raise StoreUnavailable(str(self.path), _cause(err)) from err

    @_locked
    def create_incident(self, incident: Incident, join: bool = False, entries: Entries = ()) -> list[JournalEntry]:
        def create(db: sqlite3.Connection) -> list[JournalEntry]:
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
            return self._chain(db, incident.incident_id, entries)

        written = self._write(create)
        self.versions.remember(incident, 1)
        return written

    @_locked
    def get_incident(self, incident_id: str) -> Incident:
        rows = self._read("SELECT body, version FROM incidents WHERE incident_id=?", (incident_id,))
        if not rows:
            raise IncidentNotFound(incident_id)
        return self._parse(incident_id, rows[0][0], rows[0][1])

    def _parse(self, incident_id: str, body: str, version: int) -> Incident:
        incident = parse_incident(incident_id, body, f"the journal at {self.path}")
        self.versions.remember(incident, version)
        return incident

    @_locked
    def save_incident(
        self, incident: Incident, entries: Entries = (), release: Sequence[str] = ()
    ) -> list[JournalEntry]:
        read_at = self.versions.of(incident)
        body = incident.model_dump_json()
        sql = "UPDATE incidents SET body=?, version=version+1 WHERE incident_id=?"
        args: tuple[str | int, ...] = (body, incident.incident_id)
        if read_at is not None:  # read from here: compare-and-set (else a copy from elsewhere: overwrite)
            sql, args = sql + " AND version=?", (*args, read_at)

        def save(db: sqlite3.Connection) -> tuple[int, list[JournalEntry]]:
            saved = db.execute(sql, args).rowcount == 1
            row = db.execute("SELECT version FROM incidents WHERE incident_id=?", (incident.incident_id,)).fetchone()
            if row is None:
                raise IncidentNotFound(incident.incident_id)
            if not saved:
                raise IncidentChanged(incident.incident_id)
            for target in release:
                db.execute("DELETE FROM holders WHERE target=? AND incident_id=?", (target, incident.incident_id))
            return int(row[0]), self._chain(db, incident.incident_id, entries)

        version, written = self._write(save)
        self.versions.remember(incident, version)
        return written

    @_locked
    def list_incidents(self, limit: int = 50, skipped: list[str] | None = None) -> list[Incident]:
        # rowid breaks ties between incidents opened within the same second: newest first
        rows = self._read(
            "SELECT incident_id, body, version FROM incidents ORDER BY created_at DESC, rowid DESC LIMIT ?", (limit,)
        )
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
        def release(db: sqlite3.Connection) -> None:
            if targets is None:
                db.execute("DELETE FROM holders WHERE incident_id=?", (incident_id,))
            for target in targets or []:
                db.execute("DELETE FROM holders WHERE target=? AND incident_id=?", (target, incident_id))

        self._write(release)

    @_locked
    def holders(self, target: str) -> list[str]:
        rows = self._read("SELECT incident_id FROM holders WHERE target=? ORDER BY seq", (target,))
        return [str(r[0]) for r in rows]

    def holders_of(self, incident_id: str, targets: list[str]) -> dict[str, list[str]]:
        return {target: self.holders(target) for target in targets}

    def lock_holder(self, target: str) -> str | None:
        found = self.holders(target)
        return found[0] if found else None

    def append(self, incident_id: str, kind: str, data: dict[str, Any]) -> JournalEntry:
        return self.append_many(incident_id, [(kind, data)])[0]

    @_locked
    def append_many(self, incident_id: str, entries: Entries, fence: str | None = None) -> list[JournalEntry]:
        def append(db: sqlite3.Connection) -> list[JournalEntry]:
            if fence is not None:
                row = db.execute(
                    "SELECT json_extract(body, '$.closing.claim.token') FROM incidents WHERE incident_id=?",
                    (incident_id,),
                ).fetchone()
                if row is None or row[0] != fence:
                    raise ClaimLost(incident_id)
            return self._chain(db, incident_id, entries)

        return self._write(append)

    def _chain(self, db: sqlite3.Connection, incident_id: str, entries: Entries) -> list[JournalEntry]:
        """Inside a write transaction: chain `entries` after the journal's last entry."""
        if not entries:
            return []
        head = self._head(db, incident_id)
        written = chain_entries(incident_id, head, isoformat(self.clock()), entries)
        db.executemany(
            "INSERT INTO journal VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                (incident_id, e.seq, e.at, e.kind, json.dumps(e.data, sort_keys=True), e.prev_hash, e.hash)
                for e in written
            ],
        )
        return written

    @staticmethod
    def _head(db: sqlite3.Connection, incident_id: str) -> tuple[int, str]:
        last = db.execute(
            "SELECT seq, hash FROM journal WHERE incident_id=? ORDER BY seq DESC LIMIT 1", (incident_id,)
        ).fetchone()
        return (int(last[0]), str(last[1])) if last else (0, GENESIS)

    @_locked
    def head(self, incident_id: str) -> tuple[int, str]:
        try:
            return self._head(self._db, incident_id)
        except sqlite3.Error as err:
            raise StoreUnavailable(str(self.path), _cause(err)) from err

    @_locked
    def entries(self, incident_id: str) -> list[JournalEntry]:
        rows = self._read(
            "SELECT seq, at, kind, data, prev_hash, hash FROM journal WHERE incident_id=? ORDER BY seq",
            (incident_id,),
        )
        return [
            JournalEntry(
                incident_id=incident_id, seq=r[0], at=r[1], kind=r[2], data=load_data(r[3]), prev_hash=r[4], hash=r[5]
            )
            for r in rows
        ]

    @_locked
    def record_alert(self, key: str) -> bool:
        def record(db: sqlite3.Connection) -> bool:
            added = db.execute("INSERT OR IGNORE INTO alerts VALUES (?, ?)", (key, isoformat(self.clock())))
            return added.rowcount == 1

        return self._write(record)

    @_locked
    def forget_alert(self, key: str) -> None:
        self._write(lambda db: db.execute("DELETE FROM alerts WHERE key = ?", (key,)))

    def close(self) -> None:
        self._db.close()
