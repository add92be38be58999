"""Evidence: collection through the EvidenceSource interface and the real CloudTrail client,
bundle verification, Object Lock upload, and no secret in a bundle."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import pytest

from breakglass_aws.evidence.source import RateLimiter
from breakglass_aws.incident.evidence import EvidenceOptions, collect_evidence
from tests.support.evidence import FILES, FakeSource, event, open_role_incident, read_events
from tests.support.faults import _Raw


def test_collect_dedupes_pages_and_covers_regions(iam, cli, make_runtime, tmp_path):
    creds = open_role_incident(cli)
    session = f"breakglass-{creds['incident_id']}"
    both = event(1, "RunInstances", session, key=creds["AccessKeyId"], region_source="ec2.amazonaws.com")
    regional = [event(100 + n, "PutObject", session, key=creds["AccessKeyId"]) for n in range(120)]
    source = FakeSource(
        {
            "us-east-1": [both, event(2, "GetRole", session, region_source="iam.amazonaws.com")],
            "eu-west-1": [both, *regional],
        }
    )
    rt = make_runtime()
    result = collect_evidence(rt, creds["incident_id"], tmp_path / "bundle", EvidenceOptions(), source=source)
    events = read_events(result.folder)
    ids = [e["EventId"] for e in events]
    assert len(ids) == len(set(ids)) == 1 + 1 + 120
    assert {e["region"] for e in events} == {"us-east-1", "eu-west-1"}
    assert ("eu-west-1", ("Username", session)) in source.requests
    assert ("eu-west-1", ("AccessKeyId", creds["AccessKeyId"])) in source.requests
    assert source.requests.count(("eu-west-1", ("Username", session))) == 3, "120 events: three pages"
    summary = json.loads((Path(result.folder) / "summary.json").read_text())
    assert summary["break_glass_session"]["events"] == 122
    assert summary["by_operation"]["PutObject"] == 120
    assert summary["who"]["arn"].endswith(":user/moto") and summary["why"]["reason"] == "IdP down"
    assert result.final is False and "collect again after" in " ".join(
        __import__("breakglass_aws.cli.common.views", fromlist=["collect_text"]).collect_text(result)
    )


def test_window_edges_and_final(org, cli, make_runtime, tmp_path):
    p = org.new_policy("Deny")
    org.attach(p, org.account)
    opened = cli("scp", "detach", "--target", org.account, "--reason", "x", "--yes", "--output", "json").json()
    closed_at = datetime.now(UTC) + timedelta(minutes=1)
    cli("close", opened["incident_id"], "--yes", clock=lambda: closed_at)
    rt = make_runtime()
    incident = rt.store.get_incident(opened["incident_id"])
    start, end = incident.created_at - timedelta(minutes=5), incident.closed_at + timedelta(minutes=15)
    seeded = [
        event(1, "DetachPolicy", "oncall", start - timedelta(seconds=1), params={"policyId": p}),
        event(2, "DetachPolicy", "oncall", start, params={"policyId": p, "targetId": org.account}),
        event(3, "AttachPolicy", "oncall", end, params={"policyId": p, "targetId": org.account}),
        event(4, "AttachPolicy", "oncall", end + timedelta(seconds=1), params={"policyId": p}),
    ]
    later = make_runtime(clock=lambda: end + timedelta(minutes=1))
    result = collect_evidence(
        later, opened["incident_id"], tmp_path / "b", EvidenceOptions(), source=FakeSource({"us-east-1": seeded})
    )
    assert sorted(e["EventId"] for e in read_events(result.folder)) == ["evt-000002", "evt-000003"]
    assert result.final is True
    summary = json.loads((Path(result.folder) / "summary.json").read_text())
    assert {(c["event"], c["target"]) for c in summary["scp_changes"]} == {
        ("DetachPolicy", org.account),
        ("AttachPolicy", org.account),
    }


def test_real_client_through_moto_with_throttling(iam, cli, seeded_cloudtrail, tmp_path, monkeypatch):
    monkeypatch.setenv("BREAKGLASS_MAX_ATTEMPTS", "4")
    creds = open_role_incident(cli, region="us-east-1")
    session = f"breakglass-{creds['incident_id']}"
    seeded_cloudtrail["us-east-1"] = [event(n, "PutObject", session) for n in range(230)]
    throttled = [0]

    def throttle(request=None, **_):
        if throttled[0] < 3 and b"LookupEvents" in request.headers.get("X-Amz-Target", b""):
            throttled[0] += 1
            from botocore.awsrequest import AWSResponse

            body = json.dumps({"__type": "ThrottlingException", "message": "Rate exceeded"}).encode()
            return AWSResponse("https://injected", 400, {}, _Raw(body))
        return None

    run = cli(
        "evidence",
        "collect",
        creds["incident_id"],
        "--out",
        str(tmp_path / "b"),
        "--output",
        "json",
        hooks=[("before-send.cloudtrail", throttle)],
    )
    assert run.exit_code == 0, run.stderr
    assert throttled[0] == 3
    assert run.json()["event_count"] == 230
    assert len(read_events(tmp_path / "b")) == 230
    assert cli("evidence", "verify", str(tmp_path / "b")).exit_code == 0


def test_rate_limiter_spaces_requests():
    now = [0.0]
    slept = []

    def sleep(seconds):
        slept.append(seconds)
        now[0] += seconds

    limiter = RateLimiter(2.0, clock=lambda: now[0], sleep=sleep)
    stamps = []
    for _ in range(5):
        limiter.wait()
        stamps.append(now[0])
    assert stamps == pytest.approx([0.0, 0.51, 1.02, 1.53, 2.04])


@pytest.fixture
def bundle(iam, cli, make_runtime, tmp_path):
    creds = open_role_incident(cli)
    session = f"breakglass-{creds['incident_id']}"
    source = FakeSource({"eu-west-1": [event(n, "PutObject", session) for n in range(5)]})
    result = collect_evidence(
        make_runtime(), creds["incident_id"], tmp_path / "bundle", EvidenceOptions(), source=source
    )
    return Path(result.folder), creds


def test_verify_intact(bundle, cli):
    folder, _ = bundle
    assert sorted(p.name for p in folder.iterdir()) == sorted([*FILES, "manifest.json"])
    run = cli("evidence", "verify", str(folder))
    assert run.exit_code == 0 and "intact" in run.stdout


@pytest.mark.parametrize("name", FILES)
def test_verify_detects_a_changed_byte(bundle, cli, name):
    folder, _ = bundle
    data = bytearray((folder / name).read_bytes())
    data[len(data) // 2] ^= 0x01
    (folder / name).write_bytes(bytes(data))
    run = cli("evidence", "verify", str(folder), "--output", "json")
    assert run.exit_code == 4
    assert f"changed: {name}" in run.json()["problems"]
    assert run.json()["intact"] is False


def test_verify_detects_removed_added_and_reordered(bundle, cli):
    folder, _ = bundle
    (folder / "summary.json").unlink()
    (folder / "notes.txt").write_text("added later")
    lines = (folder / "journal.jsonl").read_text().splitlines()
    (folder / "journal.jsonl").write_text("\n".join([lines[1], lines[0], *lines[2:]]) + "\n")
    run = cli("evidence", "verify", str(folder))
    assert run.exit_code == 4
    for fragment in (
        "missing: summary.json",
        "added: notes.txt",
        "changed: journal.jsonl",
        "journal.jsonl: entry 2: expected sequence 1",
    ):
        assert fragment in run.stderr


def test_no_secret_in_the_bundle(bundle):
    folder, creds = bundle
    blob = b"".join(p.read_bytes() for p in folder.iterdir())
    for secret in (creds["SecretAccessKey"], creds["SessionToken"]):
        assert secret.encode() not in blob
    assert creds["AccessKeyId"].encode() in blob, "the access key id is evidence, not a secret"


def test_upload_with_object_lock(bundle, cli, make_runtime):
    folder, creds = bundle
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="evidence-locked", ObjectLockEnabledForBucket=True)
    source = FakeSource({})
    result = collect_evidence(
        make_runtime(),
        creds["incident_id"],
        folder,
        EvidenceOptions(),
        source=source,
        upload=__import__("breakglass_aws.incident.evidence", fromlist=["Upload"]).Upload(
            "s3://evidence-locked/incidents", 30, "COMPLIANCE"
        ),
    )
    key = f"incidents/{creds['incident_id']}/manifest.json"  # named after the incident, not the --out folder
    head = s3.head_object(Bucket="evidence-locked", Key=key)
    assert head["ObjectLockMode"] == "COMPLIANCE"
    assert head["ObjectLockRetainUntilDate"] > datetime.now(UTC) + timedelta(days=29)
    listed = s3.list_object_versions(Bucket="evidence-locked")["Versions"]
    assert sorted(v["Key"] for v in listed) == sorted(
        f"incidents/{creds['incident_id']}/{n}" for n in [*FILES, "manifest.json"]
    )
    with pytest.raises(Exception, match="AccessDenied"):
        s3.delete_object(Bucket="evidence-locked", Key=key, VersionId=head["VersionId"])
    assert result.event_count == 0


def test_upload_refuses_a_bucket_without_object_lock(bundle, cli):
    folder, creds = bundle
    boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="plain-bucket")
    run = cli("evidence", "collect", creds["incident_id"], "--out", str(folder), "--upload", "s3://plain-bucket/x")
    assert run.exit_code == 5 and "Object Lock" in run.stderr


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["evidence", "collect", "bg-x"], "invalid incident id"),
        (["evidence", "collect", "bg-20260101-000000-abcdef"], "no incident"),
        (["evidence", "collect", "bg-20260101-000000-abcdef", "--upload", "http://x"], "invalid S3 URL"),
        (
            ["evidence", "collect", "bg-20260101-000000-abcdef", "--upload", "s3://bucket", "--lock-mode", "soft"],
            "invalid --lock-mode",
        ),
        (
            ["evidence", "collect", "bg-20260101-000000-abcdef", "--upload", "s3://bucket", "--retain-days", "0"],
            "--retain-days",
        ),
        (["evidence", "verify", "/nonexistent/bundle"], "is not a folder"),
    ],
)
def test_evidence_bad_input(aws, cli, argv, fragment):
    calls = []
    run = cli(*argv, hooks=[("before-call", lambda model=None, **_: calls.append(model.name))])
    assert run.exit_code == 2, run.stderr
    assert fragment in run.stderr and calls == []


def test_close_collects_evidence_when_configured(org, cli, seeded_cloudtrail, monkeypatch, tmp_path):
    monkeypatch.setenv("BREAKGLASS_EVIDENCE_DIR", str(tmp_path / "evidence"))
    p = org.new_policy("Deny")
    org.attach(p, org.account)
    opened = cli("scp", "detach", "--target", org.account, "--reason", "x", "--yes", "--output", "json").json()
    seeded_cloudtrail["us-east-1"] = [event(1, "DetachPolicy", "moto", params={"policyId": p, "targetId": org.account})]
    run = cli("close", opened["incident_id"], "--yes")
    assert run.exit_code == 0, run.stderr
    folder = tmp_path / "evidence" / opened["incident_id"]
    assert "1 CloudTrail events" in run.stdout and "not final" in run.stdout
    assert cli("evidence", "verify", str(folder)).exit_code == 0


def test_close_survives_an_evidence_failure(org, cli, monkeypatch, tmp_path):
    monkeypatch.setenv("BREAKGLASS_EVIDENCE_DIR", str(tmp_path / "evidence"))
    p = org.new_policy("Deny")
    org.attach(p, org.account)
    opened = cli("scp", "detach", "--target", org.account, "--reason", "x", "--yes", "--output", "json").json()
    run = cli("close", opened["incident_id"], "--yes", "--output", "json")
    assert run.exit_code == 0
    assert run.json()["status"] == "closed" and run.json()["evidence_error"]
    assert f"breakglass evidence collect {opened['incident_id']}" in run.stderr
