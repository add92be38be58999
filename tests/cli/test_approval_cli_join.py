"""`scp detach --join` when approvals are required: the request shares the target, and its
activation keeps the first holder's snapshot, so closing both in either order loses nothing."""

from __future__ import annotations

import pytest

from breakglass_aws.models import FULL_AWS_ACCESS


@pytest.mark.parametrize("close_first", ["first", "joiner"])
def test_join_request_is_approved_activated_and_restored(org, as_, monkeypatch, close_first):
    p1, p2, p3 = (org.new_policy(f"Deny{n}") for n in range(3))
    for p in (p1, p2, p3):
        org.attach(p, org.account)
    org.detach(FULL_AWS_ACCESS, org.account)
    before = org.snapshot()
    detach = ("scp", "detach", "--target", org.account, "--reason", "x", "--yes", "--output", "json")
    first = as_("alice", *detach, "--policy", p1)
    assert first.exit_code == 0, first.stderr
    monkeypatch.setenv("BREAKGLASS_APPROVALS_REQUIRED", "1")
    asked = as_("bob", *detach, "--join", "--policy", p2, "--policy", p3)
    assert asked.exit_code == 0, asked.stderr
    joiner = asked.json()["incident_id"]
    assert asked.json()["status"] == "requested"
    assert org.scps(org.account) == {p2, p3}, "a request changes nothing"
    assert as_("carol", "approve", joiner).exit_code == 0
    activated = as_("bob", "activate", joiner, "--output", "json")
    assert activated.exit_code == 0, activated.stderr
    assert org.scps(org.account) == {FULL_AWS_ACCESS}
    shown = as_("bob", "show", joiner, "--output", "json").json()
    assert {p["id"] for p in shown["scp"][0]["original"]} == {p1, p2, p3}, "the first holder's snapshot"
    order = [first.json()["incident_id"], joiner]
    order = order if close_first == "first" else order[::-1]
    held = as_("alice", "scp", "restore", order[0])
    assert held.exit_code == 0 and "still held by" in held.stdout
    assert org.scps(org.account) == {FULL_AWS_ACCESS}
    last = as_("alice", "scp", "restore", order[1])
    assert last.exit_code == 0, last.stderr
    assert org.snapshot() == before


def test_join_request_on_a_fully_detached_target_activates(org, as_, monkeypatch):
    policy = org.new_policy("Deny")
    org.attach(policy, org.account)
    before = org.snapshot()
    detach = ("scp", "detach", "--target", org.account, "--reason", "x", "--yes", "--output", "json")
    first = as_("alice", *detach)
    assert first.exit_code == 0 and org.scps(org.account) == {FULL_AWS_ACCESS}
    monkeypatch.setenv("BREAKGLASS_APPROVALS_REQUIRED", "1")
    asked = as_("bob", *detach, "--join")
    assert asked.exit_code == 0, asked.stderr
    joiner = asked.json()["incident_id"]
    assert as_("carol", "approve", joiner).exit_code == 0
    activated = as_("bob", "activate", joiner, "--output", "json")
    assert activated.exit_code == 0, activated.stderr
    assert as_("alice", "scp", "restore", first.json()["incident_id"]).exit_code == 0
    assert org.scps(org.account) == {FULL_AWS_ACCESS}, "the joiner still holds the target"
    assert as_("bob", "scp", "restore", joiner).exit_code == 0
    assert org.snapshot() == before
