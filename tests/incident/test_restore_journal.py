"""A restore writes its journal entries together (on either store): the claim of the close first,
announcing every change the restore can make (so the first call waits for no other write), its
plan and each level's outcomes beside the next level's calls, the rest with `closed` when the restore ends, or with
`needs-attention` when it ends in an error; on DynamoDB the entries of one write share one item.
(The target's FullAWSAccess was attached by the detach: the restore re-attaches, then detaches it.)"""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.exceptions import EndpointConnectionError

from breakglass_aws.errors import BreakglassError
from breakglass_aws.incident.close import restore_incident
from breakglass_aws.journal import verify_chain
from breakglass_aws.models import IncidentStatus
from tests.support.races import blocked_by, detach
from tests.support.store import TABLE

BEFORE_THE_CALL = ["close-plan", "status:closing", "intent", "intent"]  # the claim: re-attach, FullAWSAccess off
ALL = [*BEFORE_THE_CALL, "restore-plan", "outcome", "outcome", "close-step", "status:closed"]


def kinds_after(rt: Any, incident_id: str, seq: int) -> list[str]:
    return [e.kind for e in rt.store.entries(incident_id) if e.seq > seq]


def test_what_precedes_a_reattach_is_stored_before_it(runtime, org):
    (p1,) = blocked_by(org, 1)
    before = org.snapshot()
    incident_id = detach(runtime(), org, [p1])
    opened = len(runtime().store.entries(incident_id))
    stored_at_the_call: list[list[str]] = []

    def look(**_: Any) -> None:
        stored_at_the_call.append(kinds_after(runtime(), incident_id, opened))

    rt = runtime()
    events = rt.factory.client("organizations").meta.events
    events.register("before-call.organizations.AttachPolicy", look)
    events.register("before-call.organizations.DetachPolicy", look)
    result = restore_incident(rt, incident_id)
    assert result.status is IncidentStatus.CLOSED and org.snapshot() == before
    at_attach, at_detach = stored_at_the_call
    assert at_attach == ALL[:4], "read by another engineer as each call is made"
    assert at_detach in (ALL[:4], ALL[:6]), "the plan and the re-attach's outcome are written beside the detach"
    entries = runtime().store.entries(incident_id)
    assert [e.kind for e in entries[opened:]] == ALL
    assert [e.data["step"]["action"] for e in entries[opened:] if e.kind == "outcome"] == ["attach", "detach"]
    assert verify_chain(entries) == []


def test_entries_held_back_are_stored_when_the_restore_fails(runtime, org):
    (p1,) = blocked_by(org, 1)
    incident_id = detach(runtime(), org, [p1])
    opened = len(runtime().store.entries(incident_id))
    rt = runtime()
    lists = []

    def verification_fails(**_: Any) -> None:
        lists.append(1)
        if len(lists) == 2:  # the plan's listing passes; the verification after the changes fails
            raise EndpointConnectionError(endpoint_url="http://127.0.0.1:9/")

    rt.factory.client("organizations").meta.events.register(
        "before-call.organizations.ListPoliciesForTarget", verification_fails
    )
    with pytest.raises(BreakglassError) as stopped:
        restore_incident(rt, incident_id)
    assert stopped.value.exit_code == 8, "both changes were made before the verification failed"
    kinds = kinds_after(runtime(), incident_id, opened)
    assert kinds == [*ALL[:7], "status:needs-attention"], "the last outcome too, with the stop"
    assert runtime().store.get_incident(incident_id).status is IncidentStatus.NEEDS_ATTENTION
    assert verify_chain(runtime().store.entries(incident_id)) == []
    assert restore_incident(runtime(), incident_id).status is IncidentStatus.CLOSED  # the rerun finishes
    assert verify_chain(runtime().store.entries(incident_id)) == []


def test_on_dynamodb_a_restore_writes_its_journal_in_three_items(runtime, org):
    if runtime.kind != "dynamodb":
        pytest.skip("the item layout is DynamoDB's")
    (p1,) = blocked_by(org, 1)
    incident_id = detach(runtime(), org, [p1])
    db = boto3.client("dynamodb", region_name="us-east-1")

    def journal_items() -> list[dict[str, Any]]:
        return db.query(
            TableName=TABLE,
            KeyConditionExpression="pk = :p AND begins_with(sk, :j)",
            ExpressionAttributeValues={":p": {"S": f"INC#{incident_id}"}, ":j": {"S": "J#"}},
        )["Items"]

    opened = len(journal_items())
    assert restore_incident(runtime(), incident_id).status is IncidentStatus.CLOSED
    added = journal_items()[opened:]
    first = int(added[0]["sk"]["S"][2:])
    spans = [(int(i["sk"]["S"][2:]), int(i["last_seq"]["N"] if "last_seq" in i else i["sk"]["S"][2:])) for i in added]
    assert spans == [
        (first, first + 3),
        (first + 4, first + 5),
        (first + 6, first + 8),
    ], "the claim (close plan, closing, both intents); the restore plan with the attach's outcome; 3 with closed"
