"""One contract, two stores: the embedded SQLite file and the shared DynamoDB table (on moto)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import boto3
import pytest

from breakglass_aws.aws import ClientFactory
from breakglass_aws.journal import NothingToJoin, SqliteStore, TargetLocked, open_store, verify_chain
from breakglass_aws.journal.base import IncidentChanged, UnreadableIncident, update_incident
from breakglass_aws.journal.dynamodb import DynamoStore
from breakglass_aws.models import (
    FULL_AWS_ACCESS,
    Approval,
    Incident,
    IncidentStatus,
    Mode,
    Requester,
    new_incident_id,
)
from tests.conftest import _shared_botocore
from tests.support.store import TABLE, atomic_dynamodb, make_table  # noqa: F401 - the autouse fixture


@pytest.fixture(params=["sqlite", "dynamodb"])
def backend(request, aws, tmp_path):
    if request.param == "dynamodb":
        make_table()
        return lambda: DynamoStore(ClientFactory(botocore_session=_shared_botocore()), TABLE)
    path = tmp_path / "store.sqlite3"
    return lambda: SqliteStore(path)


def incident(target="111111111111", mode=Mode.SCP, offset=0):
    now = datetime.now(UTC) + timedelta(seconds=offset)
    return Incident(
        incident_id=new_incident_id(now),
        mode=mode,
        status=IncidentStatus.ACTIVE,
        requester=Requester(arn="arn:aws:iam::1:user/a", account="1", user_id="A", name="a"),
        reason="r",
        targets=[target],
        created_at=now,
        expires_at=now + timedelta(hours=1),
    )


def test_create_get_save_list(backend):
    store = backend()
    first, second = incident("111111111111", offset=0), incident("222222222222", offset=5)
    store.create_incident(first)
    store.create_incident(second)
    assert store.get_incident(first.incident_id) == first
    first.status = IncidentStatus.CLOSED
    store.save_incident(first)
    assert backend().get_incident(first.incident_id).status is IncidentStatus.CLOSED
    assert [i.incident_id for i in store.list_incidents()] == [second.incident_id, first.incident_id]
    assert [i.incident_id for i in store.list_incidents(limit=1)] == [second.incident_id]


def test_lock_conflict_join_release(backend):
    store = backend()
    first = incident()
    store.create_incident(first)
    with pytest.raises(TargetLocked, match=first.incident_id):
        store.create_incident(incident())
    joiner = incident(offset=1)
    store.create_incident(joiner, join=True)
    assert store.holders("111111111111") == [first.incident_id, joiner.incident_id]
    store.release_locks(first.incident_id)
    assert store.holders("111111111111") == [joiner.incident_id]
    store.release_locks(joiner.incident_id)
    store.release_locks(joiner.incident_id)
    assert store.holders("111111111111") == [] and store.lock_holder("111111111111") is None
    store.create_incident(incident(offset=2))


def test_join_needs_a_holder(backend):
    with pytest.raises(NothingToJoin):
        backend().create_incident(incident(), join=True)


def test_roles_are_not_locked(backend):
    store = backend()
    store.create_incident(incident("arn:aws:iam::1:role/R", Mode.ROLE))
    store.create_incident(incident("arn:aws:iam::1:role/R", Mode.ROLE, offset=1))
    assert store.holders("arn:aws:iam::1:role/R") == []


def test_journal_chain_and_resume(backend):
    store = backend()
    record = incident()
    store.create_incident(record)
    for n in range(30):
        store.append(record.incident_id, "intent", {"n": n})
    reopened = backend()
    entries = reopened.entries(record.incident_id)
    assert [e.seq for e in entries] == list(range(1, 31))
    assert verify_chain(entries) == []
    reopened.append(record.incident_id, "outcome", {"n": 30})
    assert verify_chain(backend().entries(record.incident_id)) == []


def test_a_writer_with_an_old_view_chains_after_the_newest_entry(backend):
    """Whatever a writer last saw of an incident (a saved record, nothing at all), its next
    entry follows the newest one, however many were written since (more than one read's worth)."""
    creator = backend()
    record = incident()
    creator.create_incident(record)
    for n in range(3):
        creator.append(record.incident_id, "intent", {"n": n})
    creator.save_incident(record)
    old_view = backend()
    old_view.get_incident(record.incident_id)  # read when the journal had 3 entries
    busy = backend()
    for n in range(40):
        busy.append(record.incident_id, "outcome", {"n": n})
    assert old_view.append(record.incident_id, "late", {}).seq == 44
    assert backend().append(record.incident_id, "blind", {}).seq == 45  # never read the record
    busy.save_incident(busy.get_incident(record.incident_id))
    reader = backend()
    reader.get_incident(record.incident_id)
    assert reader.append(record.incident_id, "after-save", {}).seq == 46
    entries = backend().entries(record.incident_id)
    assert [e.seq for e in entries] == list(range(1, 47))
    assert [e.kind for e in entries[-3:]] == ["late", "blind", "after-save"]
    assert verify_chain(entries) == []


def test_entries_written_together_keep_the_chain(backend):
    """Several entries in one write: all land, in order, chained to what came before and after,
    and a writer that knew nothing of them still finds the head past them."""
    store = backend()
    record = incident()
    store.create_incident(record)
    store.append(record.incident_id, "opened", {})
    written = store.append_many(record.incident_id, [("status:closing", {"reason": "r"}), ("intent", {"n": 1})])
    assert [e.seq for e in written] == [2, 3] and written[0].prev_hash == store.entries(record.incident_id)[0].hash
    assert backend().append(record.incident_id, "outcome", {"ok": True}).seq == 4
    for n in range(30):  # items of several entries, past one read's worth of the journal
        backend().append_many(record.incident_id, [("a", {"n": n}), ("b", {"n": n})])
    late = backend()
    assert late.append(record.incident_id, "late", {}).seq == 65
    entries = backend().entries(record.incident_id)
    assert [e.seq for e in entries] == list(range(1, 66))
    assert [e.kind for e in entries[:5]] == ["opened", "status:closing", "intent", "outcome", "a"]
    assert entries[2].data == {"n": 1} and verify_chain(entries) == []


@pytest.mark.parametrize("entries_before", [2, 40])
def test_holders_of_an_incident_and_its_next_entry(backend, entries_before):
    """Holders of several targets read at once (a target nobody holds has none); the incident's
    next entry still follows the newest one, however long its journal (within one read or not)."""
    store = backend()
    first, second = incident("111111111111"), incident("222222222222", offset=1)
    store.create_incident(first)
    store.create_incident(second)
    for n in range(entries_before // 2):
        backend().append_many(first.incident_id, [("a", {"n": n}), ("b", {"n": n})])
    reader = backend()
    held = reader.holders_of(first.incident_id, ["111111111111", "222222222222", "333333333333"])
    assert held == {
        "111111111111": [first.incident_id],
        "222222222222": [second.incident_id],
        "333333333333": [],
    }
    backend().append(first.incident_id, "meanwhile", {})  # another writer, after that read
    assert reader.append(first.incident_id, "next", {}).seq == entries_before + 2
    entries = backend().entries(first.incident_id)
    assert [e.kind for e in entries[-2:]] == ["meanwhile", "next"] and verify_chain(entries) == []


def test_concurrent_appends_keep_one_chain(backend):
    record = incident()
    backend().create_incident(record)
    barrier = threading.Barrier(4)

    def writer(n):
        store = backend()
        barrier.wait()
        for k in range(10):
            if n % 2:
                store.append(record.incident_id, "intent", {"writer": n, "k": k})
            else:
                store.append_many(record.incident_id, [("intent", {"writer": n, "k": k}), ("outcome", {"k": k})])

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    entries = backend().entries(record.incident_id)
    assert len(entries) == 60 and verify_chain(entries) == []
    assert [e.seq for e in entries] == list(range(1, 61))


def test_racing_creates_open_exactly_one(backend):
    barrier = threading.Barrier(6)
    outcomes: list[str] = []

    def engineer():
        store = backend()
        barrier.wait()
        try:
            store.create_incident(incident())
            outcomes.append("ok")
        except TargetLocked:
            outcomes.append("locked")

    threads = [threading.Thread(target=engineer) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["locked"] * 5 + ["ok"]
    assert len(backend().holders("111111111111")) == 1


def test_a_stale_save_is_refused_and_nothing_is_lost(backend):
    store = backend()
    record = incident()
    store.create_incident(record)
    approver = store.get_incident(record.incident_id)
    other = backend()
    fresh_denier = other.get_incident(record.incident_id)
    fresh_denier.status = IncidentStatus.DENIED
    other.save_incident(fresh_denier)
    approver.status = IncidentStatus.APPROVED
    with pytest.raises(IncidentChanged, match=record.incident_id) as refused:
        store.save_incident(approver)
    assert refused.value.exit_code == 4 and "run the command again" in (refused.value.remediation or "")
    assert backend().get_incident(record.incident_id).status is IncidentStatus.DENIED
    again = store.get_incident(record.incident_id)
    again.reason = "re-read, then saved"
    store.save_incident(again)
    store.save_incident(again)  # the same object saves again: its version followed the save
    assert backend().get_incident(record.incident_id).reason == "re-read, then saved"


def test_the_creator_saves_without_rereading(backend):
    store = backend()
    record = incident()
    store.create_incident(record)
    record.status = IncidentStatus.CLOSING
    store.save_incident(record)
    assert backend().get_incident(record.incident_id).status is IncidentStatus.CLOSING


def test_concurrent_updates_each_land(backend):
    record = incident()
    backend().create_incident(record)
    barrier = threading.Barrier(4)

    def approver(n):
        store = backend()
        barrier.wait()

        def add(found):
            found.approvals.append(Approval(principal=f"p{n}", arn=f"arn:{n}", name=f"n{n}", at=record.created_at))

        update_incident(store, record.incident_id, add)

    threads = [threading.Thread(target=approver, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(a.principal for a in backend().get_incident(record.incident_id).approvals) == [
        "p0",
        "p1",
        "p2",
        "p3",
    ]


def test_a_copy_from_another_store_overwrites(backend, tmp_path):
    """What `sync` does with an incident read from the offline store."""
    store = backend()
    record = incident()
    store.create_incident(record)
    offline = SqliteStore(tmp_path / "offline.sqlite3")
    offline.create_incident(record.model_copy(deep=True))
    copy = offline.get_incident(record.incident_id)
    copy.status = IncidentStatus.CLOSED
    store.save_incident(copy)
    assert backend().get_incident(record.incident_id).status is IncidentStatus.CLOSED


def test_newest_first_within_one_second(backend):
    store = backend()
    now = datetime.now(UTC).replace(microsecond=0)
    opened = []
    for n in range(5):
        record = incident(f"11111111111{n}").model_copy(update={"created_at": now})
        store.create_incident(record)
        opened.append(record.incident_id)
    assert [i.incident_id for i in backend().list_incidents()] == opened[::-1]


def corrupt(store, incident_id):
    """Damage one stored record the way a hand edit or a bad disk would."""
    if isinstance(store, SqliteStore):
        store._db.execute("UPDATE incidents SET body=? WHERE incident_id=?", ('{"incident_id": 1}', incident_id))
        return
    boto3.client("dynamodb", region_name="us-east-1").update_item(
        TableName=TABLE,
        Key={"pk": {"S": f"INC#{incident_id}"}, "sk": {"S": "META"}},
        UpdateExpression="SET body = :b",
        ExpressionAttributeValues={":b": {"S": '{"status": "no-such-status"}'}},
    )


def test_an_unreadable_record_is_named_and_skipped(backend):
    store = backend()
    good, bad = incident("111111111111"), incident("222222222222", offset=1)
    store.create_incident(good)
    store.create_incident(bad)
    corrupt(store, bad.incident_id)
    with pytest.raises(UnreadableIncident, match=bad.incident_id) as err:
        backend().get_incident(bad.incident_id)
    assert err.value.exit_code == 5 and "\n" not in err.value.message
    skipped: list[str] = []
    assert [i.incident_id for i in backend().list_incidents(skipped=skipped)] == [good.incident_id]
    assert skipped == [bad.incident_id]


def test_alerts_once(backend):
    store = backend()
    assert store.record_alert("watch:e1") is True
    assert backend().record_alert("watch:e1") is False


def test_open_store_selects_by_spec(aws, tmp_path):
    factory = ClientFactory(botocore_session=_shared_botocore())
    assert isinstance(open_store(f"dynamodb://{TABLE}", factory), DynamoStore)
    assert isinstance(open_store(tmp_path / "x.sqlite3", factory), SqliteStore)


# --- whole flows on either store ---------------------------------------------------------------


def detach(cli, org, *extra):
    run = cli("scp", "detach", "--target", org.account, "--reason", "x", "--yes", "--output", "json", *extra)
    assert run.exit_code == 0, run.stderr
    return run.json()["incident_id"]


@pytest.mark.parametrize("close_first", ["first", "second"])
def test_overlapping_incidents_lose_nothing(store_env, org, cli, close_first):
    p1, p2, p3 = (org.new_policy(f"Deny{n}") for n in range(3))
    for p in (p1, p2, p3):
        org.attach(p, org.account)
    org.detach(FULL_AWS_ACCESS, org.account)
    before = org.snapshot()
    first = detach(cli, org, "--policy", p1)
    assert org.scps(org.account) == {p2, p3}
    refused = cli("scp", "detach", "--target", org.account, "--reason", "y", "--yes", "--policy", p2)
    assert refused.exit_code == 4 and "--join" in refused.stderr
    second = detach(cli, org, "--join", "--policy", p2, "--policy", p3)
    assert org.scps(org.account) == {FULL_AWS_ACCESS}
    order = [first, second] if close_first == "first" else [second, first]
    held = cli("scp", "restore", order[0])
    assert held.exit_code == 0 and "still held by" in held.stdout
    assert org.scps(org.account) == {FULL_AWS_ACCESS}, "the other holder keeps the target open"
    last = cli("scp", "restore", order[1])
    assert last.exit_code == 0, last.stderr
    assert org.snapshot() == before
    statuses = {i["incident_id"]: i["status"] for i in cli("list", "--output", "json").json()}
    assert statuses == {first: "closed", second: "closed"}
    for incident_id in (first, second):
        assert cli("journal", "verify", incident_id).exit_code == 0


def test_round_trip_and_crash_resume_on_either_store(store_env, org, cli):
    p = org.new_policy("Deny")
    org.attach(p, org.account)
    before = org.snapshot()

    class Crash(BaseException):
        pass

    def boom(model=None, **_):
        if model.name == "DetachPolicy":
            raise Crash

    with pytest.raises(Crash):
        cli("scp", "detach", "--target", org.account, "--reason", "x", "--yes", hooks=[("before-call", boom)])
    (opened,) = cli("list", "--output", "json").json()
    assert cli("scp", "restore", opened["incident_id"]).exit_code == 0
    assert org.snapshot() == before
    shown = cli("show", opened["incident_id"], "--output", "json").json()
    assert shown["status"] == "closed" and verify_chain_ok(shown["journal"])


def verify_chain_ok(journal):
    from breakglass_aws.models import JournalEntry

    return verify_chain([JournalEntry(**e) for e in journal]) == []


def test_a_damaged_record_stops_neither_list_nor_the_expired_sweep(store_env, org, cli, tmp_path):
    from breakglass_aws.clock import utcnow

    accounts = [org.client.create_account(Email=f"d{k}@example.com", AccountName=f"d{k}") for k in range(2)]
    good_target, bad_target = (a["CreateAccountStatus"]["AccountId"] for a in accounts)
    for target in (good_target, bad_target):
        org.attach(org.new_policy(f"Deny{target}"), target)
    before = org.scps(good_target)
    past = utcnow() - timedelta(hours=2)
    opened = []
    for target in (good_target, bad_target):
        run = cli("scp", "detach", "--target", target, "--reason", "x", "--yes", "--output", "json", clock=lambda: past)
        assert run.exit_code == 0, run.stderr
        opened.append(run.json()["incident_id"])
    good, bad = opened
    if store_env == "sqlite":
        store = SqliteStore(tmp_path / "state" / "breakglass" / "journal.sqlite3")
    else:
        store = DynamoStore(ClientFactory(botocore_session=_shared_botocore()), TABLE)
    corrupt(store, bad)

    listed = cli("list", "--output", "json")
    assert listed.exit_code == 0, listed.stderr
    assert [i["incident_id"] for i in listed.json()] == [good]
    assert f"incident {bad}" in listed.stderr and "unreadable" in listed.stderr

    shown = cli("show", bad)
    assert shown.exit_code == 5 and bad in shown.stderr and "Traceback" not in shown.stderr
    assert len(shown.stderr.strip().splitlines()) == 1
    assert "validation error" not in shown.stderr.lower()

    swept = cli("restore", "--expired", "--output", "json")
    assert swept.exit_code == 8, swept.stderr  # one restored, one that needs a repair: partial
    results = {r["incident_id"]: r for r in swept.json()}
    assert results[good]["status"] == "closed" and results[good]["exit_code"] == 0
    assert results[bad]["exit_code"] == 5 and bad in results[bad]["error"]
    assert org.scps(good_target) == before, "the readable incident was restored"
