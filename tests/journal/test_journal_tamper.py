"""`breakglass journal verify` on a real incident whose SQLite file was edited by hand: a reopened
record, an extended expiry, a cut-off tail and an unreadable entry are each reported (exit 4)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.scp import seeded

Edit = Callable[[sqlite3.Connection, str], None]


def _body(db: sqlite3.Connection, incident_id: str, **changes: str) -> None:
    body = json.loads(db.execute("SELECT body FROM incidents WHERE incident_id=?", (incident_id,)).fetchone()[0])
    body.update(changes)
    db.execute("UPDATE incidents SET body=? WHERE incident_id=?", (json.dumps(body), incident_id))


def _cut_tail(db: sqlite3.Connection, incident_id: str) -> None:
    first_restore = db.execute(
        "SELECT MIN(seq) FROM journal WHERE incident_id=? AND kind='status:closing'", (incident_id,)
    ).fetchone()[0]
    db.execute("DELETE FROM journal WHERE incident_id=? AND seq>=?", (incident_id, first_restore))


def _garble(db: sqlite3.Connection, incident_id: str) -> None:
    db.execute("UPDATE journal SET data='{not json' WHERE incident_id=? AND seq=2", (incident_id,))


EDITS: list[tuple[str, Edit, str]] = [
    ("reopened", lambda db, i: _body(db, i, status="active", closed_at=None), "the journal ends the incident closed"),
    ("expiry extended", lambda db, i: _body(db, i, expires_at="2030-01-01T00:00:00Z"), "expiry differs"),
    ("tail cut off", _cut_tail, "never recorded the close"),
    ("unreadable entry", _garble, "entry 2 (intent): its data is not readable JSON"),
]


@pytest.mark.parametrize(("name", "edit", "fragment"), EDITS, ids=[e[0] for e in EDITS])
def test_verify_reports_hand_edits(org, cli, tmp_path: Path, name: str, edit: Edit, fragment: str) -> None:
    seeded(org)
    opened = cli("scp", "detach", "--target", org.account, "--reason", "x", "--yes", "--output", "json").json()
    incident_id = opened["incident_id"]
    assert cli("scp", "restore", incident_id).exit_code == 0
    assert cli("journal", "verify", incident_id).exit_code == 0
    db = sqlite3.connect(tmp_path / "state" / "breakglass" / "journal.sqlite3")
    edit(db, incident_id)
    db.commit()
    db.close()
    run = cli("journal", "verify", incident_id)
    assert run.exit_code == 4, run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: journal of") and fragment in lines[0], lines
    data = cli("journal", "verify", incident_id, "--output", "json")
    assert data.exit_code == 4 and any(fragment in p for p in data.json()["problems"])
