"""Closed is the last word: an incident is closed only when everything it owes is done, whichever
path finishes it (close, scp restore, restore --expired, the scheduled function), and a rerun on a
closed incident repairs what a crash (or an earlier version) left behind."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest

from breakglass_aws.aws import ClientFactory
from breakglass_aws.incident.close import close_incident
from breakglass_aws.incident.sweep import sweep
from breakglass_aws.journal import SqliteStore
from breakglass_aws.journal.dynamodb import DynamoStore
from breakglass_aws.models import IncidentStatus
from breakglass_aws.runtime import Runtime, whoami
from tests.conftest import _shared_botocore
from tests.support.cli import one_line, show
from tests.support.crash import Crash
from tests.support.faults import answer, dynamodb_fails
from tests.support.role import assume, revoke_policy
from tests.support.rotation import USER, keys, make_user, secret
from tests.support.scp import scp_incident
from tests.support.store import TABLE, make_table

pytestmark = pytest.mark.reliability


def crash_at(operation: str) -> tuple[str, Any]:
    def hook(model: Any = None, **_: Any) -> None:
        if model.name == operation:
            raise Crash(operation)

    return "before-call", hook


def refuse(operation: str, code: str = "AccessDenied", status: int = 403) -> tuple[str, Any]:
    def hook(model: Any = None, **_: Any) -> Any:
        return answer(code, status) if model.name == operation else None

    return "before-call", hook


def detach(cli, org, *extra: str) -> str:
    run = cli("scp", "detach", "--target", org.account, "--reason", "x", "--yes", "--output", "json", *extra)
    assert run.exit_code == 0, run.stderr
    return run.json()["incident_id"]


def holders(store_kind: str, target: str, tmp_path: Path) -> list[str]:
    if store_kind == "dynamodb":
        return DynamoStore(ClientFactory(botocore_session=_shared_botocore()), TABLE).holders(target)
    return SqliteStore(tmp_path / "state" / "breakglass" / "journal.sqlite3").holders(target)


# --- 1. the target's lock goes with the close, never after it -----------------------------------


def releases_a_guard(model: Any, params: Any) -> bool:
    """A DynamoDB write that lets go of a target (a guard's holder removed, or the guard deleted)."""
    if model.name in ("DeleteItem", "UpdateItem"):
        return str(params.get("Key", {}).get("pk", {}).get("S", "")).startswith("LOCK#")
    if model.name == "TransactWriteItems":
        updates = [i["Update"] for i in params.get("TransactItems", []) if "Update" in i]
        return any(u["Key"]["pk"]["S"].startswith("LOCK#") and "REMOVE" in u["UpdateExpression"] for u in updates)
    return False


def test_a_failed_release_never_leaves_a_closed_incident_holding_its_target(org, cli, monkeypatch, tmp_path):
    make_table()
    monkeypatch.setenv("BREAKGLASS_STORE", f"dynamodb://{TABLE}")
    org.attach(org.new_policy("Deny"), org.account)
    before = org.snapshot()
    incident_id = detach(cli, org)

    failed = cli("scp", "restore", incident_id, hooks=dynamodb_fails(releases_a_guard))
    assert failed.exit_code in (7, 8) and incident_id in one_line(failed.stderr)
    assert show(cli, incident_id)["status"] != "closed", "closed only with the target let go of"
    assert holders("dynamodb", org.account, tmp_path) == [incident_id]
    rerun = cli("scp", "restore", incident_id)
    assert rerun.exit_code == 0, rerun.stderr
    assert show(cli, incident_id)["status"] == "closed"
    assert holders("dynamodb", org.account, tmp_path) == []
    assert org.snapshot() == before
    fresh = detach(cli, org)  # the next emergency on that target is not refused
    assert cli("scp", "restore", fresh).exit_code == 0 and org.snapshot() == before
    for done in (incident_id, fresh):
        assert cli("journal", "verify", done).exit_code == 0


def hold_again(store_kind: str, incident_id: str, target: str, tmp_path: Path) -> None:
    """What an earlier version left after a crash between `closed` and the release."""
    if store_kind == "dynamodb":
        boto3.client("dynamodb", region_name="us-east-1").put_item(
            TableName=TABLE,
            Item={"pk": {"S": f"LOCK#{target}"}, "sk": {"S": "GUARD"}, "holders": {"M": {incident_id: {"N": "1"}}}},
        )
        return
    db = sqlite3.connect(tmp_path / "state" / "breakglass" / "journal.sqlite3")
    db.execute("INSERT INTO holders (target, incident_id) VALUES (?, ?)", (target, incident_id))
    db.commit()
    db.close()


def test_a_closed_holder_is_neither_joined_nor_in_the_way(store_env, org, cli, tmp_path):
    org.attach(org.new_policy("Deny"), org.account)
    before = org.snapshot()
    closed = detach(cli, org)
    assert cli("scp", "restore", closed).exit_code == 0
    hold_again(store_env, closed, org.account, tmp_path)
    joined = cli("scp", "detach", "--target", org.account, "--reason", "y", "--yes", "--join")
    assert joined.exit_code == 2 and "no open incident holds" in one_line(joined.stderr)
    assert org.snapshot() == before, "a join of a closed holder changes nothing"
    fresh = detach(cli, org)
    assert holders(store_env, org.account, tmp_path) == [fresh]
    assert "repaired" in {e["kind"] for e in show(cli, closed)["journal"]}
    assert cli("scp", "restore", fresh).exit_code == 0 and org.snapshot() == before
    for done in (closed, fresh):
        assert cli("journal", "verify", done).exit_code == 0


def test_a_rerun_on_a_closed_incident_lets_go_of_its_target(store_env, org, cli, tmp_path):
    org.attach(org.new_policy("Deny"), org.account)
    closed = detach(cli, org)
    assert cli("scp", "restore", closed).exit_code == 0
    hold_again(store_env, closed, org.account, tmp_path)
    rerun = cli("scp", "restore", closed)
    assert rerun.exit_code == 0 and f"released {org.account}" in rerun.stdout, rerun.stdout
    assert holders(store_env, org.account, tmp_path) == []
    again = cli("close", closed, "--yes")
    assert again.exit_code == 0 and "already closed: nothing to do" in again.stdout


# --- 2. a close never ends without the rotation it planned --------------------------------------


def test_a_stopped_close_rerun_without_user_rotates_it(store_env, org, aws_clients, cli):
    iam, sm = aws_clients
    old = make_user(iam, sm, keys=1, login=True)
    incident_id, before = scp_incident(org, cli)
    stopped = cli("close", incident_id, "--yes", "--user", USER, hooks=[refuse("CreateAccessKey")])
    assert stopped.exit_code == 8 and "rotate:breakglass-1" in one_line(stopped.stderr)
    assert show(cli, incident_id)["status"] == "needs-attention"
    assert org.snapshot() == before, "the restore was done before the rotation stopped"
    hint = "breakglass close " + incident_id
    assert hint in stopped.stderr
    rerun = cli("close", incident_id, "--yes")  # exactly the hint: no --user, no rotate_users set
    assert rerun.exit_code == 0, rerun.stderr
    stored = secret(sm)
    assert keys(iam) == {stored["access_key_id"]: "Active"} and stored["access_key_id"] not in old
    assert show(cli, incident_id)["status"] == "closed"
    assert cli("journal", "verify", incident_id).exit_code == 0


def expired_sweep(cli) -> Any:
    later = datetime.now(UTC) + timedelta(days=2)
    return cli("restore", "--expired", clock=lambda: later)


class Swept:
    def __init__(self, summary: dict[str, Any]) -> None:
        self.exit_code = 1 if summary["failed"] or summary["pending"] else 0
        self.stderr = json.dumps(summary)


def lambda_sweep(cli) -> Swept:
    from breakglass_aws.lambda_handler import handler

    return Swept(handler({}, None))


FINISHERS = {
    "scp restore": lambda cli, incident_id: cli("scp", "restore", incident_id),
    "restore --expired": lambda cli, incident_id: expired_sweep(cli),
    "the scheduled function": lambda cli, incident_id: lambda_sweep(cli),
    "close": lambda cli, incident_id: cli("close", incident_id, "--yes"),
}


@pytest.mark.parametrize("finisher", list(FINISHERS))
def test_a_close_cut_off_mid_rotation_is_finished_by_every_path(org, aws_clients, cli, finisher):
    iam, sm = aws_clients
    make_user(iam, sm, keys=1, login=True)
    incident_id, before = scp_incident(org, cli)
    with pytest.raises(Crash):  # the new key exists, its secret is not stored yet
        cli("close", incident_id, "--yes", "--user", USER, hooks=[crash_at("PutSecretValue")])
    assert show(cli, incident_id)["status"] == "closing"
    assert len(keys(iam)) == 2
    done = FINISHERS[finisher](cli, incident_id)
    assert done.exit_code == 0, done.stderr
    stored = secret(sm)
    assert keys(iam) == {stored["access_key_id"]: "Active"}, "one active key, the one in the secret"
    assert show(cli, incident_id)["status"] == "closed"
    assert org.snapshot() == before
    assert cli("journal", "verify", incident_id).exit_code == 0


def test_skip_rotation_cannot_drop_a_planned_rotation(org, aws_clients, cli):
    iam, sm = aws_clients
    make_user(iam, sm, keys=1)
    incident_id, _ = scp_incident(org, cli)
    assert cli("close", incident_id, "--yes", "--user", USER, hooks=[refuse("CreateAccessKey")]).exit_code == 8
    entries = len(show(cli, incident_id)["journal"])
    refused = cli("close", incident_id, "--yes", "--skip-rotation")
    assert refused.exit_code == 2 and "planned rotation" in one_line(refused.stderr)
    assert len(show(cli, incident_id)["journal"]) == entries and show(cli, incident_id)["status"] == "needs-attention"


class Creates:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self, model: Any = None, **_: Any) -> None:
        if model.name == "CreateAccessKey":
            self.count += 1


