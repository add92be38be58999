"""The two-person rule with real (moto) identities, the emergency override, denial, and SNS
notifications for every lifecycle event."""

from __future__ import annotations

import pytest

from breakglass_aws.models import FULL_AWS_ACCESS
from tests.support.approvals import locked_out, request


def test_one_approval(org, as_, monkeypatch):
    monkeypatch.setenv("BREAKGLASS_APPROVALS_REQUIRED", "1")
    before = locked_out(org)
    asked = request(as_, org)
    assert asked["status"] == "requested" and asked["approve_with"] == f"breakglass approve {asked['incident_id']}"
    assert org.snapshot() == before, "a request changes nothing"
    early = as_("alice", "activate", asked["incident_id"])
    assert early.exit_code == 4 and "0 of 1 approval" in early.stderr
    assert as_("bob", "approve", asked["incident_id"], "--comment", "ok, on the bridge").exit_code == 0
    again = as_("bob", "approve", asked["incident_id"])
    assert again.exit_code == 4 and "already approved" in again.stderr
    assert as_("bob", "activate", asked["incident_id"]).exit_code == 4, "only the requester activates"
    done = as_("alice", "activate", asked["incident_id"], "--output", "json")
    assert done.exit_code == 0, done.stderr
    assert org.scps(org.account) == {FULL_AWS_ACCESS}
    shown = as_("alice", "show", asked["incident_id"], "--output", "json").json()
    assert [(a["name"], a["comment"]) for a in shown["approvals"]] == [("bob", "ok, on the bridge")]
    assert shown["status"] == "active"


@pytest.mark.parametrize(
    ("requester", "approver"),
    [
        ("alice", "alice"),
        ("alice", "alice-key2"),
        ("responder/alice-1", "responder/alice-2"),
    ],
)
def test_self_approval_is_refused(org, as_, monkeypatch, requester, approver):
    monkeypatch.setenv("BREAKGLASS_APPROVALS_REQUIRED", "1")
    locked_out(org)
    asked = request(as_, org, requester)
    run = as_(approver, "approve", asked["incident_id"])
    assert run.exit_code == 4
    assert "requester can never approve" in run.stderr
    assert as_(approver, "show", asked["incident_id"], "--output", "json").json()["approvals"] == []


def test_two_approvals_needed(org, as_, monkeypatch):
    monkeypatch.setenv("BREAKGLASS_APPROVALS_REQUIRED", "2")
    before = locked_out(org)
    asked = request(as_, org)
    assert as_("bob", "approve", asked["incident_id"]).exit_code == 0
    still = as_("alice", "activate", asked["incident_id"])
    assert still.exit_code == 4 and "1 of 2" in still.stderr
    assert org.snapshot() == before
    assert as_("carol", "approve", asked["incident_id"]).exit_code == 0
    assert as_("alice", "activate", asked["incident_id"]).exit_code == 0
    assert org.scps(org.account) == {FULL_AWS_ACCESS}


def test_denied_request_cannot_be_activated(org, as_, monkeypatch):
    monkeypatch.setenv("BREAKGLASS_APPROVALS_REQUIRED", "1")
    before = locked_out(org)
    asked = request(as_, org)
    assert as_("bob", "deny", asked["incident_id"], "--comment", "use the runbook").exit_code == 0
    run = as_("alice", "activate", asked["incident_id"])
    assert run.exit_code == 2 and "denied" in run.stderr
    late = as_("carol", "approve", asked["incident_id"])
    assert late.exit_code == 2
    assert org.snapshot() == before
    assert request(as_, org)["status"] == "requested", "the denial released the target"


def test_override_is_recorded_and_flagged(org, as_, monkeypatch):
    monkeypatch.setenv("BREAKGLASS_APPROVALS_REQUIRED", "2")
    locked_out(org)
    run = as_(
        "alice", "scp", "detach", "--target", org.account, "--reason", "nobody answers", "--yes", "--emergency-override"
    )
    assert run.exit_code == 0, run.stderr
    assert "EMERGENCY OVERRIDE" in run.stdout and "EMERGENCY OVERRIDE" in run.stderr
    assert org.scps(org.account) == {FULL_AWS_ACCESS}
    listed = as_("alice", "list", "--output", "json").json()
    assert listed[0]["override"] is True
    assert "active!OVERRIDE" in as_("alice", "list").stdout
    shown = as_("alice", "show", listed[0]["incident_id"])
    assert "EMERGENCY OVERRIDE" in shown.stdout and "override" in shown.stdout


