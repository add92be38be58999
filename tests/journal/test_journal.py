"""The SQLite store: durable hash-chained entries, tamper detection, atomic target locks."""

from __future__ import annotations

import sqlite3
import stat
import threading
from datetime import UTC, datetime, timedelta

import pytest

from breakglass_aws.journal import SqliteStore, TargetLocked, verify_chain
from breakglass_aws.models import Incident, IncidentStatus, Mode, Requester, new_incident_id


def incident(target="111111111111"):
    now = datetime.now(UTC)
    return Incident(
        incident_id=new_incident_id(now),
        mode=Mode.SCP,
        status=IncidentStatus.ACTIVE,
        requester=Requester(arn="arn:aws:iam::1:user/a", account="1", user_id="A", name="a"),
        reason="r",
        targets=[target],
        created_at=now,
        expires_at=now + timedelta(hours=1),
    )


@pytest.fixture
def store(tmp_path):
    return SqliteStore(tmp_path / "state" / "bg" / "j.sqlite3")


def test_state_dir_is_private(store, tmp_path):
    assert stat.S_IMODE((tmp_path / "state" / "bg").stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "state" / "bg" / "j.sqlite3").stat().st_mode) == 0o600


def test_chain_verifies_and_survives_reopen(store, tmp_path):
    inc = incident()
    store.create_incident(inc)
    for n in range(5):
        store.append(inc.incident_id, "intent", {"n": n})
    reopened = SqliteStore(tmp_path / "state" / "bg" / "j.sqlite3")
    entries = reopened.entries(inc.incident_id)
    assert [e.seq for e in entries] == [1, 2, 3, 4, 5]
    assert verify_chain(entries) == []


@pytest.mark.parametrize(
    ("sql", "fragment"),
    [
        ("UPDATE journal SET data='{\"n\": 9}' WHERE seq=3", "entry 3 (intent): content changed"),
        ("DELETE FROM journal WHERE seq=2", "expected sequence 2"),
        ("UPDATE journal SET kind='outcome' WHERE seq=1", "content changed"),
        ("UPDATE journal SET at='2020-01-01T00:00:00Z' WHERE seq=4", "entry 4"),
    ],
)
def test_tampering_is_detected(store, tmp_path, sql, fragment):
    inc = incident()
    store.create_incident(inc)
    for n in range(5):
        store.append(inc.incident_id, "intent", {"n": n})
    db = sqlite3.connect(tmp_path / "state" / "bg" / "j.sqlite3")
    db.execute(sql)
    db.commit()
    problems = verify_chain(store.entries(inc.incident_id))
    assert any(fragment in p for p in problems), problems


def test_recomputed_hash_still_breaks_the_next_link(store, tmp_path):
    from breakglass_aws.journal.chain import entry_hash

    inc = incident()
    store.create_incident(inc)
    for n in range(3):
        store.append(inc.incident_id, "intent", {"n": n})
    e = store.entries(inc.incident_id)[1]
    forged = entry_hash(e.incident_id, e.seq, e.at, e.kind, {"n": 42}, e.prev_hash)
    db = sqlite3.connect(tmp_path / "state" / "bg" / "j.sqlite3")
    db.execute("UPDATE journal SET data='{\"n\": 42}', hash=? WHERE seq=2", (forged,))
    db.commit()
    assert verify_chain(store.entries(inc.incident_id)) == ["entry 3: link to previous entry broken"]


def test_lock_conflict_names_the_holder(store):
    first = incident()
    store.create_incident(first)
    with pytest.raises(TargetLocked, match=first.incident_id) as info:
        store.create_incident(incident())
    assert info.value.exit_code == 4
    assert len(store.list_incidents()) == 1
    store.release_locks(first.incident_id)
    store.create_incident(incident())


def test_racing_creates_lock_exactly_once(tmp_path):
    path = tmp_path / "race.sqlite3"
    SqliteStore(path)
    outcomes: list[str] = []
    barrier = threading.Barrier(8)

    def worker():
        store = SqliteStore(path)
        barrier.wait()
        try:
            store.create_incident(incident())
            outcomes.append("ok")
        except TargetLocked:
            outcomes.append("locked")

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["locked"] * 7 + ["ok"]
    assert len(SqliteStore(path).list_incidents()) == 1


def _process_worker(path, barrier, results):
    from breakglass_aws.journal import SqliteStore as Store
    from breakglass_aws.journal import TargetLocked as Locked

    barrier.wait()
    try:
        Store(path).create_incident(incident())
        results.put("ok")
    except Locked:
        results.put("locked")
    except Exception as err:
        results.put(f"error: {err}")


def test_processes_racing_on_a_fresh_store(tmp_path):
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    path = tmp_path / "fresh" / "race.sqlite3"
    barrier, results = ctx.Barrier(6), ctx.Queue()
    procs = [ctx.Process(target=_process_worker, args=(path, barrier, results)) for _ in range(6)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    outcomes = sorted(results.get(timeout=5) for _ in procs)
    assert outcomes == ["locked"] * 5 + ["ok"]


def test_an_incident_opened_across_a_second_boundary_still_verifies(org, make_runtime):
    """The expiry journaled at activation is the one stored, however long the detach took (it
    used to be recomputed in memory at activation and journaled without being saved)."""
    from breakglass_aws.incident.scp import open_scp_incident, plan_scp_detach
    from breakglass_aws.incident.verify import journal_problems
    from breakglass_aws.runtime import whoami

    start, ticks = datetime.now(UTC), iter(range(10_000))
    rt = make_runtime(clock=lambda: start + timedelta(seconds=0.4 * next(ticks)))
    policy = org.new_policy("Deny")
    org.attach(policy, org.account)
    plan = plan_scp_detach(rt, org.account, [policy])
    incident = open_scp_incident(rt, plan, whoami(rt), "outage", None, timedelta(hours=1))
    stored = rt.store.get_incident(incident.incident_id)
    assert stored.expires_at == incident.expires_at
    activated = [e for e in rt.store.entries(incident.incident_id) if e.kind == "activated"]
    assert activated[-1].data["expires_at"] == stored.public()["expires_at"]
    assert journal_problems(rt, incident.incident_id) == []
