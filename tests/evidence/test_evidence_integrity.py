"""Evidence bundle integrity: only what collect wrote is in a bundle, a failed collect damages
nothing, the manifest itself is checked, every region of the incident is searched, the real
client is paced, and no rotated secret reaches a bundle."""

from __future__ import annotations

import hashlib
import itertools
import json
from datetime import UTC, datetime, timedelta

import boto3
import pytest

from breakglass_aws.errors import AwsFailure
from breakglass_aws.evidence.source import CloudTrailSource
from breakglass_aws.incident.evidence import EvidenceOptions, collect_evidence
from breakglass_aws.testing import install_cloudtrail_lookup
from tests.support.evidence import (  # noqa: F401 - fixture
    FILES,
    FailingSource,
    FakeSource,
    collect,
    event,
    incident,
    open_role_incident,
    read_events,
    session_of,
    siblings,
)

BUNDLE = sorted([*FILES, "manifest.json"])


# --- 1. only what collect wrote; a failed collect damages nothing -------------------------------


def test_out_folder_with_other_files_is_refused_untouched(incident, cli, tmp_path):  # noqa: F811
    folder = tmp_path / "case"
    folder.mkdir()
    (folder / "notes.txt").write_text("my notes")
    run = collect(cli, incident["incident_id"], folder, "--upload", "s3://evidence-locked/x")
    assert run.exit_code == 2
    assert "already holds files and is not an evidence bundle" in run.stderr
    assert len(run.stderr.strip().splitlines()) <= 2
    assert sorted(p.name for p in folder.iterdir()) == ["notes.txt"]
    assert (folder / "notes.txt").read_text() == "my notes"
    assert boto3.client("s3", region_name="us-east-1").list_buckets()["Buckets"] == []


def test_stray_file_in_an_earlier_bundle_is_never_hashed_or_uploaded(incident, cli, tmp_path):  # noqa: F811
    folder = tmp_path / "bundle"
    assert collect(cli, incident["incident_id"], folder).exit_code == 0
    (folder / "notes.txt").write_text("added by hand")
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="evidence-locked", ObjectLockEnabledForBucket=True)
    run = collect(cli, incident["incident_id"], folder, "--upload", "s3://evidence-locked/x")
    assert run.exit_code == 2
    assert "notes.txt" in run.stderr and "did not write" in run.stderr
    assert "notes.txt" not in json.loads((folder / "manifest.json").read_text())["files"]
    assert s3.list_objects_v2(Bucket="evidence-locked").get("KeyCount", 0) == 0
    assert (folder / "notes.txt").read_text() == "added by hand"


def test_recollect_replaces_the_bundle_whole(incident, cli, make_runtime, tmp_path):  # noqa: F811
    folder = tmp_path / "bundle"
    first = collect(cli, incident["incident_id"], folder, "--output", "json")
    assert first.exit_code == 0, first.stderr
    second = collect(cli, incident["incident_id"], folder, "--output", "json")
    assert second.exit_code == 0, second.stderr
    assert sorted(p.name for p in folder.iterdir()) == BUNDLE
    assert siblings(folder) == ["bundle"], "no staging or old folder is left behind"
    assert second.json()["manifest_sha256"] == hashlib.sha256((folder / "manifest.json").read_bytes()).hexdigest()
    assert cli("evidence", "verify", str(folder)).exit_code == 0


def test_a_failed_collect_leaves_the_earlier_bundle_whole(incident, cli, make_runtime, tmp_path):  # noqa: F811
    folder = tmp_path / "bundle"
    assert collect(cli, incident["incident_id"], folder).exit_code == 0
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    with pytest.raises(AwsFailure):
        collect_evidence(make_runtime(), incident["incident_id"], folder, EvidenceOptions(), source=FailingSource())
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    assert siblings(folder) == ["bundle"]
    assert cli("evidence", "verify", str(folder)).exit_code == 0


def test_a_failed_first_collect_leaves_no_folder(incident, make_runtime, tmp_path):  # noqa: F811
    folder = tmp_path / "bundle"
    with pytest.raises(AwsFailure):
        collect_evidence(make_runtime(), incident["incident_id"], folder, EvidenceOptions(), source=FailingSource())
    assert not folder.exists()
    assert [p.name for p in tmp_path.iterdir() if "bundle" in p.name] == []


