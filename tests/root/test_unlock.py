"""A bucket or queue policy that denies everyone, unlocked by a root session: the policy is gone
(or replaced), its old text is in the journal and in the evidence bundle, and AssumeRoot went to a
regional STS endpoint with the task policy and at most 900 seconds."""

from __future__ import annotations

import json

import pytest

from breakglass_aws.root.inputs import canonical_sha256, same_policy
from tests.support.root import (
    BUCKET,
    REGION,
    AssumeRootSpy,
    bucket_policy,
    corrected,
    locked_bucket,
    locked_queue,
    policy_reads,
    queue_policy,
    unlock_bucket,
    unlock_queue,
)

S3_TASK = "arn:aws:iam::aws:policy/root-task/S3UnlockBucketPolicy"
SQS_TASK = "arn:aws:iam::aws:policy/root-task/SQSUnlockQueuePolicy"


def test_a_deny_all_bucket_policy_is_deleted_and_its_text_journaled(ready, cli, journal_store):
    lockout = locked_bucket(ready.account)
    spy = AssumeRootSpy()
    run = unlock_bucket(cli, ready.account, "--yes", "--output", "json", hooks=spy.hooks())
    assert run.exit_code == 0, run.stderr
    assert bucket_policy(ready.account) is None, "the bucket policy is gone from the member account"
    result = run.json()
    assert result["status"] == "closed" and result["target"] == f"s3://{BUCKET}@{ready.account}"
    assert result["policy_found"] is True and result["policy_sha256"] == canonical_sha256(lockout)
    assert result["now"] == "no policy"
    entries = journal_store().entries(result["incident_id"])
    (first,) = [r for r in policy_reads(entries) if r["first"]]
    assert first["policy"] == lockout and first["found"] is True, "the lockout's text is the forensic record"
    kinds = [(e.kind, (e.data.get("step") or {}).get("action")) for e in entries]
    assert kinds.index(("intent", "delete-policy")) < kinds.index(("outcome", "delete-policy"))
    assert kinds.index(("policy-read", None)) < kinds.index(("intent", "delete-policy")), "saved before the delete"
    assert kinds[-1] == ("status:closed", None)
    assert [s["params"]["TargetPrincipal"] for s in spy.sent] == [ready.account]


@pytest.mark.parametrize("region", [REGION, "us-east-1"])
def test_assume_root_goes_to_a_regional_endpoint_with_the_task_policy(ready, cli, region):
    locked_bucket(ready.account, region=region)
    spy = AssumeRootSpy()
    run = cli(
        "root",
        "unlock-bucket",
        "--account",
        ready.account,
        "--bucket",
        BUCKET,
        "--reason",
        "x",
        "--yes",
        "--region",
        region,
        hooks=spy.hooks(),
    )
    assert run.exit_code == 0, run.stderr
    (sent,) = spy.sent
    assert sent["url"] == f"https://sts.{region}.amazonaws.com/", "never the global sts.amazonaws.com"
    assert sent["params"]["Action"] == "AssumeRoot"
    assert sent["params"]["TargetPrincipal"] == ready.account
    assert sent["params"]["TaskPolicyArn.arn"] == S3_TASK
    assert 0 < int(sent["params"]["DurationSeconds"]) <= 900


def test_replace_with_puts_the_corrected_policy(ready, cli, journal_store, tmp_path):
    lockout = locked_bucket(ready.account)
    fixed = corrected(f"arn:aws:s3:::{BUCKET}", ready.account)
    path = tmp_path / "fixed.json"
    path.write_text(json.dumps(fixed, indent=2))
    run = unlock_bucket(cli, ready.account, "--replace-with", str(path), "--yes", "--output", "json")
    assert run.exit_code == 0, run.stderr
    assert same_policy(bucket_policy(ready.account), json.dumps(fixed))
    entries = journal_store().entries(run.json()["incident_id"])
    assert policy_reads(entries)[0]["policy"] == lockout
    (replacement,) = [e.data for e in entries if e.kind == "replacement"]
    assert replacement["policy"] == path.read_text() and replacement["sha256"] == canonical_sha256(json.dumps(fixed))
    puts = [e.data["step"] for e in entries if e.kind == "outcome" and e.data.get("ok")]
    assert [s["action"] for s in puts] == ["assume-root", "put-policy"], "nothing deleted"


@pytest.mark.parametrize("replace", [False, True])
def test_a_deny_all_queue_policy_is_unlocked(ready, cli, journal_store, tmp_path, replace):
    url, lockout = locked_queue(ready.account)
    fixed = corrected(f"arn:aws:sqs:{REGION}:{ready.account}:orders", ready.account, "sqs")
    extra = []
    if replace:
        (tmp_path / "q.json").write_text(json.dumps(fixed))
        extra = ["--replace-with", str(tmp_path / "q.json")]
    spy = AssumeRootSpy()
    run = unlock_queue(
        cli, ready.account, url, *extra, "--yes", "--region", "us-west-2", "--output", "json", hooks=spy.hooks()
    )
    assert run.exit_code == 0, run.stderr
    now = queue_policy(ready.account, url)
    assert same_policy(now, json.dumps(fixed)) if replace else now is None
    assert run.json()["target"] == f"sqs:{url}"
    assert policy_reads(journal_store().entries(run.json()["incident_id"]))[0]["policy"] == lockout
    (sent,) = spy.sent
    assert sent["url"] == f"https://sts.{REGION}.amazonaws.com/", "the queue's region, not --region"
    assert sent["params"]["TaskPolicyArn.arn"] == SQS_TASK


