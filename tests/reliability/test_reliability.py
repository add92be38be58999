"""The reliability suite across mutating commands not covered by the dedicated matrices: crashes
around revoke-sessions, approve and evidence upload, and a throttling storm over whole flows.
(Detach, restore, assume, rotate and close have their own matrices; see docs/reliability.md.)"""

from __future__ import annotations

import json
import random

import boto3
import pytest
from botocore.awsrequest import AWSResponse

from breakglass_aws.models import FULL_AWS_ACCESS
from tests.conftest import ACCOUNT
from tests.support.faults import _Raw
from tests.support.rotation import USER, keys, make_user, secret

pytestmark = pytest.mark.reliability


class Crash(BaseException):
    pass


def crash_on(operation):
    def hook(model=None, **_):
        if model.name == operation:
            raise Crash(operation)

    return hook


@pytest.mark.parametrize("event", ["before-call", "after-call"])
def test_revoke_sessions_crash_then_rerun(iam, cli, event):
    with pytest.raises(Crash):
        cli(
            "role",
            "revoke-sessions",
            "--account",
            ACCOUNT,
            "--before",
            "2026-01-01T00:00:00Z",
            hooks=[(event, crash_on("PutRolePolicy"))],
        )
    rerun = cli("role", "revoke-sessions", "--account", ACCOUNT, "--before", "2026-01-01T00:00:00Z")
    assert rerun.exit_code == 0, rerun.stderr
    document = iam.get_role_policy(RoleName="BreakGlassAdmin", PolicyName="AWSRevokeOlderSessions")["PolicyDocument"]
    document = json.loads(document) if isinstance(document, str) else document
    assert document["Statement"][0]["Condition"]["DateLessThan"]["aws:TokenIssueTime"] == "2026-01-01T00:00:00Z"
    for incident in cli("list", "--output", "json").json():
        assert cli("journal", "verify", incident["incident_id"]).exit_code == 0


@pytest.mark.parametrize("event", ["before-call", "after-call"])
def test_approve_crash_then_rerun(org, cli, monkeypatch, event):
    monkeypatch.setenv("BREAKGLASS_APPROVALS_REQUIRED", "1")
    org.attach(org.new_policy("Deny"), org.account)
    requested = cli("scp", "detach", "--target", org.account, "--reason", "x", "--output", "json").json()
    iam = boto3.client("iam", region_name="us-east-1")
    iam.create_user(UserName="bob")
    key = iam.create_access_key(UserName="bob")["AccessKey"]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key["AccessKeyId"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", key["SecretAccessKey"])
    with pytest.raises(Crash):
        cli("approve", requested["incident_id"], hooks=[(event, crash_on("GetCallerIdentity"))], fresh_session=True)
    rerun = cli("approve", requested["incident_id"], "--output", "json", fresh_session=True)
    assert rerun.exit_code == 0, rerun.stderr
    assert [a["name"] for a in rerun.json()["approvals"]] == ["oncall"]
    assert rerun.json()["status"] == "approved"
    assert cli("journal", "verify", requested["incident_id"]).exit_code == 0


@pytest.mark.parametrize("event", ["before-call", "after-call"])
@pytest.mark.parametrize("nth", [1, 3, 5])
def test_evidence_upload_crash_then_rerun(org, cli, seeded_cloudtrail, tmp_path, event, nth):
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="locked", ObjectLockEnabledForBucket=True)
    org.attach(org.new_policy("Deny"), org.account)
    opened = cli("scp", "detach", "--target", org.account, "--reason", "x", "--yes", "--output", "json").json()
    seen = [0]

    def hook(model=None, **_):
        if model.name == "PutObject":
            seen[0] += 1
            if seen[0] == nth:
                raise Crash

    args = (
        "evidence",
        "collect",
        opened["incident_id"],
        "--out",
        str(tmp_path / "b"),
        "--upload",
        "s3://locked/incidents",
        "--retain-days",
        "1",
    )
    with pytest.raises(Crash):
        cli(*args, hooks=[(event, hook)])
    rerun = cli(*args)
    assert rerun.exit_code == 0, rerun.stderr
    names = {o["Key"].rsplit("/", 1)[-1] for o in s3.list_objects_v2(Bucket="locked")["Contents"]}
    assert names == {"incident.json", "journal.jsonl", "cloudtrail-events.jsonl", "summary.json", "manifest.json"}
    head = s3.head_object(Bucket="locked", Key=f"incidents/{opened['incident_id']}/manifest.json")
    assert head["ObjectLockMode"] == "GOVERNANCE"
    assert cli("journal", "verify", opened["incident_id"]).exit_code == 0


def half_throttled():
    """Half of all requests, of every service, are answered with throttling (a seeded coin)."""
    coin = random.Random(20261129)

    def hook(request=None, **_):
        if coin.random() < 0.5:
            return None
        target = str(request.headers.get("X-Amz-Target", b"") or b"")
        if target and target != "b''":
            body = json.dumps({"__type": "ThrottlingException", "message": "Rate exceeded"}).encode()
        else:
            body = (
                b"<ErrorResponse><Error><Code>Throttling</Code><Message>Rate exceeded</Message></Error></ErrorResponse>"
            )
        return AWSResponse("https://injected", 400, {}, _Raw(body))

    return ("before-send", hook)


def test_throttling_storm_over_whole_flows(org, iam, aws_clients, cli, monkeypatch):
    """Half of all calls throttled: every flow still ends in the right state (botocore retries).
    Throttled answers come before moto sees the request, so nothing is applied twice."""
    monkeypatch.setenv("BREAKGLASS_MAX_ATTEMPTS", "10")
    monkeypatch.setenv("BREAKGLASS_CONTROL_PLANE_ATTEMPTS", "10")
    policy = org.new_policy("Deny")
    org.attach(policy, org.account)
    org.detach(FULL_AWS_ACCESS, org.account)
    before = org.snapshot()
    make_user(*aws_clients, keys=1, login=True)
    storm = [half_throttled()]
    opened = cli("scp", "detach", "--target", org.account, "--reason", "x", "--yes", "--output", "json", hooks=storm)
    assert opened.exit_code == 0, opened.stderr
    assert org.scps(org.account) == {FULL_AWS_ACCESS}
    role = cli("role", "assume", "--account", ACCOUNT, "--reason", "x", "--format", "json", hooks=storm)
    assert role.exit_code == 0, role.stderr
    closed = cli("close", opened.json()["incident_id"], "--yes", "--user", USER, hooks=storm)
    assert closed.exit_code == 0, closed.stderr
    assert org.snapshot() == before
    iam_client, sm = aws_clients
    assert keys(iam_client) == {secret(sm)["access_key_id"]: "Active"}
    revoked = cli("close", role.json()["incident_id"], "--yes", "--skip-rotation", hooks=storm)
    assert revoked.exit_code == 0, revoked.stderr
    for incident in cli("list", "--output", "json").json():
        assert incident["status"] == "closed"
        assert cli("journal", "verify", incident["incident_id"]).exit_code == 0