def test_out_pointing_at_a_file_is_a_usage_error(incident, cli, tmp_path):  # noqa: F811
    target = tmp_path / "bundle.txt"
    target.write_text("keep me")
    calls = []
    run = cli(
        "evidence",
        "collect",
        incident["incident_id"],
        "--out",
        str(target),
        hooks=[("before-call", lambda model=None, **_: calls.append(model.name))],
    )
    assert run.exit_code == 2
    assert "is a file, not a folder" in run.stderr and "Traceback" not in run.stderr
    assert target.read_text() == "keep me" and calls == []


def test_out_pointing_at_a_symlink_is_a_usage_error(incident, cli, tmp_path):  # noqa: F811
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "link").symlink_to(real)
    run = collect(cli, incident["incident_id"], tmp_path / "link")
    assert run.exit_code == 2 and "is a symbolic link" in run.stderr
    assert (tmp_path / "link").is_symlink() and list(real.iterdir()) == []


# --- 2. the manifest itself is protected ----------------------------------------------------------


@pytest.fixture
def bundle(incident, cli, tmp_path):  # noqa: F811
    folder = tmp_path / "bundle"
    run = collect(cli, incident["incident_id"], folder, "--output", "json")
    assert run.exit_code == 0, run.stderr
    return folder, run.json()["manifest_sha256"]


def edit_manifest(folder, **changes):
    data = json.loads((folder / "manifest.json").read_text())
    data.update(changes)
    (folder / "manifest.json").write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


def verify(cli, folder, *extra):
    return cli("evidence", "verify", str(folder), "--output", "json", *extra)


def test_manifest_marked_final_while_collected_early(bundle, cli):
    folder, _ = bundle
    edit_manifest(folder, final=True)
    run = verify(cli, folder)
    assert run.exit_code == 4
    assert any("final is true but the bundle was collected before" in p for p in run.json()["problems"])


def test_manifest_event_count_inflated(bundle, cli):
    folder, _ = bundle
    edit_manifest(folder, event_count=400)
    run = verify(cli, folder)
    assert run.exit_code == 4
    assert "manifest.json: event_count 400 but cloudtrail-events.jsonl holds 5 events" in run.json()["problems"]


def test_manifest_chain_head_edited(bundle, cli):
    folder, _ = bundle
    edit_manifest(folder, journal_chain_head="0" * 64)
    run = verify(cli, folder)
    assert run.exit_code == 4
    assert "journal.jsonl: chain head differs from the manifest" in run.json()["problems"]


def test_added_subfolder_is_reported(bundle, cli):
    folder, _ = bundle
    (folder / "extra").mkdir()
    (folder / "extra" / "payload.bin").write_bytes(b"x")
    run = verify(cli, folder)
    assert run.exit_code == 4
    assert "added: extra/ (a folder)" in run.json()["problems"]


def test_verify_prints_and_checks_the_manifest_hash(bundle, cli):
    folder, digest = bundle
    plain = cli("evidence", "verify", str(folder))
    assert plain.exit_code == 0 and f"manifest sha256 {digest}" in plain.stdout
    good = cli("evidence", "verify", str(folder), "--expect-sha256", digest.upper())
    assert good.exit_code == 0 and "intact" in good.stdout
    edit_manifest(folder, collected_at="2099-01-01T00:00:00Z", final_after="2099-01-01T00:00:00Z")
    assert verify(cli, folder).exit_code == 0, "a consistent forgery is only caught by the expected hash"
    bad = verify(cli, folder, "--expect-sha256", digest)
    assert bad.exit_code == 4
    assert any(p.startswith("manifest.json: sha256 ") and digest in p for p in bad.json()["problems"])
    assert bad.json()["manifest_sha256"] != digest


def test_the_journal_holds_the_manifest_hash(bundle, cli, incident, make_runtime):  # noqa: F811
    _, digest = bundle
    entries = make_runtime().store.entries(incident["incident_id"])
    assert [e.data["manifest_sha256"] for e in entries if e.kind == "evidence"] == [digest]


@pytest.mark.parametrize("value", ["abc", "g" * 64, ""])
def test_expect_sha256_must_be_hex(bundle, cli, value):
    folder, _ = bundle
    run = cli("evidence", "verify", str(folder), "--expect-sha256", value)
    assert run.exit_code == 2 and "--expect-sha256 must be 64 hex digits" in run.stderr


# --- 3. every region ----------------------------------------------------------------------------


