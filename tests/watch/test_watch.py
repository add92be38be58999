"""`watch`: seeded CloudTrail events with and without a matching incident; alerts once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import ACCOUNT, ROLE
from tests.support.watch import ct


@pytest.fixture
def scene(org, iam, cli, seeded_cloudtrail, monkeypatch):
    monkeypatch.setenv("BREAKGLASS_ROTATE_USERS", '["breakglass-1"]')
    policy = org.new_policy("Deny")
    org.attach(policy, org.account)
    scp = cli("scp", "detach", "--target", org.account, "--reason", "x", "--yes", "--output", "json").json()
    role = cli("role", "assume", "--account", ACCOUNT, "--reason", "y", "--format", "json").json()
    shown = cli("show", role["incident_id"], "--output", "json").json()["role"]
    ours = {"roleArn": ROLE, "roleSessionName": shown["session_name"], "sourceIdentity": shown["source_identity"]}
    seeded_cloudtrail["us-east-1"] = [
        ct("ok-assume", "AssumeRole", ours),
        ct("bad-assume", "AssumeRole", {"roleArn": ROLE, "roleSessionName": "manual"}, "mallory"),
        ct("other-role", "AssumeRole", {"roleArn": f"arn:aws:iam::{ACCOUNT}:role/ReadOnly", "roleSessionName": "x"}),
        ct("bad-login", "ConsoleLogin", {}, "breakglass-1"),
        ct("other-login", "ConsoleLogin", {}, "alice"),
        ct("ok-detach", "DetachPolicy", {"policyId": policy, "targetId": org.account}),
        ct("bad-detach", "DetachPolicy", {"policyId": policy, "targetId": org.ou}, "mallory"),
        ct("bad-update", "UpdatePolicy", {"policyId": policy}, "mallory"),
        ct(
            "old-detach",
            "DetachPolicy",
            {"policyId": policy, "targetId": org.ou},
            "mallory",
            datetime.now(UTC) - timedelta(days=3),
        ),
    ]
    return scp, role


def test_only_unmatched_events_are_findings(scene, cli):
    run = cli("watch", "--since", "24h", "--output", "json")
    assert run.exit_code == 4
    found = {f["event_id"]: f["kind"] for f in run.json()["findings"]}
    assert found == {
        "bad-assume": "assume-role",
        "bad-login": "console-login",
        "bad-detach": "scp-change",
        "bad-update": "scp-change",
    }
    text = cli("watch")
    assert text.exit_code == 4 and "4 out-of-band finding(s)" in text.stderr
    assert "mallory" in text.stdout


def test_longer_period_finds_older_events(scene, cli):
    run = cli("watch", "--since", "4d", "--output", "json")
    assert "old-detach" in {f["event_id"] for f in run.json()["findings"]}


def test_alert_once(scene, cli, topic):
    first = cli("watch", "--alert", "--output", "json")
    assert first.exit_code == 4 and first.json()["alerted"] == 4
    second = cli("watch", "--alert", "--output", "json")
    assert second.json()["alerted"] == 0
    sent = [m for _, m in topic() if m["event"] == "out-of-band"]
    assert sorted(m["event_id"] for m in sent) == ["bad-assume", "bad-detach", "bad-login", "bad-update"]


def test_nothing_found_exits_0(aws, cli, seeded_cloudtrail):
    run = cli("watch")
    assert run.exit_code == 0 and "no out-of-band use" in run.stdout


@pytest.mark.parametrize(
    ("argv", "code", "fragment"),
    [
        (["watch", "--since", "100d"], 2, "at most 90 days"),
        (["watch", "--since", "soon"], 2, "invalid --since"),
        (["watch", "--alert"], 5, "needs a topic"),
    ],
)
def test_watch_bad_input(aws, cli, argv, code, fragment):
    run = cli(*argv)
    assert run.exit_code == code and fragment in run.stderr
