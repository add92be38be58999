"""Changes announced ahead of their calls (with the write that opens or claims the incident): each
announced step ends with an outcome, also when it was never sent; a closer paused between two
levels proves its claim before the next one."""

from __future__ import annotations

import time

import pytest

from breakglass_aws.incident.claim import FencedStore, new_claim
from breakglass_aws.incident.close import restore_incident
from breakglass_aws.incident.gate import NOT_NEEDED, apply_levels, intents
from breakglass_aws.incident.restore import HANDED_OVER
from breakglass_aws.journal.base import ClaimLost
from breakglass_aws.journal.chain import verify_chain
from breakglass_aws.models import FULL_AWS_ACCESS, ClosePlan, IncidentStatus, ScpStep
from breakglass_aws.scp.plan import perform_step
from tests.support.races import blocked_by, detach


def answers(rt, incident_id: str) -> dict[str, list[str]]:
    """Each announced policy step (action:policy) and the outcomes it got, in journal order."""
    found: dict[str, list[str]] = {}
    for entry in rt.store.entries(incident_id):
        step = entry.data.get("step", {})
        key = f"{step.get('action')}:{step.get('policy_id')}"
        if entry.kind == "intent":
            found.setdefault(key, [])
        elif entry.kind == "outcome":
            found[key].append("ok" if entry.data["ok"] else entry.data["error"])
    return found


def test_a_step_the_target_no_longer_needs_is_answered_not_needed(runtime, org):
    p1, p2 = blocked_by(org, 2)
    before = org.snapshot()
    incident_id = detach(runtime(), org, [])
    org.attach(p2, org.account)  # put back by hand during the incident
    rt = runtime()
    result = restore_incident(rt, incident_id)
    assert result.status is IncidentStatus.CLOSED
    assert org.snapshot() == before
    restore = answers(rt, incident_id)
    assert restore[f"attach:{p1}"] == ["ok"]
    assert restore[f"attach:{p2}"] == [NOT_NEEDED]
    assert restore[f"detach:{FULL_AWS_ACCESS}"] == ["ok"]
    assert verify_chain(rt.store.entries(incident_id)) == []


def test_a_hand_over_answers_every_step_its_claim_announced(runtime, org):
    p1, p2 = blocked_by(org, 2)
    first = detach(runtime(), org, [p1])
    second = detach(runtime(), org, [p2], join=True)
    held = org.snapshot()
    rt = runtime()
    restore_incident(rt, first)
    assert org.snapshot() == held, "the second incident still holds the target: nothing came back"
    entries = rt.store.entries(first)
    claimed = max(e.seq for e in entries if e.kind == "status:closing")
    announced = [e for e in entries if e.kind == "intent" and e.seq > claimed]
    answered = [e for e in entries if e.kind == "outcome" and e.seq > claimed]
    assert [e.data["step"] for e in announced] == [e.data["step"] for e in answered]
    assert {e.data["error"] for e in answered} == {HANDED_OVER}
    assert rt.store.holders(org.account) == [second]
    assert restore_incident(runtime(), second).status is IncidentStatus.CLOSED
    assert org.scps(org.account) == {p1, p2}


@pytest.fixture
def claimed(make_runtime, org):
    """An incident on a blocked target, claimed by a closer: its fenced store and the steps of
    two levels (re-attach, then FullAWSAccess off), announced with the claim."""
    (p1,) = blocked_by(org, 1)
    rt = make_runtime()
    incident_id = detach(rt, org, [p1])
    incident = rt.store.get_incident(incident_id)
    mine = new_claim("test", rt.clock())
    incident.closing = ClosePlan(started_at=rt.clock(), claim=mine)
    levels = [
        [ScpStep(action="attach", policy_id=p1, target=org.account)],
        [ScpStep(action="detach", policy_id=FULL_AWS_ACCESS, target=org.account)],
    ]
    rt.store.save_incident(incident, intents(levels))
    return rt, incident_id, FencedStore(rt.store, incident_id, mine.token), levels, p1


def take_over(rt, incident_id: str) -> None:
    """Another closer takes the claim (the first one's lease ran out while it was paused)."""
    incident = rt.store.get_incident(incident_id)
    incident.closing = ClosePlan(started_at=rt.clock(), claim=new_claim("another closer", rt.clock()))
    rt.store.save_incident(incident, [("close-plan", {"users": []})])


def test_a_closer_paused_past_half_its_lease_stops_before_its_next_level(claimed, org):
    rt, incident_id, fenced, levels, p1 = claimed
    org_client = rt.factory.client("organizations")
    fenced.checked = time.monotonic() - 1000  # its last fenced write is long past
    take_over(rt, incident_id)
    with pytest.raises(ClaimLost):
        apply_levels(fenced, incident_id, levels, lambda s: perform_step(org_client, s), announced=True)
    assert org.scps(org.account) == {FULL_AWS_ACCESS, p1}, "the re-attach was made; FullAWSAccess stays on"
    kinds = [e.kind for e in rt.store.entries(incident_id)]
    assert "claim-confirmed" not in kinds and kinds[-1] == "close-plan", "nothing more was written"


def test_a_closer_within_half_its_lease_goes_on_without_a_write(claimed, org):
    rt, incident_id, fenced, levels, p1 = claimed
    org_client = rt.factory.client("organizations")
    writes_before = len(rt.store.entries(incident_id))
    apply_levels(fenced, incident_id, levels, lambda s: perform_step(org_client, s), announced=True)
    assert org.scps(org.account) == {p1}
    added = [e.kind for e in rt.store.entries(incident_id)][writes_before:]
    assert added == ["outcome", "outcome"]


def test_a_closer_past_half_its_lease_that_still_holds_it_confirms_and_goes_on(claimed, org):
    rt, incident_id, fenced, levels, p1 = claimed
    org_client = rt.factory.client("organizations")
    fenced.checked = time.monotonic() - 1000
    before = len(rt.store.entries(incident_id))
    apply_levels(fenced, incident_id, levels, lambda s: perform_step(org_client, s), announced=True)
    assert org.scps(org.account) == {p1}
    added = [e.kind for e in rt.store.entries(incident_id)][before:]
    assert added == ["claim-confirmed", "outcome", "outcome"]