def test_collect_covers_configured_cli_and_journaled_regions(iam, cli, make_runtime, tmp_path, monkeypatch):
    creds = open_role_incident(cli)  # eu-west-1
    session = session_of(creds)
    rt = make_runtime()
    rt.store.append(
        creds["incident_id"], "step", {"step": {"action": "assume", "region": "ca-central-1"}, "phase": "intent"}
    )
    regions = ["us-east-1", "eu-west-1", "ca-central-1", "ap-southeast-2", "eu-central-1", "sa-east-1", "eu-north-1"]
    seeded = {r: [event(i * 100 + n, "PutObject", session) for n in range(3)] for i, r in enumerate(regions)}
    seeded["us-west-2"] = [event(999, "PutObject", session)]  # not a region of this incident
    source = FakeSource(seeded)
    monkeypatch.setenv("BREAKGLASS_EVIDENCE_REGIONS", "eu-central-1,sa-east-1")
    monkeypatch.setattr("breakglass_aws.incident.evidence.CloudTrailSource", lambda *a, **k: source)
    run = collect(
        cli,
        creds["incident_id"],
        tmp_path / "b",
        "--lookup-region",
        "ap-southeast-2",
        "--region",
        "eu-north-1",
        "--output",
        "json",
    )
    assert run.exit_code == 0, run.stderr
    assert sorted(run.json()["regions"]) == sorted(regions)
    assert {e["region"] for e in read_events(tmp_path / "b")} == set(regions)
    assert run.json()["event_count"] == 3 * len(regions)
    assert {r for r, _ in source.requests} == set(regions)
    manifest = json.loads((tmp_path / "b" / "manifest.json").read_text())
    assert sorted(manifest["regions"]) == sorted(regions)


def test_invalid_region_is_a_usage_error(incident, cli, tmp_path):  # noqa: F811
    calls = []
    run = cli(
        "evidence",
        "collect",
        incident["incident_id"],
        "--lookup-region",
        "mars-1",
        hooks=[("before-call", lambda model=None, **_: calls.append(model.name))],
    )
    assert run.exit_code == 2 and "invalid region 'mars-1'" in run.stderr and calls == []


# --- 4. small ones ------------------------------------------------------------------------------


def test_missing_bucket_is_named_as_missing(incident, cli, tmp_path):  # noqa: F811
    run = collect(cli, incident["incident_id"], tmp_path / "b", "--upload", "s3://no-such-evidence/x")
    assert run.exit_code == 5
    assert "bucket no-such-evidence does not exist" in run.stderr
    assert "Object Lock" not in run.stderr
    assert not (tmp_path / "b").exists()


def test_progress_names_the_lookup_and_the_running_total(iam, cli, seeded_cloudtrail, tmp_path):
    creds = open_role_incident(cli, region="us-east-1")
    session = session_of(creds)
    seeded_cloudtrail["us-east-1"] = [event(n, "PutObject", session) for n in range(120)]
    run = collect(cli, creds["incident_id"], tmp_path / "b")
    assert run.exit_code == 0, run.stderr
    assert f"us-east-1 Username={session}: page of 50 events, 50 fetched so far" in run.stderr
    assert f"us-east-1 Username={session}: page of 20 events, 120 fetched so far" in run.stderr


def test_wait_for_delivery_refuses_an_open_incident(incident, cli, tmp_path, monkeypatch):  # noqa: F811
    slept = []
    monkeypatch.setattr("time.sleep", lambda s: (slept.append(s), (_ for _ in ()).throw(AssertionError("slept")))[0])
    run = collect(cli, incident["incident_id"], tmp_path / "b", "--wait-for-delivery")
    assert run.exit_code == 2, run.stderr
    assert "is still open" in run.stderr and f"breakglass close {incident['incident_id']}" in run.stderr
    assert slept == [] and not (tmp_path / "b").exists()


# --- 5. pacing through the real client, and no rotated secret in a bundle -----------------------


def test_real_client_is_paced_per_region(iam, cli, make_runtime, tmp_path):
    creds = open_role_incident(cli)  # eu-west-1 and us-east-1
    session = session_of(creds)
    now = [1000.0]

    def sleep(seconds):
        now[0] += seconds

    sent: list[tuple[str, float]] = []
    seeded = {
        "us-east-1": [event(n, "GetRole", session) for n in range(160)],
        "eu-west-1": [event(1000 + n, "PutObject", session) for n in range(160)],
    }

    def events_for(region):
        sent.append((region, now[0]))
        return seeded.get(region, [])

    undo = install_cloudtrail_lookup(events_for)
    try:
        rt = make_runtime()
        source = CloudTrailSource(rt.factory, 2.0, clock=lambda: now[0], sleep=sleep)
        result = collect_evidence(rt, creds["incident_id"], tmp_path / "b", EvidenceOptions(), source=source)
    finally:
        undo()
    assert result.event_count == 320
    for region in ("us-east-1", "eu-west-1"):
        stamps = [t for r, t in sent if r == region]
        assert len(stamps) >= 6, "four pages of the session, then the key and requester lookups"
        gaps = [b - a for a, b in itertools.pairwise(stamps)]
        assert min(gaps) >= 0.5, f"{region}: more than 2 requests in a second: {gaps}"
        for i in range(len(stamps) - 2):
            assert stamps[i + 2] - stamps[i] >= 1.0, "no three requests within one second"


