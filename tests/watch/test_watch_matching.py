"""`watch` explains an event by an incident only inside the incident's window, with its
SourceIdentity and the access keys it was issued; everything else is a finding."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from tests.conftest import ACCOUNT, ROLE


def event(event_id, name, when, params, caller_key=None, issued_key=None, who="mallory"):
    record = {
        "eventName": name,
        "requestParameters": params,
        "userIdentity": {"arn": f"arn:aws:iam::{ACCOUNT}:user/{who}", "userName": who, "accessKeyId": caller_key},
    }
    if issued_key:
        record["responseElements"] = {"credentials": {"accessKeyId": issued_key}}
    return {
        "EventId": event_id,
        "EventName": name,
        "EventTime": when.isoformat(),
        "Username": who,
        "CloudTrailEvent": json.dumps(record),
    }


@pytest.fixture
def assumed(iam, cli, seeded_cloudtrail):
    opened = cli("role", "assume", "--account", ACCOUNT, "--reason", "IdP down", "--format", "json")
    assert opened.exit_code == 0, opened.stderr
    shown = cli("show", opened.json()["incident_id"], "--output", "json").json()
    role = shown["role"]
    return {
        "id": shown["incident_id"],
        "created": datetime.fromisoformat(shown["created_at"].replace("Z", "+00:00")),
        "session": role["session_name"],
        "source_identity": role["source_identity"],
        "key": role["sessions"][0]["access_key_id"],
    }


def findings(cli, seeded_cloudtrail, events, clock=None):
    seeded_cloudtrail["us-east-1"] = events
    run = cli("watch", "--since", "24h", "--output", "json", clock=clock)
    return run.exit_code, {f["event_id"] for f in run.json()["findings"]}


def assume_params(inc, **changes):
    params = {"roleArn": ROLE, "roleSessionName": inc["session"], "sourceIdentity": inc["source_identity"]}
    return {**params, **changes}


def test_the_tools_own_assume_role_matches(assumed, cli, seeded_cloudtrail):
    inc = assumed
    ok = event("ok", "AssumeRole", inc["created"], assume_params(inc), issued_key=inc["key"], who="oncall")
    failed_try = event("failed-try", "AssumeRole", inc["created"], assume_params(inc), who="oncall")
    assert findings(cli, seeded_cloudtrail, [ok, failed_try]) == (0, set())


def test_same_session_name_outside_the_window_is_a_finding(assumed, cli, seeded_cloudtrail):
    inc = assumed
    early = event(
        "early", "AssumeRole", inc["created"] - timedelta(hours=3), assume_params(inc), issued_key="ASIAOTHER"
    )
    no_key = event("early-bare", "AssumeRole", inc["created"] - timedelta(hours=3), assume_params(inc))
    late = event("late", "AssumeRole", inc["created"] + timedelta(hours=2), assume_params(inc))
    later = inc["created"] + timedelta(hours=3)
    found = findings(cli, seeded_cloudtrail, [early, no_key, late], clock=lambda: later)
    assert found == (4, {"early", "early-bare", "late"})


def test_wrong_or_missing_source_identity_is_a_finding(assumed, cli, seeded_cloudtrail):
    inc = assumed
    wrong = event("wrong-si", "AssumeRole", inc["created"], assume_params(inc, sourceIdentity="mallory"))
    params = assume_params(inc)
    del params["sourceIdentity"]
    missing = event("no-si", "AssumeRole", inc["created"], params)
    assert findings(cli, seeded_cloudtrail, [wrong, missing]) == (4, {"wrong-si", "no-si"})


def test_a_key_the_incident_was_not_issued_is_a_finding(assumed, cli, seeded_cloudtrail):
    inc = assumed
    other = event("other-key", "AssumeRole", inc["created"], assume_params(inc), issued_key="ASIAEXTRA0000000000")
    assert findings(cli, seeded_cloudtrail, [other]) == (4, {"other-key"})


def test_calls_made_with_the_issued_credentials_match(assumed, cli, seeded_cloudtrail):
    inc = assumed
    chained = {"roleArn": ROLE, "roleSessionName": "chained"}
    mine = event("with-issued", "AssumeRole", inc["created"], chained, caller_key=inc["key"])
    theirs = event("with-other", "AssumeRole", inc["created"], chained, caller_key="ASIAUNKNOWN000000000")
    after = event("issued-expired", "AssumeRole", inc["created"] + timedelta(hours=3), chained, caller_key=inc["key"])
    later = inc["created"] + timedelta(hours=4)
    found = findings(cli, seeded_cloudtrail, [mine, theirs, after], clock=lambda: later)
    assert found == (4, {"with-other", "issued-expired"})


def test_scp_changes_match_only_the_incidents_target_and_window(org, cli, seeded_cloudtrail):
    policy = org.new_policy("Deny")
    org.attach(policy, org.account)
    opened = cli("scp", "detach", "--target", org.account, "--reason", "x", "--yes", "--output", "json").json()
    shown = cli("show", opened["incident_id"], "--output", "json").json()
    created = datetime.fromisoformat(shown["created_at"].replace("Z", "+00:00"))
    on_target = {"policyId": policy, "targetId": org.account}
    events = [
        event("in-window", "DetachPolicy", created, on_target),
        event("before", "DetachPolicy", created - timedelta(hours=3), on_target),
        event("other-target", "DetachPolicy", created, {"policyId": policy, "targetId": org.ou}),
        event("update", "UpdatePolicy", created, {"policyId": policy}),
    ]
    assert findings(cli, seeded_cloudtrail, events) == (4, {"before", "other-target", "update"})
    assert cli("scp", "restore", opened["incident_id"]).exit_code == 0
    later = datetime.now(created.tzinfo) + timedelta(hours=2)
    after = event("after-close", "AttachPolicy", later - timedelta(hours=1), on_target)
    assert findings(cli, seeded_cloudtrail, [after], clock=lambda: later) == (4, {"after-close"})
