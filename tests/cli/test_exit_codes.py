"""Exit codes follow the documented table: an access denial is 6 and names the IAM action or the
policy to change, never "rerun"; "rerun" only where running the command again can finish."""

from __future__ import annotations

import json

import boto3

from tests.support.cli import one_line
from tests.support.faults import reject
from tests.support.scp import seeded

BUCKET = "evidence-locked"
DENY_PUT = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Deny", "Principal": "*", "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{BUCKET}/*"}
    ],
}


def _closed_incident(org, cli) -> str:
    seeded(org, 1)
    opened = cli("scp", "detach", "--target", org.account, "--reason", "INC-7", "--yes", "--output", "json")
    incident_id: str = opened.json()["incident_id"]
    assert cli("close", incident_id, "--skip-rotation", "--yes").exit_code == 0
    return incident_id


def test_upload_refused_by_the_bucket_policy_exits_6_naming_s3_put_object(org, cli, seeded_cloudtrail, tmp_path):
    incident_id = _closed_incident(org, cli)
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket=BUCKET, ObjectLockEnabledForBucket=True)
    s3.put_bucket_policy(Bucket=BUCKET, Policy=json.dumps(DENY_PUT))
    run = cli("evidence", "collect", incident_id, "--out", str(tmp_path / "b"), "--upload", f"s3://{BUCKET}/x")
    assert run.exit_code == 6, run.stderr
    line = one_line(run.stderr)
    assert "access denied calling s3:PutObject" in line and f"bucket policy of {BUCKET}" in line
    assert "rerun" not in line, line


def test_access_denied_by_an_scp_names_the_policy_kind(org, cli):
    seeded(org, 1)
    denied = reject("ListPoliciesForTarget", "AccessDeniedException", status=400)
    hook = (denied[0], _with_message(denied[1], "explicit deny in a service control policy"))
    run = cli("scp", "detach", "--target", org.account, "--reason", "x", "--yes", hooks=[hook])
    assert run.exit_code == 6
    line = one_line(run.stderr)
    assert "organizations:ListPoliciesForTarget" in line and "service control policy (SCP)" in line
    assert "rerun" not in line, line


def test_a_request_aws_refuses_as_sent_is_not_told_to_rerun(org, cli):
    seeded(org, 1)
    run = cli(
        "scp", "detach", "--target", org.account, "--reason", "x", "--yes",
        hooks=[reject("ListPoliciesForTarget", "InvalidInputException")],
    )  # fmt: skip
    assert run.exit_code == 7
    line = one_line(run.stderr)
    assert "InvalidInputException" in line and "rerun" not in line and "fix what its message names" in line


def test_a_server_error_that_a_rerun_can_finish_says_rerun(org, cli, monkeypatch):
    monkeypatch.setenv("BREAKGLASS_MAX_ATTEMPTS", "1")
    seeded(org, 1)
    opened = cli("scp", "detach", "--target", org.account, "--reason", "x", "--yes", "--output", "json").json()
    run = cli("scp", "restore", opened["incident_id"], hooks=[reject("AttachPolicy", "ServiceUnavailable", 1, 503)])
    assert run.exit_code == 7
    assert "then rerun the same command: breakglass scp restore" in one_line(run.stderr)


def _with_message(hook, message):
    def answer(**kwargs):
        got = hook(**kwargs)
        if got is not None:
            got[1]["Error"]["Message"] = f"User: x is not authorized with an {message}"
        return got

    return answer
