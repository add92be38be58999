"""The journal itself failing mid-apply (a full disk, a read-only file, the shared table answering
500): one line naming the cause and the incident, exit 8 once something was changed (5 or 7 when
nothing was), no traceback; after the cause is gone, `scp restore ID` finishes exactly."""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest

from breakglass_aws.journal import SqliteStore
from tests.support.cli import one_line, show
from tests.support.faults import dynamodb_fails
from tests.support.store import TABLE, make_table

pytestmark = pytest.mark.reliability

CAUSES = {
    "SQLITE_FULL": ("database or disk is full", "the disk is full"),
    "SQLITE_READONLY": ("attempt to write a readonly database", "the file is read-only"),
    "SQLITE_IOERR": ("disk I/O error", "an I/O error"),
}


class Disk:
    """SQLite's write transactions fail with `cause` while `failing` (as the engine reports a full
    disk, a read-only file, an I/O error)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, cause: str = "SQLITE_FULL") -> None:
        self.failing = False
        self.cause = cause
        original = SqliteStore._write
        disk = self

        def write(store: SqliteStore, work: Any) -> Any:
            def maybe_fail(db: sqlite3.Connection) -> Any:
                if disk.failing:
                    err = sqlite3.OperationalError(CAUSES[disk.cause][0])
                    err.sqlite_errorname = disk.cause  # type: ignore[attr-defined]
                    raise err
                return work(db)

            return original(store, maybe_fail)

        monkeypatch.setattr(SqliteStore, "_write", write)

    def fails_after(self, operation: str) -> tuple[str, Any]:
        """After `operation` was applied in AWS, every journal write fails."""

        def hook(model: Any = None, **_: Any) -> None:
            if model.name == operation:
                self.failing = True

        return "after-call", hook


def blocked(org) -> dict[str, set[str]]:
    for n in range(2):
        org.attach(org.new_policy(f"Deny{n}"), org.account)
    return org.snapshot()


def detach_args(org) -> list[str]:
    return ["scp", "detach", "--target", org.account, "--reason", "x", "--yes"]


@pytest.mark.parametrize("cause", list(CAUSES))
def test_the_journal_failing_after_the_first_change_of_a_detach(org, cli, monkeypatch, cause):
    before = blocked(org)
    disk = Disk(monkeypatch, cause)
    run = cli(*detach_args(org), hooks=[disk.fails_after("DetachPolicy")])
    assert run.exit_code == 8, run.stderr
    line = one_line(run.stderr)
    disk.failing = False  # space freed, permissions fixed
    (listed,) = cli("list", "--output", "json").json()
    incident_id = listed["incident_id"]
    assert incident_id in line and CAUSES[cause][1] in line and f"breakglass scp restore {incident_id}" in line
    # the detaches were in flight together when the journal failed: they were made, unrecorded
    assert org.scps(org.account) == {"p-FullAWSAccess"}
    restored = cli("scp", "restore", incident_id)
    assert restored.exit_code == 0, restored.stderr
    assert org.snapshot() == before
    assert cli("journal", "verify", incident_id).exit_code == 0


def test_a_full_disk_before_anything_changes_nothing(org, cli, monkeypatch):
    before = blocked(org)
    disk = Disk(monkeypatch)
    disk.failing = True
    run = cli(*detach_args(org))
    assert run.exit_code == 5 and "the disk is full" in one_line(run.stderr)
    disk.failing = False
    assert cli("list", "--output", "json").json() == [] and org.snapshot() == before


def test_a_full_disk_in_the_middle_of_a_restore(org, cli, monkeypatch):
    before = blocked(org)
    opened = cli(*detach_args(org), "--output", "json")
    incident_id = opened.json()["incident_id"]
    disk = Disk(monkeypatch)
    run = cli("scp", "restore", incident_id, hooks=[disk.fails_after("AttachPolicy")])
    assert run.exit_code == 8 and incident_id in one_line(run.stderr) and "the disk is full" in run.stderr
    disk.failing = False
    assert cli("scp", "restore", incident_id).exit_code == 0
    assert org.snapshot() == before and show(cli, incident_id)["status"] == "closed"
    assert cli("journal", "verify", incident_id).exit_code == 0


def test_the_shared_table_failing_after_the_first_change_of_a_detach(org, cli, monkeypatch):
    make_table()
    monkeypatch.setenv("BREAKGLASS_STORE", f"dynamodb://{TABLE}")
    before = blocked(org)
    changed = []

    def after_attach(model: Any = None, **_: Any) -> None:
        if model.name == "DetachPolicy":
            changed.append(model.name)

    def writes(model: Any, _params: Any) -> bool:
        return bool(changed) and model.name in ("PutItem", "TransactWriteItems", "UpdateItem", "DeleteItem")

    run = cli(*detach_args(org), hooks=[("after-call", after_attach), *dynamodb_fails(writes)])
    assert run.exit_code == 8, run.stderr
    line = one_line(run.stderr)
    (listed,) = cli("list", "--output", "json").json()
    incident_id = listed["incident_id"]
    assert incident_id in line and "DynamoDB" in line and f"breakglass scp restore {incident_id}" in line
    assert cli("scp", "restore", incident_id).exit_code == 0
    assert org.snapshot() == before
    assert cli("journal", "verify", incident_id).exit_code == 0
