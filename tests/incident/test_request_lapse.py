"""A request nobody activated lapses at its expiry: `restore --expired` closes it as denied and
releases its target, so a stale request never blocks the next emergency."""

from __future__ import annotations

from datetime import timedelta

from breakglass_aws.clock import utcnow
from tests.support.approvals import locked_out, request


def test_an_unactivated_request_lapses_and_frees_its_target(org, as_, monkeypatch):
    monkeypatch.setenv("BREAKGLASS_APPROVALS_REQUIRED", "1")
    before = locked_out(org)
    asked = request(as_, org, "alice", "--ttl", "1h")
    blocked = as_("carol", "scp", "detach", "--target", org.account, "--reason", "INC-2", "--yes")
    assert blocked.exit_code == 4 and asked["incident_id"] in blocked.stderr
    soon = as_("carol", "restore", "--expired", clock=lambda: utcnow() + timedelta(minutes=30))
    assert soon.exit_code == 0 and "lapsed" not in soon.stderr, "not yet expired"
    later = lambda: utcnow() + timedelta(hours=2)  # noqa: E731
    swept = as_("carol", "restore", "--expired", clock=later)
    assert swept.exit_code == 0, swept.stderr
    assert f"request {asked['incident_id']} lapsed" in swept.stderr
    shown = as_("carol", "show", asked["incident_id"], "--output", "json").json()
    assert shown["status"] == "denied" and shown["status_reason"].startswith("lapsed: requested")
    assert org.snapshot() == before, "nothing was ever detached for it"
    late = as_("alice", "activate", asked["incident_id"])
    assert late.exit_code == 2 and "denied" in late.stderr
    fresh = as_("carol", "scp", "detach", "--target", org.account, "--reason", "INC-2", "--yes", "--output", "json")
    assert fresh.exit_code == 0, fresh.stderr
    assert fresh.json()["status"] == "requested", "the target is free for a new request"


def test_the_scheduled_function_lapses_stale_requests(org, as_, monkeypatch):
    from breakglass_aws.lambda_handler import handler
    from tests.support.store import TABLE, make_table

    make_table()
    monkeypatch.setenv("BREAKGLASS_STORE", f"dynamodb://{TABLE}")
    monkeypatch.setenv("BREAKGLASS_APPROVALS_REQUIRED", "1")
    locked_out(org)
    past = utcnow() - timedelta(hours=3)
    asked = as_("alice", "scp", "detach", "--target", org.account, "--reason", "x", "--yes", "--ttl", "1h",
                "--output", "json", clock=lambda: past).json()  # fmt: skip
    fresh = request(as_, org, "bob", "--ttl", "1h", "--join")
    summary = handler({}, None)
    assert summary["lapsed_requests"] == [asked["incident_id"]]
    statuses = {i["incident_id"]: i["status"] for i in as_("carol", "list", "--output", "json").json()}
    assert statuses[asked["incident_id"]] == "denied" and statuses[fresh["incident_id"]] == "requested"