def test_no_rotated_secret_in_the_bundle(aws_clients, cli, seeded_cloudtrail, tmp_path):
    iam, sm = aws_clients
    iam.create_user(UserName="breakglass-1")
    iam.create_login_profile(UserName="breakglass-1", Password="Old-passw0rd!")
    old_key = iam.create_access_key(UserName="breakglass-1")["AccessKey"]
    sm.create_secret(Name="breakglass/breakglass-1", SecretString=json.dumps({"note": "initial"}))
    rotated = cli("rotate", "--user", "breakglass-1", "--output", "json")
    assert rotated.exit_code == 0, rotated.stderr
    incident_id = rotated.json()["incident_id"]
    current = json.loads(sm.get_secret_value(SecretId="breakglass/breakglass-1")["SecretString"])
    seeded_cloudtrail["us-east-1"] = [
        event(1, "CreateAccessKey", "moto", params={"userName": "breakglass-1"}),
        event(2, "UpdateLoginProfile", "moto", params={"userName": "breakglass-1"}),
    ]
    folder = tmp_path / "b"
    run = collect(cli, incident_id, folder, "--output", "json")
    assert run.exit_code == 0, run.stderr
    assert run.json()["event_count"] == 2
    blobs = {p.name: p.read_bytes() for p in folder.iterdir()}
    assert sorted(blobs) == BUNDLE
    assert any(b"-key" in blob for blob in [blobs["journal.jsonl"]]), "the rotation steps are in the journal"
    secrets = [current["secret_access_key"], current["password"], old_key["SecretAccessKey"], "Old-passw0rd!"]
    for name, blob in blobs.items():
        for secret in secrets:
            assert secret.encode() not in blob, f"a secret in {name}"
    assert current["access_key_id"].encode() in blobs["journal.jsonl"], "key ids are evidence, not secrets"
    assert secrets[0] not in run.stdout + run.stderr and secrets[1] not in run.stdout + run.stderr


def test_upload_puts_exactly_the_bundle(incident, cli, tmp_path):  # noqa: F811
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="evidence-locked", ObjectLockEnabledForBucket=True)
    folder = tmp_path / "bundle"
    run = collect(cli, incident["incident_id"], folder, "--upload", "s3://evidence-locked/i", "--output", "json")
    assert run.exit_code == 0, run.stderr
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket="evidence-locked")["Contents"])
    assert keys == [f"i/{incident['incident_id']}/{n}" for n in BUNDLE], "named after the incident, not --out"
    body = s3.get_object(Bucket="evidence-locked", Key=f"i/{incident['incident_id']}/manifest.json")["Body"].read()
    assert hashlib.sha256(body).hexdigest() == run.json()["manifest_sha256"]


def test_final_recollect_after_close_verifies(org, cli, make_runtime, tmp_path):
    p = org.new_policy("Deny")
    org.attach(p, org.account)
    opened = cli("scp", "detach", "--target", org.account, "--reason", "x", "--yes", "--output", "json").json()
    assert cli("close", opened["incident_id"], "--yes").exit_code == 0
    folder = tmp_path / "b"
    early = collect_evidence(make_runtime(), opened["incident_id"], folder, EvidenceOptions(), source=FakeSource({}))
    assert early.final is False
    later = make_runtime(clock=lambda: datetime.now(UTC) + timedelta(minutes=30))
    final = collect_evidence(later, opened["incident_id"], folder, EvidenceOptions(), source=FakeSource({}))
    assert final.final is True
    assert json.loads((folder / "manifest.json").read_text())["final"] is True
    assert cli("evidence", "verify", str(folder), "--expect-sha256", final.manifest_sha256).exit_code == 0
    edit_manifest(folder, final=False)
    problems = verify(cli, folder).json()["problems"]
    assert any("final is false but the bundle was collected after" in p for p in problems)
