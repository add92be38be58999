"""History with an anchor: each lifecycle notification carries the journal head; each head is written
under Object Lock in the evidence bucket; the head at close and every bundle manifest are signed with
KMS. `journal verify` holds the store against the anchors (a consistent rewrite, a deleted incident),
`evidence verify --public-key` holds a bundle against its signature, offline."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import boto3
import pytest

from breakglass_aws.journal.chain import GENESIS, entry_hash
from tests.support.cli import one_line
from tests.support.evidence import event

BUCKET = "org-breakglass-evidence"


@pytest.fixture
def anchored(org, monkeypatch):
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket=BUCKET, ObjectLockEnabledForBucket=True)
    monkeypatch.setenv("BREAKGLASS_EVIDENCE_BUCKET", f"s3://{BUCKET}/breakglass")
    return s3


@pytest.fixture
def signing_key(anchored, monkeypatch):
    key = boto3.client("kms", region_name="us-east-1").create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")
    key_id = key["KeyMetadata"]["KeyId"]
    monkeypatch.setenv("BREAKGLASS_SIGNING_KEY", key_id)
    return key_id


def round_trip(org, cli, name: str = "Deny") -> str:
    org.attach(org.new_policy(name), org.account)
    opened = cli("scp", "detach", "--target", org.account, "--reason", "INC-1 rollback", "--yes", "--output", "json")
    assert opened.exit_code == 0, opened.stderr
    incident_id = opened.json()["incident_id"]
    assert cli("scp", "restore", incident_id).exit_code == 0
    return incident_id


def anchors(s3, incident_id: str) -> list[dict[str, Any]]:
    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix=f"breakglass/anchors/{incident_id}/").get("Contents", [])
    return [json.loads(s3.get_object(Bucket=BUCKET, Key=o["Key"])["Body"].read()) for o in listed]


def journal(cli, incident_id: str) -> list[dict[str, Any]]:
    return cli("show", incident_id, "--output", "json").json()["journal"]


def test_every_notification_carries_the_journal_head(org, cli, topic):
    incident_id = round_trip(org, cli)
    entries = {e["seq"]: e["hash"] for e in journal(cli, incident_id)}
    sent = [body for _, body in topic() if body["incident_id"] == incident_id]
    assert [m["event"] for m in sent] == ["activated", "closing", "closed"]
    for message in sent:
        head = message["journal_head"]
        assert entries[head["seq"]] == head["hash"], message["event"]


def test_each_transition_is_anchored_under_object_lock(org, cli, anchored):
    incident_id = round_trip(org, cli)
    written = anchors(anchored, incident_id)
    assert [a["event"] for a in written] == ["activated", "closing", "closed"]
    entries = {e["seq"]: e for e in journal(cli, incident_id)}
    for anchor in written:
        assert entries[anchor["seq"]]["hash"] == anchor["hash"]
        key = f"breakglass/anchors/{incident_id}/{anchor['seq']:08d}.json"
        head = anchored.head_object(Bucket=BUCKET, Key=key)
        assert head["ObjectLockMode"] == "GOVERNANCE"
    verified = cli("journal", "verify", incident_id)
    assert verified.exit_code == 0 and "3 anchor(s)" in verified.stdout, verified.stdout


def rewrite_reason(db_path: Path, incident_id: str, reason: str) -> None:
    """What someone who can write the state dir does: change the reason in the record and in the
    opened entry, then recompute every hash so the chain and the record agree."""
    db = sqlite3.connect(db_path)
    body = json.loads(db.execute("SELECT body FROM incidents WHERE incident_id=?", (incident_id,)).fetchone()[0])
    body["reason"] = reason
    db.execute("UPDATE incidents SET body=? WHERE incident_id=?", (json.dumps(body), incident_id))
    rows = db.execute(
        "SELECT seq, at, kind, data FROM journal WHERE incident_id=? ORDER BY seq", (incident_id,)
    ).fetchall()
    prev = GENESIS
    for seq, at, kind, text in rows:
        data = json.loads(text)
        if kind == "opened":
            data["incident"]["reason"] = reason
        digest = entry_hash(incident_id, seq, at, kind, data, prev)
        db.execute(
            "UPDATE journal SET data=?, prev_hash=?, hash=? WHERE incident_id=? AND seq=?",
            (json.dumps(data, sort_keys=True), prev, digest, incident_id, seq),
        )
        prev = digest
    db.commit()
    db.close()


def test_a_consistent_rewrite_of_the_store_is_caught_by_the_anchors(org, cli, anchored, tmp_path, monkeypatch):
    incident_id = round_trip(org, cli)
    rewrite_reason(tmp_path / "state" / "breakglass" / "journal.sqlite3", incident_id, "routine work")
    monkeypatch.delenv("BREAKGLASS_EVIDENCE_BUCKET")
    unanchored = cli("journal", "verify", incident_id)
    assert unanchored.exit_code == 0 and "no anchors" in unanchored.stdout, "the chain alone cannot see it"
    monkeypatch.setenv("BREAKGLASS_EVIDENCE_BUCKET", f"s3://{BUCKET}/breakglass")
    verified = cli("journal", "verify", incident_id)
    assert verified.exit_code == 4 and "differs from its anchor" in one_line(verified.stderr)


def test_a_deleted_incident_is_caught_by_its_anchors(org, cli, anchored, tmp_path):
    kept, gone = round_trip(org, cli, "Deny1"), round_trip(org, cli, "Deny2")
    db = sqlite3.connect(tmp_path / "state" / "breakglass" / "journal.sqlite3")
    db.execute("DELETE FROM incidents WHERE incident_id=?", (gone,))
    db.execute("DELETE FROM journal WHERE incident_id=?", (gone,))
    db.commit()
    db.close()
    verified = cli("journal", "verify", "--all", "--output", "json")
    assert verified.exit_code == 4
    assert verified.json()["deleted"] == [gone]
    assert [r["incident_id"] for r in verified.json()["incidents"]] == [kept]


def test_the_close_head_and_the_bundle_are_signed_and_verify_offline(
    org, cli, signing_key, seeded_cloudtrail, tmp_path
):
    incident_id = round_trip(org, cli)
    signed = [e for e in journal(cli, incident_id) if e["kind"] == "signed"]
    closed = next(e for e in journal(cli, incident_id) if e["kind"] == "status:closed")
    assert [s["data"]["seq"] for s in signed] == [closed["seq"]]
    pem = tmp_path / "signing.pem"
    assert cli("evidence", "public-key", "--out", str(pem)).exit_code == 0
    assert pem.read_text().startswith("-----BEGIN PUBLIC KEY-----")
    verified = cli("journal", "verify", incident_id, "--public-key", str(pem))
    assert verified.exit_code == 0 and "signature of entry" in verified.stdout

    seeded_cloudtrail["us-east-1"] = [event(n, "DetachPolicy", "x") for n in range(3)]
    bundle = tmp_path / "bundle"
    collected = cli("evidence", "collect", incident_id, "--out", str(bundle), "--output", "json")
    assert collected.exit_code == 0 and collected.json()["signed"] is True, collected.stderr
    assert cli("evidence", "verify", str(bundle), "--public-key", str(pem)).exit_code == 0

    drop_events_and_rehash(bundle)
    assert cli("evidence", "verify", str(bundle)).exit_code == 0, "hashes alone cannot see a rehashed manifest"
    caught = cli("evidence", "verify", str(bundle), "--public-key", str(pem))
    assert caught.exit_code == 4 and "manifest.sig" in one_line(caught.stderr)


def drop_events_and_rehash(bundle: Path) -> None:
    """Remove every DetachPolicy event, then rewrite the manifest to match: a consistent forgery."""
    from breakglass_aws.evidence.bundle import MANIFEST, sha256_file

    events = bundle / "cloudtrail-events.jsonl"
    kept = [line for line in events.read_text().splitlines() if '"DetachPolicy"' not in line]
    events.write_text("".join(f"{line}\n" for line in kept))
    manifest = json.loads((bundle / MANIFEST).read_text())
    manifest["event_count"] = len(kept)
    manifest["files"]["cloudtrail-events.jsonl"] = sha256_file(events)
    (bundle / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