def test_wait_times_out_without_change(org, as_, monkeypatch):
    monkeypatch.setenv("BREAKGLASS_APPROVALS_REQUIRED", "1")
    monkeypatch.setenv("BREAKGLASS_APPROVAL_WAIT_SECONDS", "0.2")
    before = locked_out(org)
    run = as_("alice", "scp", "detach", "--target", org.account, "--reason", "x", "--wait")
    assert run.exit_code == 4 and "no quorum" in run.stderr
    assert org.snapshot() == before


@pytest.mark.parametrize(
    ("setup", "fragment"), [("unknown", "no incident"), ("closed", "is closed"), ("active", "is active")]
)
def test_approve_bad_targets(org, as_, setup, fragment):
    locked_out(org)
    incident_id = "bg-20260101-000000-abcdef"
    if setup != "unknown":
        incident_id = request(as_, org)["incident_id"]
        if setup == "closed":
            as_("alice", "scp", "restore", incident_id)
    before = org.snapshot()
    run = as_("bob", "approve", incident_id)
    assert run.exit_code == 2 and fragment in run.stderr
    assert org.snapshot() == before


# --- notifications -----------------------------------------------------------------------------


def test_every_lifecycle_event_is_published(org, as_, topic, monkeypatch):
    monkeypatch.setenv("BREAKGLASS_APPROVALS_REQUIRED", "1")
    locked_out(org)
    asked = request(as_, org, "alice", "--ticket", "INC-77")
    as_("bob", "approve", asked["incident_id"])
    as_("alice", "activate", asked["incident_id"])
    as_("alice", "scp", "restore", asked["incident_id"])
    sent = topic()
    events = [m["event"] for _, m in sent]
    assert events == ["requested", "approval-recorded", "approved", "activated", "closing", "closed"]
    recorded, approved = sent[1][1], sent[2][1]
    assert recorded["detail"] == "by bob (1/1)" and recorded["status"] == "approved"
    assert approved["detail"] == "quorum met" and sent[2][0].startswith("[breakglass] approved:")
    first_subject, first = sent[0]
    assert first_subject.startswith(f"[breakglass] requested: {asked['incident_id']} scp {org.account}")
    assert first["who"] == "alice" and first["reason"] == "INC-1" and first["ticket"] == "INC-77"
    assert first["targets"] == [org.account] and first["expires_at"] and first["override"] is False


def test_override_is_notified(org, as_, topic, monkeypatch):
    monkeypatch.setenv("BREAKGLASS_APPROVALS_REQUIRED", "1")
    locked_out(org)
    as_("alice", "scp", "detach", "--target", org.account, "--reason", "x", "--yes", "--emergency-override")
    sent = topic()
    assert [m["event"] for _, m in sent] == ["override-used", "activated"]
    assert all(m["override"] for _, m in sent) and "OVERRIDE" in sent[0][0]


def test_failing_topic_never_blocks(org, cli, monkeypatch):
    monkeypatch.setenv("BREAKGLASS_SNS_TOPIC_ARN", "arn:aws:sns:us-east-1:123456789012:deleted-topic")
    before = locked_out(org)
    opened = cli("scp", "detach", "--target", org.account, "--reason", "x", "--yes", "--output", "json")
    assert opened.exit_code == 0
    assert "warning: notification 'activated' failed" in opened.stderr
    restored = cli("scp", "restore", opened.json()["incident_id"])
    assert restored.exit_code == 0 and org.snapshot() == before
    journal = cli("show", opened.json()["incident_id"], "--output", "json").json()["journal"]
    assert {e["data"]["event"] for e in journal if e["kind"] == "notify-failed"} == {"activated", "closing", "closed"}
