"""`restore --expired` is what cron runs: it must exit non-zero while a clean-up is still pending."""

from __future__ import annotations

import json
from typing import Any

from botocore.awsrequest import AWSResponse

from tests.conftest import ACCOUNT
from tests.support.faults import _Raw
from tests.support.rotation import USER, keys, make_user, secret

POLICY = "AWSRevokeOlderSessions"


def iam_down(**_: Any) -> tuple[AWSResponse, dict[str, Any]]:
    error = {"Code": "ServiceUnavailable", "Message": "injected"}
    parsed = {"Error": error, "ResponseMetadata": {"HTTPStatusCode": 503}}
    return AWSResponse("https://injected", 503, {}, _Raw(b"")), parsed


def test_cron_sweep_fails_until_the_deferred_close_is_done(iam, cli):
    opened = cli("role", "assume", "--account", ACCOUNT, "--reason", "idp down", "--format", "json")
    assert opened.exit_code == 0, opened.stderr
    incident_id = json.loads(opened.stdout)["incident_id"]
    down = [("before-call.iam.PutRolePolicy", iam_down)]
    closing = cli("close", incident_id, "--yes", hooks=down)
    assert closing.exit_code == 7, "nothing was changed in AWS yet: the outage's own code"
    assert cli("show", incident_id, "--output", "json").json()["status"] == "needs-attention"
    swept = cli("restore", "--expired", hooks=down)
    assert swept.exit_code == 8, swept.stderr
    assert f"clean-up still pending: {incident_id}" in swept.stderr
    assert POLICY not in iam.list_role_policies(RoleName="BreakGlassAdmin")["PolicyNames"]
    healed = cli("restore", "--expired")
    assert healed.exit_code == 0, healed.stderr
    assert POLICY in iam.list_role_policies(RoleName="BreakGlassAdmin")["PolicyNames"]
    assert cli("show", incident_id, "--output", "json").json()["status"] == "closed"


def test_a_resumed_close_rotates_the_users_the_first_close_named(iam, aws_clients, cli):
    _, sm = aws_clients
    old_key = make_user(iam, sm, keys=1)[0]
    opened = cli("role", "assume", "--account", ACCOUNT, "--reason", "idp down", "--format", "json")
    incident_id = json.loads(opened.stdout)["incident_id"]
    down = [("before-call.iam.PutRolePolicy", iam_down)]
    closing = cli("close", incident_id, "--yes", "--user", USER, hooks=down)
    assert closing.exit_code == 7, "nothing was changed in AWS yet: the outage's own code"
    assert keys(iam) == {old_key: "Active"}, "nothing rotated while the close is stuck at revoke"
    healed = cli("restore", "--expired")
    assert healed.exit_code == 0, healed.stderr
    now = keys(iam)
    assert old_key not in now and list(now.values()) == ["Active"]
    assert secret(sm)["access_key_id"] == next(iter(now))
