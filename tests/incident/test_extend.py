"""`extend`: an active incident's expiry moves (within max_ttl), journaled, notified and with its
dead-man schedule; with approvals configured it waits for someone else (or the override)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import CallCounter
from tests.support.deadman import scheduler  # noqa: F401 - fixture


def when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def opened(org, cli, *extra: str) -> str:
    org.attach(org.new_policy("DenyAll"), org.account)
    run = cli("scp", "detach", "--target", org.account, "--reason", "lockout", "--yes", "--output", "json", *extra)
    assert run.exit_code == 0, run.stderr
    return run.json()["incident_id"]


def shown(cli, incident_id: str) -> dict:
    return cli("show", incident_id, "--output", "json").json()


def kinds(record: dict) -> list[str]:
    return [e["kind"] for e in record["journal"]]


def test_the_expiry_moves_and_the_move_is_journaled_and_notified(org, cli, topic):
    incident = opened(org, cli, "--ttl", "1h")
    run = cli("extend", incident, "--ttl", "3h", "--reason", "rollback takes longer", "--output", "json")
    assert run.exit_code == 0, run.stderr
    record = shown(cli, incident)
    moved = when(record["expires_at"]) - datetime.now(UTC)
    assert timedelta(hours=2, minutes=58) < moved <= timedelta(hours=3)
    (entry,) = [e["data"] for e in record["journal"] if e["kind"] == "extended"]
    assert entry["reason"] == "rollback takes longer" and entry["to"] == record["expires_at"]
    assert when(entry["to"]) - when(entry["from"]) > timedelta(hours=1, minutes=58)
    sent = [m for _, m in topic() if m.get("event") == "extended"]
    assert len(sent) == 1 and sent[0]["incident_id"] == incident
    text = cli("extend", incident, "--ttl", "4h", "--reason", "again")
    assert text.exit_code == 0 and f"{incident}: expiry moved from" in text.stdout


def test_the_dead_man_schedule_moves_with_it(org, cli, scheduler):  # noqa: F811
    incident = opened(org, cli, "--ttl", "1h")
    name = f"breakglass-restore-{incident}"
    assert cli("extend", incident, "--ttl", "5h", "--reason", "longer").exit_code == 0
    expires = when(shown(cli, incident)["expires_at"])
    schedule = scheduler.get_schedule(Name=name, GroupName="breakglass")
    assert schedule["ScheduleExpression"] == f"at({expires:%Y-%m-%dT%H:%M:%S})"


def test_restore_expired_goes_by_the_new_expiry(org, cli):
    incident = opened(org, cli, "--ttl", "1h")
    (policy,) = org.policies
    assert cli("extend", incident, "--ttl", "4h", "--reason", "longer").exit_code == 0
    after_old_expiry = datetime.now(UTC) + timedelta(hours=2)
    assert cli("restore", "--expired", clock=lambda: after_old_expiry).exit_code == 0
    assert shown(cli, incident)["status"] == "active"
    after_new_expiry = datetime.now(UTC) + timedelta(hours=5)
    assert cli("restore", "--expired", clock=lambda: after_new_expiry).exit_code == 0
    assert shown(cli, incident)["status"] == "closed"
    assert policy in org.scps(org.account)


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--ttl", "48h", "--reason", "x"], "above the configured maximum"),
        (["--ttl", "10m", "--reason", "x"], "already expires at"),
        (["--ttl", "soon", "--reason", "x"], "invalid --ttl"),
        (["--ttl", "2h", "--reason", ""], "reason"),
    ],
)
def test_refused_extensions_change_nothing(org, cli, args, fragment):
    incident = opened(org, cli, "--ttl", "1h")
    before = shown(cli, incident)
    run = cli("extend", incident, *args)
    assert run.exit_code == 2, run.stdout
    assert fragment in run.stderr and "Traceback" not in run.stderr
    assert shown(cli, incident) == before


def test_a_bad_id_is_refused_before_any_call(aws, cli):
    calls = CallCounter()
    run = cli("extend", "bg-nope", "--ttl", "2h", "--reason", "x", hooks=[("before-call", calls)])
    assert run.exit_code == 2 and "invalid incident id" in run.stderr
    assert calls.calls == []


def test_a_closed_incident_is_not_extended(org, cli):
    incident = opened(org, cli)
    assert cli("scp", "restore", incident).exit_code == 0
    run = cli("extend", incident, "--ttl", "2h", "--reason", "x")
    assert run.exit_code == 2 and "only an active incident can be extended" in run.stderr


def test_with_approvals_it_waits_for_someone_else(org, as_, monkeypatch, topic):
    org.attach(org.new_policy("DenyAll"), org.account)
    detach = ("scp", "detach", "--target", org.account, "--reason", "x", "--yes", "--ttl", "1h", "--output", "json")
    incident = as_("bob", *detach, "--emergency-override").json()["incident_id"]
    monkeypatch.setenv("BREAKGLASS_APPROVALS_REQUIRED", "1")
    expires = as_("bob", "show", incident, "--output", "json").json()["expires_at"]
    asked = as_("bob", "extend", incident, "--ttl", "3h", "--reason", "longer", "--output", "json")
    assert asked.exit_code == 0, asked.stderr
    assert asked.json()["extended"] is False and asked.json()["expires_at"] == expires
    own = as_("bob", "approve", incident)
    assert own.exit_code == 4 and "never approve their own extension" in own.stderr
    approved = as_("carol", "approve", incident, "--comment", "ok", "--output", "json")
    assert approved.exit_code == 0, approved.stderr
    record = as_("bob", "show", incident, "--output", "json").json()
    assert when(record["expires_at"]) - datetime.now(UTC) > timedelta(hours=2, minutes=58)
    assert record["extension"] is None
    moves = [k for k in kinds(record) if k.startswith("extension") or k == "extended"]
    assert moves == ["extension-requested", "extension-approved", "extended"]
    events = [m["event"] for _, m in topic() if m.get("incident_id") == incident]
    assert {"extension-requested", "extension-approval-recorded", "extended"} <= set(events)


def test_a_denied_extension_leaves_the_expiry(org, as_, monkeypatch):
    org.attach(org.new_policy("DenyAll"), org.account)
    detach = ("scp", "detach", "--target", org.account, "--reason", "x", "--yes", "--ttl", "1h", "--output", "json")
    incident = as_("bob", *detach, "--emergency-override").json()["incident_id"]
    monkeypatch.setenv("BREAKGLASS_APPROVALS_REQUIRED", "1")
    expires = as_("bob", "show", incident, "--output", "json").json()["expires_at"]
    assert as_("bob", "extend", incident, "--ttl", "3h", "--reason", "longer").exit_code == 0
    denied = as_("carol", "deny", incident, "--comment", "no")
    assert denied.exit_code == 0 and "extension denied" in denied.stdout
    record = as_("bob", "show", incident, "--output", "json").json()
    assert record["expires_at"] == expires and record["extension"] is None and record["status"] == "active"
    assert "extension-denied" in kinds(record)
    assert as_("carol", "approve", incident).exit_code == 2, "nothing left to approve"


def test_the_override_extends_without_approvals_and_says_so(org, as_, monkeypatch, topic):
    org.attach(org.new_policy("DenyAll"), org.account)
    detach = ("scp", "detach", "--target", org.account, "--reason", "x", "--yes", "--ttl", "1h", "--output", "json")
    incident = as_("bob", *detach, "--emergency-override").json()["incident_id"]
    monkeypatch.setenv("BREAKGLASS_APPROVALS_REQUIRED", "2")
    run = as_("bob", "extend", incident, "--ttl", "3h", "--reason", "nobody reachable", "--emergency-override")
    assert run.exit_code == 0, run.stderr
    assert "EMERGENCY OVERRIDE" in run.stderr
    record = as_("bob", "show", incident, "--output", "json").json()
    assert when(record["expires_at"]) - datetime.now(UTC) > timedelta(hours=2, minutes=58)
    (entry,) = [e["data"] for e in record["journal"] if e["kind"] == "extended"]
    assert entry["override"] is True
    events = [m["event"] for _, m in topic() if m.get("incident_id") == incident]
    assert "override-used" in events and "extended" in events


def test_a_role_incident_is_extended_too(iam, cli):
    from tests.conftest import ACCOUNT

    opened_role = cli("role", "assume", "--account", ACCOUNT, "--reason", "IdP down", "--format", "json")
    assert opened_role.exit_code == 0, opened_role.stderr
    incident = opened_role.json()["incident_id"]
    assert cli("extend", incident, "--ttl", "6h", "--reason", "still down").exit_code == 0
    assert when(shown(cli, incident)["expires_at"]) - datetime.now(UTC) > timedelta(hours=5, minutes=58)
