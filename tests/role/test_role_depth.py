"""The role path's round trips: GetCallerIdentity and AssumeRole are in flight together (one
level), the record is opened with the declared name and completed with the caller's identity,
and the journal still verifies."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import boto3
import pytest

from breakglass_aws.models import PENDING_ARN
from breakglass_aws.testing import FaultProxy, MotoServer, critical_depth, env_for
from tests.conftest import ACCOUNT, MFA, TRUST
from tests.support.role import assume

BREAKGLASS = str(Path(sys.executable).with_name("breakglass"))


def test_the_record_is_completed_with_the_callers_identity(iam, cli):
    opened = assume(cli, "--format", "json").json()
    shown = cli("show", opened["incident_id"], "--output", "json").json()
    assert shown["requester"]["arn"].startswith("arn:aws:") and shown["requester"]["arn"] != PENDING_ARN
    assert shown["requester"]["account"] == ACCOUNT and shown["requester"]["name"] == "oncall"
    kinds = [e["kind"] for e in shown["journal"]]
    assert kinds.index("identified") > kinds.index("opened")
    assert cli("journal", "verify", opened["incident_id"]).exit_code == 0


def test_a_failed_identity_keeps_the_declared_name_and_the_credentials(iam, cli):
    def refuse(**_):
        from botocore.awsrequest import AWSResponse

        parsed = {
            "Error": {"Code": "ServiceUnavailable", "Message": "down"},
            "ResponseMetadata": {"HTTPStatusCode": 503},
        }
        return AWSResponse("https://injected", 503, {}, None), parsed

    run = assume(cli, "--format", "json", hooks=[("before-call.sts.GetCallerIdentity", refuse)])
    assert run.exit_code == 0, run.stderr
    assert run.json()["AccessKeyId"] and "identity could not be read" in run.stderr
    shown = cli("show", run.json()["incident_id"], "--output", "json").json()
    assert shown["requester"]["arn"] == PENDING_ARN and shown["requester"]["name"] == "oncall"
    assert cli("journal", "verify", run.json()["incident_id"]).exit_code == 0


@pytest.mark.e2e
def test_one_level_of_requests_through_a_slow_network(tmp_path):
    server = MotoServer().start()
    proxy = None
    try:
        iam = boto3.client("iam", region_name="us-east-1", endpoint_url=server.url)
        iam.create_role(RoleName="BreakGlassAdmin", AssumeRolePolicyDocument=json.dumps(TRUST))
        proxy = FaultProxy(server.url, latency=0.3).start()
        env = env_for(proxy.url)
        env.update(XDG_STATE_HOME=str(tmp_path / "state"), XDG_CONFIG_HOME=str(tmp_path / "config"), USER="oncall")
        args = ["role", "assume", "--account", ACCOUNT, "--reason", "r", "--mfa-serial", MFA, "--token-code", "123456"]
        done = subprocess.run(
            [BREAKGLASS, *args, "--format", "json", "--no-agent"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        assert sorted(proxy.seen) == ["AssumeRole", "GetCallerIdentity"]
        assert critical_depth(proxy.spans) == 1, [(s.operation, s.start, s.end) for s in proxy.spans]
    finally:
        if proxy is not None:
            proxy.stop()
        server.stop()
