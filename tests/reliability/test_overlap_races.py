"""Races between engineers sharing targets and requests, on either store: overlapping SCP
incidents closed while a hand-over lands, a join after a policy was attached, approvals racing a
denial or each other, a lock guard left empty by releases at once, damaged records."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from breakglass_aws.errors import UsageError
from breakglass_aws.incident.approvals import activate, approve, deny
from breakglass_aws.incident.close import restore_incident
from breakglass_aws.incident.scp import new_scp_incident, plan_scp_detach
from breakglass_aws.incident.sweep import restore_expired
from breakglass_aws.journal import TargetLocked
from breakglass_aws.models import FULL_AWS_ACCESS, IncidentStatus, Requester
from breakglass_aws.runtime import Runtime
from tests.conftest import ACCOUNT
from tests.support.races import blocked_by, detach
from tests.support.store import TABLE


def person(name: str) -> Requester:
    return Requester(arn=f"arn:aws:iam::{ACCOUNT}:user/{name}", account=ACCOUNT, user_id=name.upper(), name=name)


# --- overlapping incidents -----------------------------------------------------------------------


@pytest.mark.parametrize("gap", ["holders_of", "save_incident"])
def test_a_hand_over_landing_while_the_last_holder_closes_is_restored(runtime, org, gap):
    """A's close has read A (and, in the second gap, its holders); B closes meanwhile and hands
    p2 over to A; A must restore p2 too."""
    p1, p2 = blocked_by(org, 2)
    before = org.snapshot()
    first = detach(runtime(), org, [p1])
    second = detach(runtime(), org, [p2], join=True)
    assert org.scps(org.account) == {FULL_AWS_ACCESS}

    def second_closes() -> None:
        held = restore_incident(runtime(), second)
        assert held.exit_code == 0 and held.targets[0].held_by == [first]

    result = restore_incident(runtime(interleave=(gap, second_closes)), first)
    assert result.exit_code == 0 and result.status is IncidentStatus.CLOSED, result
    assert [t.drift for t in result.targets] == [[]], "nothing was detached by hand"
    assert sorted(result.targets[0].reattached) == sorted([p1, p2])
    assert org.snapshot() == before
    store = runtime().store
    assert {store.get_incident(i).status for i in (first, second)} == {IncidentStatus.CLOSED}
    assert store.holders(org.account) == []


def test_the_sweep_skips_an_incident_closed_after_it_was_listed(runtime, org):
    """The sweep restores from the records it listed; one closed by someone else meanwhile is
    a no-op, not a second close (its stale copy must not be saved over the closed record)."""
    (p1,) = blocked_by(org, 1)
    before = org.snapshot()
    first = detach(runtime(), org, [p1])

    def someone_closes_it() -> None:
        assert restore_incident(runtime(), first).status is IncidentStatus.CLOSED

    sweep = runtime(interleave=("save_incident", someone_closes_it))
    sweep.clock = lambda: datetime.now(UTC) + timedelta(hours=2)
    (result,) = restore_expired(sweep, workers=1)
    assert result.noop and result.status is IncidentStatus.CLOSED and result.exit_code == 0, result
    assert org.snapshot() == before
    kinds = [e.kind for e in runtime().store.entries(first)]
    assert kinds.count("status:closing") == 1 and kinds.count("status:closed") == 1, kinds
    assert runtime().store.get_incident(first).status is IncidentStatus.CLOSED


@pytest.mark.parametrize("close_first", ["first", "second"])
def test_a_join_detaching_a_policy_attached_after_the_first_incident(runtime, org, close_first):
    (p1,) = blocked_by(org, 1)
    first = detach(runtime(), org, [p1])
    p2 = org.new_policy("AttachedDuringTheIncident")
    org.attach(p2, org.account)
    second = detach(runtime(), org, [p2], join=True)
    assert org.scps(org.account) == {FULL_AWS_ACCESS}
    order = [first, second] if close_first == "first" else [second, first]
    assert restore_incident(runtime(), order[0]).targets[0].held_by == [order[1]]
    last = restore_incident(runtime(), order[1])
    assert last.exit_code == 0 and last.status is IncidentStatus.CLOSED, last
    assert org.scps(org.account) == {p1, p2}, "both come back; FullAWSAccess goes as it was not there"
    assert last.targets[0].matches_snapshot and last.targets[0].drift == []


def test_a_joined_policy_edited_while_detached_is_reported(runtime, org):
    (p1,) = blocked_by(org, 1)
    first = detach(runtime(), org, [p1])
    p2 = org.new_policy("Late")
    org.attach(p2, org.account)
    second = detach(runtime(), org, [p2], join=True)
    org.client.update_policy(PolicyId=p2, Content=json.dumps({"Version": "2012-10-17", "Statement": []}))
    restore_incident(runtime(), second)
    last = restore_incident(runtime(), first)
    assert org.scps(org.account) == {p1, p2}
    assert last.targets[0].drift == [f"{p2} was edited while detached; re-attached as it is now"]


# --- approvals racing ---------------------------------------------------------------------------


def requested(rt: Runtime, org, approvals: int) -> str:
    plan = plan_scp_detach(rt, org.account, [])
    incident = new_scp_incident(
        rt,
        plan,
        person("alice"),
        "outage",
        None,
        timedelta(hours=1),
        IncidentStatus.REQUESTED,
        approvals_required=approvals,
    )
    return incident.incident_id


def test_an_approval_read_before_a_denial_does_not_overwrite_it(runtime, org):
    blocked_by(org, 1)
    before = org.snapshot()
    incident_id = requested(runtime(), org, 1)

    def carol_denies() -> None:
        deny(runtime(), incident_id, person("carol"), "use the runbook")

    with pytest.raises(UsageError, match="is denied: nothing to approve") as refused:
        approve(runtime(interleave=("save_incident", carol_denies)), incident_id, person("bob"), None)
    assert refused.value.exit_code == 2
    rt = runtime()
    stored = rt.store.get_incident(incident_id)
    assert stored.status is IncidentStatus.DENIED and stored.approvals == []
    assert rt.store.holders(org.account) == [], "the denial released the target"
    with pytest.raises(UsageError, match="denied"):
        activate(rt, incident_id, person("alice"), None)
    assert org.snapshot() == before
    kinds = [e.kind for e in rt.store.entries(incident_id)]
    assert "approved" not in kinds and "status:approved" not in kinds and kinds.count("status:denied") == 1


def test_two_approvers_at_once_both_count(runtime, org):
    blocked_by(org, 1)
    incident_id = requested(runtime(), org, 2)

    def carol_approves() -> None:
        assert approve(runtime(), incident_id, person("carol"), None).status is IncidentStatus.REQUESTED

    done = approve(runtime(interleave=("save_incident", carol_approves)), incident_id, person("bob"), "ok")
    assert done.status is IncidentStatus.APPROVED
    stored = runtime().store.get_incident(incident_id)
    assert stored.status is IncidentStatus.APPROVED
    assert sorted(a.name for a in stored.approvals) == ["bob", "carol"]
    kinds = [e.kind for e in runtime().store.entries(incident_id)]
    assert kinds.count("approved") == 2 and kinds.count("status:approved") == 1


def test_a_denial_racing_an_activation_stops_it_before_any_detach(runtime, org):
    blocked_by(org, 1)
    before = org.snapshot()
    incident_id = requested(runtime(), org, 1)
    approve(runtime(), incident_id, person("bob"), None)

    def carol_denies() -> None:
        deny(runtime(), incident_id, person("carol"), None)

    from breakglass_aws.journal.base import IncidentChanged

    with pytest.raises(IncidentChanged, match=incident_id) as refused:
        activate(runtime(interleave=("save_incident", carol_denies)), incident_id, person("alice"), None)
    assert refused.value.exit_code == 4
    assert org.snapshot() == before
    assert runtime().store.get_incident(incident_id).status is IncidentStatus.DENIED


# --- a lock guard left empty ---------------------------------------------------------------------


def test_a_guard_left_empty_does_not_lock_the_target_forever(runtime, org):
    """Two holders releasing at once can each see the other and remove only itself, leaving
    the guard item with no holder: it must hold nothing."""
    if runtime.kind != "dynamodb":
        pytest.skip("the guard item is how DynamoDB records holders")
    p1, p2, p3 = blocked_by(org, 3)
    before = org.snapshot()
    rt = runtime()
    first = detach(rt, org, [p1])
    second = detach(runtime(), org, [p2], join=True)
    other = runtime()

    def second_releases_now(**_: Any) -> None:
        rt.store.db.meta.events.unregister("before-call.dynamodb.UpdateItem", second_releases_now)
        other.store.release_locks(second, [org.account])  # sees `first` still there: removes itself

    rt.store.db.meta.events.register("before-call.dynamodb.UpdateItem", second_releases_now)
    rt.store.release_locks(first, [org.account])  # saw `second` there: removes itself
    guard = boto3.client("dynamodb", region_name="us-east-1").get_item(
        TableName=TABLE, Key={"pk": {"S": f"LOCK#{org.account}"}, "sk": {"S": "GUARD"}}
    )["Item"]
    assert guard["holders"] == {"M": {}}, "both removed themselves and neither deleted the guard"
    assert runtime().store.holders(org.account) == []
    with pytest.raises(UsageError):
        detach(runtime(), org, [p3], join=True)  # nobody holds it: nothing to join
    third = detach(runtime(), org, [p3])
    assert runtime().store.holders(org.account) == [third]
    rival = runtime().store.get_incident(third).model_copy(update={"incident_id": "bg-20260101-000000-abcdef"})
    with pytest.raises(TargetLocked, match=third):
        runtime().store.create_incident(rival)
    for incident_id in (first, second):
        restore_incident(runtime(), incident_id)
    assert restore_incident(runtime(), third).status is IncidentStatus.CLOSED
    assert org.snapshot() == before
    assert runtime().store.holders(org.account) == []


def test_a_guard_written_by_an_earlier_version_is_not_taken_over(runtime, org):
    """Earlier versions counted a target's holders in the guard (and listed them in items of
    their own): while that count is above zero the target stays locked."""
    if runtime.kind != "dynamodb":
        pytest.skip("the guard item is DynamoDB's")
    (p1,) = blocked_by(org, 1)
    before = org.snapshot()
    db = boto3.client("dynamodb", region_name="us-east-1")
    key = {"pk": {"S": f"LOCK#{org.account}"}, "sk": {"S": "GUARD"}}
    db.put_item(TableName=TABLE, Item={**key, "count": {"N": "1"}})
    with pytest.raises(TargetLocked):
        detach(runtime(), org, [p1])
    assert org.snapshot() == before, "refused before any change"
    db.put_item(TableName=TABLE, Item={**key, "count": {"N": "0"}})  # released by that version
    incident_id = detach(runtime(), org, [p1])
    assert runtime().store.holders(org.account) == [incident_id]
    assert restore_incident(runtime(), incident_id).status is IncidentStatus.CLOSED
    assert org.snapshot() == before
