"""`scp detach --rcp`: named resource control policies come off the target in the same incident and
go back exactly, crash or not; p-RCPFullAWSAccess never leaves; bad ids never reach AWS."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from breakglass_aws.incident.close import restore_incident
from breakglass_aws.incident.scp import open_scp_incident, plan_scp_detach
from breakglass_aws.incident.verify import journal_problems
from breakglass_aws.models import RCP_FULL_AWS_ACCESS, IncidentStatus
from breakglass_aws.runtime import whoami
from tests.conftest import CallCounter
from tests.support.crash import Crash

RCP = "RESOURCE_CONTROL_POLICY"
DENY_ASSUME = {
    "Version": "2012-10-17",
    "Statement": [
        {"Sid": "NoAssume", "Effect": "Deny", "Principal": "*", "Action": "sts:AssumeRole", "Resource": "*"},
    ],
}


def rcps(org, target: str) -> set[str]:
    pages = org.client.get_paginator("list_policies_for_target").paginate(TargetId=target, Filter=RCP)
    return {p["Id"] for page in pages for p in page["Policies"]}


def new_rcp(org, name: str) -> str:
    made = org.client.create_policy(Content=json.dumps(DENY_ASSUME), Description=name, Name=name, Type=RCP)
    return made["Policy"]["PolicySummary"]["Id"]


@pytest.fixture
def perimeter(org):
    """The account holds a Deny SCP and two Deny RCPs (a perimeter and a blocker); its OU one RCP."""
    org.client.enable_policy_type(RootId=org.root, PolicyType=RCP)
    scp = org.new_policy("DenyAll")
    org.attach(scp, org.account)
    blocker, perimeter_rcp, above = new_rcp(org, "Blocker"), new_rcp(org, "Perimeter"), new_rcp(org, "OuPerimeter")
    for policy, target in ((blocker, org.account), (perimeter_rcp, org.account), (above, org.ou)):
        org.attach(policy, target)
    return {"scp": scp, "blocker": blocker, "perimeter": perimeter_rcp, "above": above}


def state(org):
    return {t: (org.scps(t), rcps(org, t)) for t in (org.root, org.ou, org.account)}


def test_detach_and_restore_an_rcp_exactly(org, perimeter, cli):
    before = state(org)
    run = cli(
        "scp", "detach", "--target", org.account, "--rcp", perimeter["blocker"], "--reason", "RCP lockout",
        "--yes", "--output", "json",
    )  # fmt: skip
    assert run.exit_code == 0, run.stderr
    assert rcps(org, org.account) == {RCP_FULL_AWS_ACCESS, perimeter["perimeter"]}, "only the named RCP"
    assert perimeter["scp"] in org.scps(org.account), "SCPs come off only when named with --policy"
    incident = run.json()["incident_id"]
    shown = cli("show", incident, "--output", "json").json()
    assert perimeter["blocker"] in shown["scp"][0]["detach"]
    outcomes = [e["data"] for e in shown["journal"] if e["kind"] == "outcome"]
    assert any(o.get("step", {}).get("policy_id") == perimeter["blocker"] for o in outcomes), outcomes
    restored = cli("scp", "restore", incident, "--output", "json")
    assert restored.exit_code == 0, restored.stderr
    assert state(org) == before
    assert restored.json()["targets"][0]["drift"] == []


def test_the_plan_shows_the_rcps_on_the_path_and_changes_nothing(org, perimeter, cli):
    before = state(org)
    run = cli("scp", "detach", "--target", org.account, "--rcp", perimeter["blocker"], "--reason", "x", "--dry-run")
    assert run.exit_code == 0, run.stderr
    assert f"{perimeter['blocker']} (Blocker) on {org.account}: 1 Deny statement(s), detached by this incident" in (
        run.stdout
    )
    assert f"{perimeter['above']} (OuPerimeter) on {org.ou}: 1 Deny statement(s), stays" in run.stdout
    assert f"{perimeter['perimeter']} (Perimeter) on {org.account}: 1 Deny statement(s), stays" in run.stdout
    as_json = cli(
        "scp", "detach", "--target", org.account, "--rcp", perimeter["blocker"], "--reason", "x", "--dry-run",
        "--output", "json",
    ).json()  # fmt: skip
    assert as_json["rcps"] == [perimeter["blocker"]]
    assert {d["policy_id"] for d in as_json["rcps_on_path"]} == {
        perimeter[k] for k in ("blocker", "perimeter", "above")
    }
    assert state(org) == before


@pytest.mark.parametrize(
    ("rcp", "fragment"),
    [
        (RCP_FULL_AWS_ACCESS, "refusing to detach p-RCPFullAWSAccess"),
        ("p-bad id", "invalid policy id"),
        ("arn:aws:organizations::1:policy/p-1", "invalid policy id"),
    ],
)
def test_bad_rcp_ids_are_refused_before_any_call(org, perimeter, cli, rcp, fragment):
    before = state(org)
    calls = CallCounter()
    run = cli(
        "scp", "detach", "--target", org.account, "--rcp", rcp, "--reason", "x", "--yes",
        hooks=[("before-call", calls)],
    )  # fmt: skip
    assert run.exit_code == 2
    assert fragment in run.stderr and "Traceback" not in run.stderr
    assert calls.calls == []
    assert state(org) == before


def test_an_rcp_not_on_the_target_is_refused_and_nothing_changes(org, perimeter, cli):
    before = state(org)
    run = cli("scp", "detach", "--target", org.account, "--rcp", perimeter["above"], "--reason", "x", "--yes")
    assert run.exit_code == 2
    assert f"RCP {perimeter['above']} not attached to {org.account}" in run.stderr
    assert state(org) == before
    assert cli("list", "--output", "json").json() == []


def crash_on_mutation(k: int):
    seen = 0

    def hook(model=None, **_):
        nonlocal seen
        if model.name in ("AttachPolicy", "DetachPolicy"):
            seen += 1
            if seen == k:
                raise Crash(f"crash at mutation {k}")

    return hook


def detach(rt, org, perimeter):
    plan = plan_scp_detach(rt, org.account, [perimeter["scp"]], rcps=[perimeter["blocker"]])
    return open_scp_incident(rt, plan, whoami(rt), "RCP lockout", None, timedelta(hours=1))


MUTATIONS = 2  # the SCP and the RCP, each way


@pytest.mark.parametrize("event", ["before-call.organizations", "after-call.organizations"])
@pytest.mark.parametrize("k", range(1, MUTATIONS + 1))
def test_crash_during_the_detach_then_restore_puts_everything_back(org, perimeter, make_runtime, event, k):
    before = state(org)
    with pytest.raises(Crash):
        detach(make_runtime(hooks=[(event, crash_on_mutation(k))]), org, perimeter)
    fresh = make_runtime()
    (incident,) = fresh.store.list_incidents()
    assert restore_incident(fresh, incident.incident_id).status is IncidentStatus.CLOSED
    assert state(org) == before
    assert journal_problems(fresh, incident.incident_id) == []


@pytest.mark.parametrize("event", ["before-call.organizations", "after-call.organizations"])
@pytest.mark.parametrize("k", range(1, MUTATIONS + 1))
def test_crash_during_the_restore_then_a_rerun_finishes(org, perimeter, make_runtime, event, k):
    before = state(org)
    incident = detach(make_runtime(), org, perimeter)
    with pytest.raises(Crash):
        restore_incident(make_runtime(hooks=[(event, crash_on_mutation(k))]), incident.incident_id)
    fresh = make_runtime()
    assert restore_incident(fresh, incident.incident_id).status is IncidentStatus.CLOSED
    assert state(org) == before
    assert journal_problems(fresh, incident.incident_id) == []


def test_an_rcp_attached_by_hand_during_the_incident_is_drift_left_attached(org, perimeter, cli):
    run = cli(
        "scp", "detach", "--target", org.account, "--rcp", perimeter["blocker"], "--reason", "x", "--yes",
        "--output", "json",
    )  # fmt: skip
    extra = new_rcp(org, "AddedByHand")
    org.attach(extra, org.account)
    restored = cli("scp", "restore", run.json()["incident_id"], "--output", "json")
    assert restored.exit_code == 0, restored.stderr
    drift = restored.json()["targets"][0]["drift"]
    assert any(extra in line and "attached by hand" in line for line in drift), drift
    assert perimeter["blocker"] in rcps(org, org.account)


def test_an_rcp_request_waits_for_approval_and_its_activation_detaches_it(org, perimeter, as_, monkeypatch):
    before = state(org)
    monkeypatch.setenv("BREAKGLASS_APPROVALS_REQUIRED", "1")
    detach = ("scp", "detach", "--target", org.account, "--rcp", perimeter["blocker"], "--reason", "x", "--yes")
    asked = as_("bob", *detach, "--policy", perimeter["scp"], "--output", "json")
    assert asked.exit_code == 0, asked.stderr
    assert asked.json()["status"] == "requested"
    assert state(org) == before, "a request changes nothing"
    incident = asked.json()["incident_id"]
    assert as_("carol", "approve", incident).exit_code == 0
    activated = as_("bob", "activate", incident, "--output", "json")
    assert activated.exit_code == 0, activated.stderr
    assert rcps(org, org.account) == {RCP_FULL_AWS_ACCESS, perimeter["perimeter"]}
    assert perimeter["scp"] not in org.scps(org.account)
    assert as_("bob", "scp", "restore", incident).exit_code == 0
    assert state(org) == before
