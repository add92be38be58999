"""Every kind of break-glass use is found by `watch` in every region it can be recorded in, the
declared patterns match the same events in EventBridge (moto's matcher) as `watch` does, and the
tool's own changes inside an incident are not findings."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import boto3
import pytest

from breakglass_aws.watch.coverage import COVERAGE, Names, concerns, pattern, patterns
from breakglass_aws.watch.match import lookups
from tests.conftest import ACCOUNT
from tests.support.rotation import make_user
from tests.support.watch import SAMPLES, TOPIC_NAME, USER, as_eventbridge, record, sample

NAMES = Names(role_name="BreakGlassAdmin", user_names=(USER,), secret_prefix="breakglass/", topic_name=TOPIC_NAME)
REGIONAL = sorted(k.kind for k in COVERAGE if k.regional)
GLOBAL = sorted(k.kind for k in COVERAGE if not k.regional)
# Never explained by an SCP incident: root use (only a root-task incident explains its AssumeRoot)
# and blinding the alarm.
ALWAYS = {"assume-root", "root-console-login", "trail-changed", "alert-rule-changed", "alert-target-removed"}
ALWAYS |= {"topic-unsubscribed"}


def test_every_kind_the_issue_names_is_declared():
    declared = {name for k in COVERAGE for name in k.event_names}
    named = {
        "AssumeRole", "AssumeRoot", "ConsoleLogin", "CreateAccessKey", "CreateLoginProfile", "UpdateLoginProfile",
        "DeactivateMFADevice", "DeleteVirtualMFADevice", "UpdateAssumeRolePolicy", "PutRolePolicy",
        "AttachRolePolicy", "DeleteRolePolicy", "GetSecretValue", "StopLogging", "DeleteTrail", "UpdateTrail",
        "PutEventSelectors", "DisableRule", "DeleteRule", "RemoveTargets", "Unsubscribe", "AttachPolicy",
        "DetachPolicy", "UpdatePolicy",
    }  # fmt: skip
    assert named <= declared
    assert set(SAMPLES) == {k.kind for k in COVERAGE}


def test_global_events_are_read_in_us_east_1_only():
    read = dict(lookups(["eu-west-1"]))
    assert set(read) == {"us-east-1", "eu-west-1"}
    assert {"CreateAccessKey", "AttachPolicy", "AssumeRole", "GetSecretValue"} <= set(read["us-east-1"])
    assert "CreateAccessKey" not in read["eu-west-1"] and "AttachPolicy" not in read["eu-west-1"]
    assert {"AssumeRole", "AssumeRoot", "ConsoleLogin", "StopLogging", "Unsubscribe"} <= set(read["eu-west-1"])


class Bus:
    """One EventBridge rule per pattern on moto's default bus, delivering to an SQS queue: whether a
    rule delivers an event is what EventBridge (moto's matcher) decides, not our code."""

    def __init__(self) -> None:
        self.events = boto3.client("events", region_name="us-east-1")
        self.sqs = boto3.client("sqs", region_name="us-east-1")
        self.count = 0

    def delivers(self, rendered: dict, kind: str, full: dict) -> bool:
        self.count += 1
        queue = self.sqs.create_queue(QueueName=f"rule-{self.count}")["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        name = f"probe-{self.count}"
        self.events.put_rule(Name=name, EventPattern=json.dumps(rendered))
        self.events.put_targets(Rule=name, Targets=[{"Id": "q", "Arn": arn}])
        sent = as_eventbridge(kind, full)
        entry = {"Source": sent["source"], "DetailType": sent["detail-type"], "Detail": json.dumps(full)}
        assert self.events.put_events(Entries=[entry])["FailedEntryCount"] == 0
        got = self.sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
        self.events.remove_targets(Rule=name, Ids=["q"])
        self.events.delete_rule(Name=name)
        return bool(got)


@pytest.mark.parametrize("kind", sorted(SAMPLES))
def test_patterns_and_watch_agree_in_eventbridge(aws, kind):
    """An EventBridge rule with the declared pattern delivers the event about the glass and not the
    same event about something else, and `watch`'s `concerns` says the same of both."""
    bus, spec = Bus(), next(k for k in COVERAGE if k.kind == kind)
    _name, ours, theirs = SAMPLES[kind]
    variants = [(ours, True)] + ([(theirs, False)] if theirs is not None else [])
    for params, expected in variants:
        full = record(kind, "eu-west-1", dict(params))
        assert bus.delivers(pattern(spec, NAMES), kind, full) is expected, (kind, params)
        assert concerns(spec, full, NAMES) is expected, (kind, params)


def test_console_logins_of_root_and_of_a_user_are_told_apart(aws):
    bus, both = Bus(), patterns(NAMES)
    root = record("root-console-login", "us-east-1", {})
    user = record("console-login", "us-east-1", {})
    for kind, full, other in (("root-console-login", root, user), ("console-login", user, root)):
        assert bus.delivers(both[kind]["pattern"], kind, full)
        assert not bus.delivers(both[kind]["pattern"], kind, other)


def test_the_vault_rule_sees_read_only_events():
    states = {kind: spec["state"] for kind, spec in patterns(NAMES).items()}
    assert states["secret-read"] == "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS"
    assert {s for k, s in states.items() if k != "secret-read"} == {"ENABLED"}


def test_a_secret_read_by_its_arn_is_the_vault_opened(aws):
    arn = f"arn:aws:secretsmanager:eu-west-1:{ACCOUNT}:secret:breakglass/{USER}-AbCdEf"
    full = record("secret-read", "eu-west-1", {"secretId": arn})
    spec = next(k for k in COVERAGE if k.kind == "secret-read")
    assert Bus().delivers(pattern(spec, NAMES), "secret-read", full)
    assert concerns(spec, full, NAMES)


@pytest.fixture
def watched(aws, iam, topic, seeded_cloudtrail, monkeypatch):
    monkeypatch.setenv("BREAKGLASS_ROTATE_USERS", USER)
    monkeypatch.setenv("BREAKGLASS_ALERT_REGIONS", "eu-west-1")
    return seeded_cloudtrail


def _seed_all(seeded, when=None, concerning=True):
    for region in ("us-east-1", "eu-west-1"):
        kinds = REGIONAL + (GLOBAL if region == "us-east-1" else [])
        seeded[region] = [
            sample(k, region, when=when, concerning=concerning) for k in kinds if concerning or SAMPLES[k][2]
        ]


def test_watch_finds_every_kind_in_every_region(watched, cli):
    _seed_all(watched)
    run = cli("watch", "--output", "json")
    assert run.exit_code == 4, run.stderr
    body = run.json()
    assert body["regions"] == ["eu-west-1", "us-east-1"]
    found = {(f["kind"], f["region"]) for f in body["findings"]}
    expected = {(k, "us-east-1") for k in REGIONAL + GLOBAL} | {(k, "eu-west-1") for k in REGIONAL}
    assert found == expected
    for finding in body["findings"]:
        assert finding["account"] == ACCOUNT
        assert finding["who"].startswith(f"arn:aws:iam::{ACCOUNT}:")
    text = cli("watch")
    assert text.exit_code == 4 and f"{len(expected)} out-of-band finding(s)" in text.stderr
    assert "StopLogging" in text.stdout and "eu-west-1" in text.stdout


def test_the_same_events_about_something_else_are_not_findings(watched, cli):
    _seed_all(watched, concerning=False)
    run = cli("watch", "--output", "json")
    assert run.exit_code == 0, run.json()["findings"]


def test_a_region_not_configured_is_not_read(watched, cli, monkeypatch):
    monkeypatch.delenv("BREAKGLASS_ALERT_REGIONS")
    watched["eu-west-1"] = [sample("assume-role", "eu-west-1")]
    run = cli("watch", "--output", "json")
    assert run.exit_code == 0 and run.json()["regions"] == ["us-east-1"]


def test_the_old_setting_name_still_selects_the_regions(watched, cli, monkeypatch):
    monkeypatch.delenv("BREAKGLASS_ALERT_REGIONS")
    monkeypatch.setenv("BREAKGLASS_WATCH_REGIONS", "eu-west-1")
    watched["eu-west-1"] = [sample("assume-role", "eu-west-1")]
    run = cli("watch", "--output", "json")
    assert [f["region"] for f in run.json()["findings"]] == ["eu-west-1"]


def test_a_rotation_and_a_revocation_inside_their_incidents_are_not_findings(watched, cli):
    sm = boto3.client("secretsmanager", region_name="us-east-1")
    make_user(boto3.client("iam", region_name="us-east-1"), sm, keys=1)
    rotated = cli("rotate", "--user", USER, "--output", "json")
    assert rotated.exit_code == 0, rotated.stderr
    opened = cli("role", "assume", "--account", ACCOUNT, "--reason", "IdP down", "--format", "json")
    assert opened.exit_code == 0, opened.stderr
    assert cli("close", opened.json()["incident_id"], "--yes", "--skip-rotation").exit_code == 0
    now = datetime.now(UTC)
    revoke = {"roleName": "BreakGlassAdmin", "policyName": "AWSRevokeOlderSessions", "policyDocument": "{}"}
    inside = [
        sample("user-credentials", "us-east-1", when=now, event_id="rotation-create"),
        sample(
            "user-credentials",
            "us-east-1",
            when=now,
            event_id="rotation-deactivate",
            event_name="UpdateAccessKey",
        ),
        sample("secret-read", "us-east-1", when=now, event_id="rotation-read"),
        _with_params(sample("role-changed", "us-east-1", when=now, event_id="revoke"), "PutRolePolicy", revoke),
    ]
    # Inside the same windows, but not what the tool does: still findings.
    widened = {"roleName": "BreakGlassAdmin", "policyName": "widen", "policyDocument": "{}"}
    outside = [
        _with_params(sample("role-changed", "us-east-1", when=now, event_id="widen"), "PutRolePolicy", widened),
        sample("user-mfa-deleted", "us-east-1", when=now, event_id="mfa-deleted"),
        sample("trail-changed", "us-east-1", when=now, event_id="trail-stopped"),
        sample("user-credentials", "us-east-1", when=now - timedelta(hours=6), event_id="key-before"),
    ]
    watched["us-east-1"] = inside + outside
    run = cli("watch", "--output", "json")
    assert {f["event_id"] for f in run.json()["findings"]} == {"widen", "mfa-deleted", "trail-stopped", "key-before"}


def _with_params(event: dict, name: str, params: dict) -> dict:
    full = json.loads(event["CloudTrailEvent"])
    full.update(eventName=name, requestParameters=params)
    return {**event, "EventName": name, "CloudTrailEvent": json.dumps(full)}


def test_inside_an_incident_only_the_root_and_tamper_kinds_remain(watched, cli, org):
    policy = org.new_policy("Deny")
    org.attach(policy, org.account)
    opened = cli("scp", "detach", "--target", org.account, "--reason", "lockout", "--yes", "--output", "json")
    assert opened.exit_code == 0, opened.stderr
    now = datetime.now(UTC)
    events = [sample(k, "us-east-1", when=now) for k in ("secret-read", *sorted(ALWAYS))]
    detach = sample("scp-change", "us-east-1", when=now, event_id="our-detach")
    events.append(_with_params(detach, "DetachPolicy", {"policyId": policy, "targetId": org.account}))
    watched["us-east-1"] = events
    run = cli("watch", "--output", "json")
    assert {f["kind"] for f in run.json()["findings"]} == ALWAYS
