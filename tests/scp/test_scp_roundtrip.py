"""Detach then restore returns every target to exactly its original SCP set."""

from __future__ import annotations

from datetime import timedelta

import pytest

from breakglass_aws.incident.close import restore_incident
from breakglass_aws.incident.scp import open_scp_incident, plan_scp_detach
from breakglass_aws.models import FULL_AWS_ACCESS, IncidentStatus
from breakglass_aws.runtime import whoami


def open_incident(rt, target, policies=(), allow_root=False):
    plan = plan_scp_detach(rt, target, list(policies), allow_root)
    return open_scp_incident(rt, plan, whoami(rt), "INC-1 SCP blocks rollback", "INC-1", timedelta(hours=1))


@pytest.mark.parametrize("where", ["account", "ou", "root"])
@pytest.mark.parametrize("custom", [0, 1, 3, 5])
@pytest.mark.parametrize("keep_full_access", [True, False])
def test_round_trip_restores_exact_set(org, make_runtime, where, custom, keep_full_access):
    target = getattr(org, where)
    for n in range(custom):
        org.attach(org.new_policy(f"Deny{n}"), target)
    if not keep_full_access and custom:
        org.detach(FULL_AWS_ACCESS, target)
    before = org.snapshot()
    rt = make_runtime()
    if custom == 0:
        with pytest.raises(Exception, match="nothing to detach"):
            open_incident(rt, target, allow_root=True)
        assert org.snapshot() == before
        return
    incident = open_incident(rt, target, allow_root=True)
    assert org.scps(target) == {FULL_AWS_ACCESS}
    assert incident.status is IncidentStatus.ACTIVE
    result = restore_incident(rt, incident.incident_id)
    assert result.status is IncidentStatus.CLOSED
    assert org.snapshot() == before
    assert all(t.matches_snapshot for t in result.targets)
    assert rt.store.lock_holder(target) is None


def test_only_named_policies_are_detached(org, make_runtime):
    a, b = org.new_policy("DenyA"), org.new_policy("DenyB")
    org.attach(a, org.account)
    org.attach(b, org.account)
    org.detach(FULL_AWS_ACCESS, org.account)
    rt = make_runtime()
    incident = open_incident(rt, org.account, [a])
    assert org.scps(org.account) == {b}, "FullAWSAccess is not needed while DenyB stays"
    restore_incident(rt, incident.incident_id)
    assert org.scps(org.account) == {a, b}


def test_second_restore_is_a_noop(org, make_runtime):
    org.attach(org.new_policy("Deny"), org.account)
    rt = make_runtime()
    incident = open_incident(rt, org.account)
    restore_incident(rt, incident.incident_id)
    entries = len(rt.store.entries(incident.incident_id))
    again = restore_incident(rt, incident.incident_id)
    assert again.noop and again.status is IncidentStatus.CLOSED
    assert len(rt.store.entries(incident.incident_id)) == entries


def test_full_access_attached_before_any_detach(org, make_runtime):
    p = org.new_policy("Deny")
    org.attach(p, org.account)
    org.detach(FULL_AWS_ACCESS, org.account)
    seen: list[tuple[str, set[str]]] = []

    def watch(model=None, params=None, **_):
        if model.name in ("AttachPolicy", "DetachPolicy"):
            seen.append((model.name, set(org.scps(org.account))))

    rt = make_runtime(hooks=[("before-call.organizations", watch)])
    incident = open_incident(rt, org.account)
    assert [name for name, _ in seen] == ["AttachPolicy", "DetachPolicy"]
    restore_incident(rt, incident.incident_id)
    assert [name for name, _ in seen] == ["AttachPolicy", "DetachPolicy", "AttachPolicy", "DetachPolicy"]
    assert all(state for _, state in seen), "the target never held zero SCPs"
    assert org.scps(org.account) == {p}