def test_dry_run_shows_the_plan_and_changes_nothing(ready, cli, journal_store):
    lockout = locked_bucket(ready.account)
    spy = AssumeRootSpy()
    calls: list[str] = []
    hooks = [*spy.hooks(), ("before-call", lambda model=None, **_: calls.append(model.name))]
    run = unlock_bucket(cli, ready.account, "--dry-run", hooks=hooks)
    assert run.exit_code == 0, run.stderr
    assert "sts:AssumeRoot on" in run.stdout and "S3UnlockBucketPolicy for 900s (STS eu-west-1)" in run.stdout
    assert "delete it" in run.stdout and "prerequisite ok: trusted access for iam.amazonaws.com" in run.stdout
    assert spy.sent == [] and all(c.startswith(("Get", "List", "Describe")) for c in calls), calls
    assert bucket_policy(ready.account) == lockout
    assert journal_store().list_incidents() == []


@pytest.mark.parametrize("on_close", [False, True])
def test_the_evidence_bundle_holds_the_lockout_text(ready, cli, seeded_cloudtrail, tmp_path, monkeypatch, on_close):
    lockout = locked_bucket(ready.account)
    if on_close:
        monkeypatch.setenv("BREAKGLASS_EVIDENCE_DIR", str(tmp_path / "evidence"))
    run = unlock_bucket(cli, ready.account, "--yes", "--output", "json")
    assert run.exit_code == 0, run.stderr
    incident_id = run.json()["incident_id"]
    if on_close:
        bundle = tmp_path / "evidence" / incident_id
        assert run.json()["evidence"] == str(bundle)
    else:
        bundle = tmp_path / "bundle"
        assert cli("evidence", "collect", incident_id, "--out", str(bundle)).exit_code == 0
    lines = [json.loads(line) for line in (bundle / "journal.jsonl").read_text().splitlines()]
    reads = [e["data"] for e in lines if e["kind"] == "policy-read" and e["data"]["first"]]
    assert [r["policy"] for r in reads] == [lockout]
    verified = cli("evidence", "verify", str(bundle))
    assert verified.exit_code == 0, verified.stdout + verified.stderr


def test_list_and_show_say_what_a_root_incident_is(ready, cli):
    locked_bucket(ready.account)
    incident_id = unlock_bucket(cli, ready.account, "--yes", "--output", "json").json()["incident_id"]
    listed = cli("list")
    assert f"{incident_id}  closed" in listed.stdout and " root " in listed.stdout
    shown = cli("show", incident_id)
    assert f"incident {incident_id} (root) closed" in shown.stdout
    assert f"targets: s3://{BUCKET}@{ready.account}" in shown.stdout
    assert f"delete-policy account={ready.account} kind=bucket region={REGION} resource={BUCKET} ok" in shown.stdout
    assert "policy-read" in shown.stdout and '"Statement"' not in shown.stdout, "the text stays in the JSON"


def test_lifecycle_is_notified(ready, cli, topic):
    locked_bucket(ready.account)
    run = unlock_bucket(cli, ready.account, "--yes", "--output", "json")
    assert run.exit_code == 0, run.stderr
    sent = [(m["event"], m["mode"], m["targets"]) for _, m in topic() if m["incident_id"] == run.json()["incident_id"]]
    target = [f"s3://{BUCKET}@{ready.account}"]
    assert sent == [("activated", "root", target), ("closed", "root", target)]


def test_a_second_run_once_unlocked_changes_nothing(ready, cli):
    locked_bucket(ready.account)
    first = unlock_bucket(cli, ready.account, "--yes", "--output", "json").json()
    again = unlock_bucket(cli, ready.account, "--yes", "--output", "json")
    assert again.exit_code == 0, again.stderr
    assert again.json()["incident_id"] != first["incident_id"], "the first one was closed"
    assert again.json()["policy_found"] is False and again.json()["done"] == ["nothing to change: no policy"]


def test_a_bucket_not_in_the_account_fails_with_nothing_changed(ready, cli, journal_store):
    run = unlock_bucket(cli, ready.account, "--yes", bucket="no-such-bucket")
    assert run.exit_code == 2, run.stderr
    assert "nothing was changed" in run.stderr and "was not found in account" in run.stderr
    (incident,) = journal_store().list_incidents()
    assert incident.status.value == "failed"
    again = unlock_bucket(cli, ready.account, "--yes", bucket="no-such-bucket")
    assert again.exit_code == 2 and len(journal_store().list_incidents()) == 2, "a failed incident holds nothing"


def test_either_store_holds_one_open_root_incident_per_target(store_env, ready, cli):
    """SQLite or the shared DynamoDB table: the target is held while the incident is open (a second
    engineer's run resumes it rather than opening another), and let go when it closes."""
    from tests.support.crash import Crash

    locked_bucket(ready.account)

    def crash(model=None, **_):
        raise Crash("kill -9 after the delete")

    with pytest.raises(Crash):
        unlock_bucket(cli, ready.account, "--yes", hooks=[("after-call.s3.DeleteBucketPolicy", crash)])
    listed = cli("list", "--output", "json").json()
    assert [(i["status"], i["mode"]) for i in listed] == [("active", "root")]
    again = unlock_bucket(cli, ready.account, "--yes", "--output", "json")
    assert again.exit_code == 0, again.stderr
    assert again.json()["incident_id"] == listed[0]["incident_id"] and again.json()["resumed"] is True
    assert again.json()["done"] == ["nothing to change: no policy"], "the delete had happened: not sent again"
    later_run = unlock_bucket(cli, ready.account, "--yes", "--output", "json")
    assert later_run.exit_code == 0 and later_run.json()["incident_id"] != listed[0]["incident_id"]
