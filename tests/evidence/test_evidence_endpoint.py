"""Evidence against endpoints without LookupEvents (a plain moto server, in-process moto): one
line naming the endpoint and the testing kit, exit 7, after one attempt; and the S3 keys of an
upload named after the incident whatever --out is."""

from __future__ import annotations

import json
import time

import boto3
import pytest

from breakglass_aws.evidence.source import lookup_unimplemented
from breakglass_aws.testing import FaultProxy, MotoServer
from tests.conftest import TRUST
from tests.support.evidence import FILES, incident, open_role_incident  # noqa: F401 - fixture

pytestmark = pytest.mark.e2e


@pytest.fixture
def plain_moto(monkeypatch):
    """A moto server as `moto_server` runs it (no LookupEvents), behind a counting proxy."""
    server = MotoServer().start()
    proxy = FaultProxy(server.url).start()
    monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.url)
    try:
        boto3.client("iam", region_name="us-east-1").create_role(
            RoleName="BreakGlassAdmin", AssumeRolePolicyDocument=json.dumps(TRUST)
        )
        yield proxy
    finally:
        proxy.stop()
        server.stop()


def test_a_plain_moto_server_gets_one_line_naming_it_and_the_kit(plain_moto, cli, tmp_path):
    opened = cli("role", "assume", "--account", "123456789012", "--reason", "x", "--format", "json", fresh_session=True)
    assert opened.exit_code == 0, opened.stderr
    started = time.monotonic()
    run = cli("evidence", "collect", opened.json()["incident_id"], "--out", str(tmp_path / "b"), fresh_session=True)
    assert run.exit_code == 7, run.stderr
    [line] = run.stderr.strip().splitlines()
    assert f"the CloudTrail endpoint {plain_moto.url} does not implement LookupEvents" in line
    assert "`breakglass sandbox serve`" in line and "`breakglass_sandbox`" in line
    assert plain_moto.seen.count("LookupEvents") == 1, "no retries: botocore would try 5 times"
    assert time.monotonic() - started < 5
    assert not (tmp_path / "b").exists(), "no bundle, not even a partial one"


def test_an_outage_is_still_retried(plain_moto, cli, tmp_path, monkeypatch):
    """A 503 without a word of "not implemented" is an outage: botocore's retries, the outage line."""
    opened = cli("role", "assume", "--account", "123456789012", "--reason", "x", "--format", "json", fresh_session=True)
    plain_moto.rule = lambda operation: "503" if operation == "LookupEvents" else None
    monkeypatch.setenv("BREAKGLASS_MAX_ATTEMPTS", "2")
    run = cli("evidence", "collect", opened.json()["incident_id"], "--out", str(tmp_path / "b"), fresh_session=True)
    assert run.exit_code == 7
    assert "does not implement" not in run.stderr and "after 2 attempt(s)" in run.stderr
    assert plain_moto.seen.count("LookupEvents") == 2


def test_in_process_moto_without_the_stand_in(iam, cli, tmp_path):
    creds = open_role_incident(cli, region="us-east-1")
    run = cli("evidence", "collect", creds["incident_id"], "--out", str(tmp_path / "b"))
    assert run.exit_code == 7
    [line] = run.stderr.strip().splitlines()
    assert "the in-process moto (mock_aws) does not implement CloudTrail LookupEvents" in line
    assert "install_cloudtrail_lookup" in line and "`breakglass_sandbox`" in line


def test_an_endpoint_elsewhere_is_told_to_point_somewhere_else():
    err = lookup_unimplemented("https://cloudtrail.internal.example", "it answered HTTP 501")
    assert err.exit_code == 7
    assert err.message == (
        "the CloudTrail endpoint https://cloudtrail.internal.example does not implement LookupEvents "
        "(it answered HTTP 501)"
    )
    assert "AWS_ENDPOINT_URL_CLOUDTRAIL" in (err.remediation or "") and "sandbox" not in (err.remediation or "")


def test_upload_keys_are_the_incident_id_whatever_out_is(incident, cli, tmp_path):  # noqa: F811
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="evidence-locked", ObjectLockEnabledForBucket=True)
    for out, url in (
        (tmp_path / "my-case-notes", "s3://evidence-locked/incidents"),
        (tmp_path / "x", "s3://evidence-locked"),
    ):
        run = cli("evidence", "collect", incident["incident_id"], "--out", str(out), "--upload", url)
        assert run.exit_code == 0, run.stderr
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket="evidence-locked")["Contents"]}
    names = [*FILES, "manifest.json"]
    assert keys == {f"incidents/{incident['incident_id']}/{n}" for n in names} | {
        f"{incident['incident_id']}/{n}" for n in names
    }
