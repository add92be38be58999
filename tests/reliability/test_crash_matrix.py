"""A crash before or after every mutating AWS call of detach and restore; a fresh restore finishes."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from breakglass_aws.errors import PartialApplyError
from breakglass_aws.incident.close import restore_incident
from breakglass_aws.incident.scp import open_scp_incident, plan_scp_detach
from breakglass_aws.incident.verify import journal_problems
from breakglass_aws.models import FULL_AWS_ACCESS, IncidentStatus
from breakglass_aws.runtime import whoami
from tests.support.crash import Crash

pytestmark = pytest.mark.reliability

MUTATIONS_EACH_WAY = 4  # 3 custom SCPs, FullAWSAccess not attached: attach + 3 detaches; 3 attaches + detach


def crash_on_mutation(k: int):
    seen = 0

    def hook(model=None, **_):
        nonlocal seen
        if model.name in ("AttachPolicy", "DetachPolicy"):
            seen += 1
            if seen == k:
                raise Crash(f"crash at mutation {k}")

    return hook


@pytest.fixture
def locked_out(org):
    for n in range(3):
        org.attach(org.new_policy(f"Deny{n}"), org.account)
    org.detach(FULL_AWS_ACCESS, org.account)
    return org


def detach(rt, target):
    plan = plan_scp_detach(rt, target, [])
    return open_scp_incident(rt, plan, whoami(rt), "INC-7 outage", None, timedelta(hours=1))


def only_incident(rt):
    (incident,) = rt.store.list_incidents()
    return incident


@pytest.mark.parametrize("event", ["before-call.organizations", "after-call.organizations"])
@pytest.mark.parametrize("k", range(1, MUTATIONS_EACH_WAY + 1))
def test_crash_during_detach_then_restore_completes(locked_out, make_runtime, event, k):
    before = locked_out.snapshot()
    crashing = make_runtime(hooks=[(event, crash_on_mutation(k))])
    with pytest.raises(Crash):
        detach(crashing, locked_out.account)
    assert locked_out.scps(locked_out.account), "never zero SCPs, even mid-crash"
    fresh = make_runtime()
    incident = only_incident(fresh)
    result = restore_incident(fresh, incident.incident_id)
    assert result.status is IncidentStatus.CLOSED
    assert locked_out.snapshot() == before
    assert journal_problems(fresh, incident.incident_id) == []
    assert restore_incident(fresh, incident.incident_id).noop


@pytest.mark.parametrize("event", ["before-call.organizations", "after-call.organizations"])
@pytest.mark.parametrize("k", range(1, MUTATIONS_EACH_WAY + 1))
def test_crash_during_restore_then_restore_completes(locked_out, make_runtime, event, k):
    before = locked_out.snapshot()
    incident = detach(make_runtime(), locked_out.account)
    crashing = make_runtime(hooks=[(event, crash_on_mutation(k))])
    with pytest.raises(Crash):
        restore_incident(crashing, incident.incident_id)
    assert locked_out.scps(locked_out.account), "never zero SCPs, even mid-crash"
    fresh = make_runtime()
    assert fresh.store.get_incident(incident.incident_id).status is IncidentStatus.CLOSING
    result = restore_incident(fresh, incident.incident_id)
    assert result.status is IncidentStatus.CLOSED
    assert locked_out.snapshot() == before
    assert journal_problems(fresh, incident.incident_id) == []


def test_journal_records_intent_before_and_outcome_after(locked_out, make_runtime):
    rt = make_runtime()
    incident = detach(rt, locked_out.account)
    entries = rt.store.entries(incident.incident_id)
    kinds = [(e.kind, e.data.get("step", {}).get("action")) for e in entries]
    # every change is announced in the write that opens the incident; FullAWSAccess goes on
    # alone first, the detaches after it together; each outcome after its call
    assert kinds == [
        ("opened", None),
        ("intent", "attach"),
        *[("intent", "detach")] * 3,
        ("outcome", "attach"),
        *[("outcome", "detach")] * 3,
        ("activated", None),
    ]
    assert all(e.data["ok"] for e in entries if e.kind == "outcome")


def test_every_intent_is_durable_before_the_first_change(locked_out, make_runtime):
    seen: list[list[str]] = []

    def look(model=None, **_):
        if model.name == "AttachPolicy":
            (incident,) = make_runtime().store.list_incidents()
            journal = make_runtime().store.entries(incident.incident_id)
            seen.append([e.data["step"]["action"] for e in journal if e.kind == "intent"])

    detach(make_runtime(hooks=[("before-call.organizations", look)]), locked_out.account)
    assert seen == [["attach", "detach", "detach", "detach"]]


def test_crash_leaves_an_intent_without_outcome(locked_out, make_runtime):
    crashing = make_runtime(hooks=[("before-call.organizations", crash_on_mutation(2))])
    with pytest.raises(Crash):
        detach(crashing, locked_out.account)
    entries = make_runtime().store.entries(only_incident(crashing).incident_id)
    intents = [e.data["step"]["policy_id"] for e in entries if e.kind == "intent"]
    answered = [e.data["step"]["policy_id"] for e in entries if e.kind == "outcome"]
    assert len(intents) == MUTATIONS_EACH_WAY
    assert answered in ([], [FULL_AWS_ACCESS]), "the attach's outcome is written beside the detaches, if at all"
    assert {p for p in intents if p not in answered} == set(locked_out.policies)


def refuse_detach(k: int):
    """AWS refuses the k-th DetachPolicy (AccessDenied: not retried); the others go through."""
    from botocore.awsrequest import AWSResponse

    seen = 0
    lock = threading.Lock()

    def hook(model=None, **_):
        nonlocal seen
        if model.name != "DetachPolicy":
            return None
        with lock:
            seen += 1
            mine = seen
        if mine != k:
            return None
        parsed = {
            "Error": {"Code": "AccessDeniedException", "Message": "no"},
            "ResponseMetadata": {"HTTPStatusCode": 400},
        }
        return AWSResponse("https://injected", 400, {}, None), parsed

    return hook


@pytest.mark.parametrize("k", range(1, MUTATIONS_EACH_WAY))
def test_a_refusal_inside_a_parallel_level_keeps_the_others_outcomes(locked_out, make_runtime, k):
    before = locked_out.snapshot()
    refusing = make_runtime(hooks=[("before-call.organizations.DetachPolicy", refuse_detach(k))])
    with pytest.raises(PartialApplyError):
        detach(refusing, locked_out.account)
    incident = only_incident(refusing)
    outcomes = [e.data for e in refusing.store.entries(incident.incident_id) if e.kind == "outcome"]
    detaches = [o for o in outcomes if o["step"]["action"] == "detach"]
    assert sorted(o["ok"] for o in detaches) == [False, True, True], "every request of the level has its outcome"
    assert locked_out.scps(locked_out.account) >= {FULL_AWS_ACCESS}
    fresh = make_runtime()
    assert restore_incident(fresh, incident.incident_id).status is IncidentStatus.CLOSED
    assert locked_out.snapshot() == before
    assert journal_problems(fresh, incident.incident_id) == []
