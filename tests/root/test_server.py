"""The stand-ins in a moto server process (`serve_with_cloudtrail`, what MotoServer runs with a
CloudTrail seed): a bucket unlocked over the wire, its old text in the evidence bundle."""

from __future__ import annotations

import json

import boto3
import pytest

from breakglass_aws.testing_kit import start_sandbox
from tests.conftest import seed_org
from tests.support.root import BUCKET, REGION, bucket_policy, enable_root_access, locked_bucket, unlock_bucket

pytestmark = pytest.mark.e2e


@pytest.fixture
def server(monkeypatch):
    with start_sandbox(org=False) as kit:  # the testing kit users get: one implementation
        for key, value in kit.env.items():
            monkeypatch.setenv(key, value)
        yield kit.server


def test_a_bucket_is_unlocked_through_a_moto_server(server, cli, tmp_path, root_tasks):
    root_tasks["undo"]()  # nothing in this process answers: the server's own stand-ins do
    root_tasks["undo"] = None
    org = seed_org(boto3.client("organizations", region_name="us-east-1"))
    enable_root_access()
    lockout = locked_bucket(org.account)
    run = unlock_bucket(cli, org.account, "--yes", "--output", "json")
    assert run.exit_code == 0, run.stderr
    assert bucket_policy(org.account) is None
    assert run.json()["target"] == f"s3://{BUCKET}@{org.account}" and run.json()["status"] == "closed"
    bundle = tmp_path / "bundle"
    collected = cli("evidence", "collect", run.json()["incident_id"], "--out", str(bundle))
    assert collected.exit_code == 0, collected.stderr
    journal = [json.loads(line) for line in (bundle / "journal.jsonl").read_text().splitlines()]
    assert [e["data"]["policy"] for e in journal if e["kind"] == "policy-read"] == [lockout]
    assert REGION in {e["data"]["step"].get("region") for e in journal if e["kind"] == "intent"}