def runtime(tmp_path: Path, hooks: list[Any], clock: Any = None) -> Runtime:
    factory = ClientFactory(botocore_session=_shared_botocore(), max_attempts=2, hooks=hooks)
    store = SqliteStore(tmp_path / "state" / "breakglass" / "journal.sqlite3")
    rt = Runtime(factory=factory, store=store, **({"clock": clock} if clock else {}))
    rt.sleep = lambda _seconds: time.sleep(0.05)
    return rt


def pause_at(operation: str, reached: threading.Event, go: threading.Event) -> tuple[str, Any]:
    def hook(model: Any = None, **_: Any) -> None:
        if model.name == operation and not reached.is_set():
            reached.set()
            assert go.wait(30), "the other side never let this one go on"

    return "before-call", hook


def wait_until(check: Any, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def expired_incident(org, cli) -> tuple[str, Any]:
    for n in range(2):
        org.attach(org.new_policy(f"Deny{n}"), org.account)
    before = org.snapshot()
    past = datetime.now(UTC) - timedelta(hours=2)
    run = cli(
        "scp",
        "detach",
        "--target",
        org.account,
        "--reason",
        "x",
        "--yes",
        "--ttl",
        "1h",
        "--output",
        "json",
        clock=lambda: past,
    )
    assert run.exit_code == 0, run.stderr
    return run.json()["incident_id"], before


def test_the_sweep_first_then_a_close_asking_a_rotation_one_close_one_rotation(org, aws_clients, cli, tmp_path):
    iam, sm = aws_clients
    make_user(iam, sm, keys=1, login=True)
    incident_id, before = expired_incident(org, cli)
    creates, reached, go = Creates(), threading.Event(), threading.Event()
    swept: list[Any] = []
    sweeper = runtime(tmp_path, [pause_at("AttachPolicy", reached, go), ("before-call", creates)])
    thread = threading.Thread(target=lambda: swept.append(sweep(sweeper, workers=1)))
    thread.start()
    assert reached.wait(30)  # the sweep holds the close, mid-restore
    engineer = runtime(tmp_path, [("before-call", creates)])
    closed: list[Any] = []
    other = threading.Thread(
        target=lambda: closed.append(close_incident(engineer, incident_id, whoami(engineer), [USER]))
    )
    other.start()
    store = SqliteStore(tmp_path / "state" / "breakglass" / "journal.sqlite3")
    wait_until(lambda: USER in (store.get_incident(incident_id).closing.users or []))  # added to the sweep's plan
    go.set()
    thread.join(60)
    other.join(60)
    assert closed and closed[0].status is IncidentStatus.CLOSED
    assert store.get_incident(incident_id).status is IncidentStatus.CLOSED
    assert creates.count == 1, "one rotation"
    stored = secret(sm)
    assert keys(iam) == {stored["access_key_id"]: "Active"}
    assert org.snapshot() == before
    kinds = [e.kind for e in store.entries(incident_id)]
    assert kinds.count("status:closed") == 1 and kinds.count("status:closing") == 1, kinds


def test_a_close_first_then_the_sweep_leaves_it_to_the_close(org, aws_clients, cli, tmp_path):
    iam, sm = aws_clients
    make_user(iam, sm, keys=1, login=True)
    incident_id, before = expired_incident(org, cli)
    creates, reached, go = Creates(), threading.Event(), threading.Event()
    engineer = runtime(tmp_path, [pause_at("AttachPolicy", reached, go), ("before-call", creates)])
    closed: list[Any] = []
    thread = threading.Thread(
        target=lambda: closed.append(close_incident(engineer, incident_id, whoami(engineer), [USER]))
    )
    thread.start()
    assert reached.wait(30)
    result = sweep(runtime(tmp_path, [("before-call", creates)]), workers=1)
    (busy,) = result.restored
    assert busy.noop and any("being closed by" in a for a in busy.also), busy
    go.set()
    thread.join(60)
    assert closed[0].status is IncidentStatus.CLOSED and creates.count == 1
    stored = secret(sm)
    assert keys(iam) == {stored["access_key_id"]: "Active"} and org.snapshot() == before


# --- 3. a role close cut off during the revocation is finished by the sweep ---------------------


def test_a_role_close_cut_off_at_the_revocation_is_finished_by_the_sweep(iam, cli):
    opened = assume(cli, "--format", "json").json()
    with pytest.raises(Crash):
        cli("close", opened["incident_id"], "--yes", hooks=[crash_at("PutRolePolicy")])
    assert show(cli, opened["incident_id"])["status"] == "closing"
    swept = cli("restore", "--expired")
    assert swept.exit_code == 0, swept.stderr
    assert "aws:TokenIssueTime" in json.dumps(revoke_policy(iam))
    assert show(cli, opened["incident_id"])["status"] == "closed"
    assert cli("journal", "verify", opened["incident_id"]).exit_code == 0


# --- 4. no crash reads as tampering --------------------------------------------------------------


def writes_the_first_entry(model: Any, params: Any) -> bool:
    def first(item: dict[str, Any]) -> bool:
        return item.get("sk", {}).get("S") == "J#00000001"

    if model.name == "PutItem":
        return first(params.get("Item", {}))
    if model.name == "TransactWriteItems":
        return any(first(i.get("Put", {}).get("Item", {})) for i in params.get("TransactItems", []))
    return False


def test_a_failed_first_write_stores_nothing_half(org, cli, monkeypatch):
    make_table()
    monkeypatch.setenv("BREAKGLASS_STORE", f"dynamodb://{TABLE}")
    org.attach(org.new_policy("Deny"), org.account)
    before = org.snapshot()

    hooks = dynamodb_fails(writes_the_first_entry)
    failed = cli("scp", "detach", "--target", org.account, "--reason", "x", "--yes", hooks=hooks)
    assert failed.exit_code == 7, failed.stderr
    one_line(failed.stderr)
    assert cli("list", "--output", "json").json() == [], "no record without its opening"
    assert org.snapshot() == before
    incident_id = detach(cli, org)
    assert cli("journal", "verify", incident_id).exit_code == 0


def legacy_closed(tmp_path: Path, incident_id: str, drop_last: int) -> None:
    """An incident closed by an earlier version: no close plan on the record; its last entries lost."""
    db = sqlite3.connect(tmp_path / "state" / "breakglass" / "journal.sqlite3")
    body = json.loads(db.execute("SELECT body FROM incidents WHERE incident_id=?", (incident_id,)).fetchone()[0])
    body["closing"] = None
    db.execute("UPDATE incidents SET body=? WHERE incident_id=?", (json.dumps(body), incident_id))
    last = db.execute("SELECT MAX(seq) FROM journal WHERE incident_id=?", (incident_id,)).fetchone()[0]
    db.execute("DELETE FROM journal WHERE incident_id=? AND seq>?", (incident_id, last - drop_last))
    db.commit()
    db.close()


def test_an_earlier_version_s_interrupted_close_is_told_from_tampering_and_repaired(org, cli, tmp_path):
    org.attach(org.new_policy("Deny"), org.account)
    incident_id = detach(cli, org)
    assert cli("scp", "restore", incident_id).exit_code == 0
    legacy_closed(tmp_path, incident_id, drop_last=1)  # the status:closed entry never written
    verified = cli("journal", "verify", incident_id)
    assert verified.exit_code == 8 and "interrupted write, not tampering" in one_line(verified.stderr)
    repaired = cli("close", incident_id, "--yes")
    assert repaired.exit_code == 0 and "repaired: journaled the close" in repaired.stdout, repaired.stdout
    assert cli("journal", "verify", incident_id).exit_code == 0


def test_a_record_closed_without_its_entry_today_is_tampering(org, cli, tmp_path):
    org.attach(org.new_policy("Deny"), org.account)
    incident_id = detach(cli, org)
    assert cli("scp", "restore", incident_id).exit_code == 0
    db = sqlite3.connect(tmp_path / "state" / "breakglass" / "journal.sqlite3")
    last = db.execute("SELECT MAX(seq) FROM journal WHERE incident_id=?", (incident_id,)).fetchone()[0]
    db.execute("DELETE FROM journal WHERE incident_id=? AND seq=?", (incident_id, last))
    db.commit()
    db.close()
    verified = cli("journal", "verify", incident_id)
    assert verified.exit_code == 4 and "never recorded the close" in one_line(verified.stderr)
    rerun = cli("close", incident_id, "--yes")
    assert "journaled the close" not in rerun.stdout, "a rerun never papers over tampering"
    assert cli("journal", "verify", incident_id).exit_code == 4


def test_an_earlier_version_s_close_without_its_rotation_is_finished(org, aws_clients, cli, tmp_path):
    iam, sm = aws_clients
    make_user(iam, sm, keys=1, login=True)
    incident_id, _ = scp_incident(org, cli)
    assert cli("scp", "restore", incident_id).exit_code == 0
    legacy_closed(tmp_path, incident_id, drop_last=0)
    store = SqliteStore(tmp_path / "state" / "breakglass" / "journal.sqlite3")
    store.append(incident_id, "close-plan", {"users": [USER]})  # what the earlier close planned
    repaired = cli("close", incident_id, "--yes")
    assert repaired.exit_code == 0 and f"repaired: rotated {USER}" in repaired.stdout, repaired.stdout
    stored = secret(sm)
    assert keys(iam) == {stored["access_key_id"]: "Active"}
    again = cli("close", incident_id, "--yes")
    assert "already closed: nothing to do" in again.stdout, "rotated once"
