"""`-v`: a line per AWS call (service, operation, the ids it acts on, HTTP status, time, attempts,
region, endpoint host); `-vv`: also each attempt's request line and each retry with its reason.
Never a secret, at any verbosity."""

from __future__ import annotations

import json
import re

import boto3
from botocore.awsrequest import AWSResponse

from tests.conftest import ACCOUNT
from tests.support.cli import one_line
from tests.support.faults import _Raw, fail
from tests.support.rotation import SECRET, USER, make_user
from tests.support.scp import seeded

CALL = re.compile(r"aws (\S+:\S+)(?: \S+=\S+)* -> (.+) in (\d+) ms, (\d+) attempts? \(([a-z0-9-]+), ([a-z0-9.-]+)\)")


def calls(stderr: str) -> list[tuple[str, ...]]:
    """(operation, outcome, ms, attempts, region, host) of each call line."""
    return [m.groups() for m in CALL.finditer(stderr)]


def test_verbose_names_service_operation_and_target(org, cli):
    ids = seeded(org, 1)
    run = cli("-v", "scp", "detach", "--target", org.account, "--reason", "x", "--yes")
    assert run.exit_code == 0, run.stderr
    assert f"aws organizations:ListPoliciesForTarget TargetId={org.account} -> HTTP 200" in run.stderr
    assert f"aws organizations:DetachPolicy TargetId={org.account} PolicyId={ids[0]} -> HTTP 200" in run.stderr
    seen = {c[0]: c for c in calls(run.stderr)}
    assert seen["organizations:DetachPolicy"][1:] == (
        "HTTP 200", seen["organizations:DetachPolicy"][2], "1", "us-east-1", "organizations.us-east-1.amazonaws.com"
    )  # fmt: skip
    assert seen["sts:GetCallerIdentity"][4:] == ("us-east-1", "sts.us-east-1.amazonaws.com")
    assert " attempt 1: POST " not in run.stderr, "request lines only with -vv"


def test_a_call_that_fails_after_its_attempts_is_one_line_with_its_error(org, cli, monkeypatch):
    monkeypatch.setenv("BREAKGLASS_MAX_ATTEMPTS", "2")
    seeded(org, 1)
    hook = fail("ListPoliciesForTarget", "TooManyRequestsException")
    run = cli("-v", "scp", "detach", "--target", org.account, "--reason", "x", "--yes", hooks=[hook])
    assert run.exit_code == 7
    listed = [c for c in calls(run.stderr) if c[0] == "organizations:ListPoliciesForTarget"]
    assert listed and {(c[1], c[3]) for c in listed} == {("TooManyRequestsException (HTTP 400)", "2")}
    assert run.stderr.count("aws organizations:ListPoliciesForTarget") == len(listed), "one line per call"


def test_vv_shows_each_attempt_and_each_retry_with_its_reason(org, cli, monkeypatch):
    monkeypatch.setenv("BREAKGLASS_MAX_ATTEMPTS", "3")
    ids = seeded(org, 1)
    hook = fail("DetachPolicy", "ConcurrentModificationException", times=1)
    run = cli("-vv", "scp", "detach", "--target", org.account, "--reason", "x", "--yes", hooks=[hook])
    assert run.exit_code == 0, run.stderr
    detach = f"aws organizations:DetachPolicy TargetId={org.account} PolicyId={ids[0]}"
    assert f"{detach} attempt 1: POST https://organizations.us-east-1.amazonaws.com/" in run.stderr
    assert f"{detach} retry, attempt 2: after ConcurrentModificationException (HTTP 400), waited " in run.stderr
    assert f"{detach} attempt 2: POST https://organizations.us-east-1.amazonaws.com/" in run.stderr
    assert [c[1:4:2] for c in calls(run.stderr) if c[0] == "organizations:DetachPolicy"] == [("HTTP 200", "2")]


def _s3_unavailable(request=None, **_):
    body = b"<Error><Code>InternalError</Code><Message>injected</Message></Error>"
    return AWSResponse(request.url, 500, {"Content-Type": "application/xml"}, _Raw(body))


def test_the_hint_says_run_with_v_only_when_v_is_off(org, cli, monkeypatch, tmp_path):
    monkeypatch.setenv("BREAKGLASS_MAX_ATTEMPTS", "2")
    seeded(org, 1)
    opened = cli("scp", "detach", "--target", org.account, "--reason", "x", "--yes", "--output", "json").json()
    args = ["evidence", "collect", opened["incident_id"], "--out", str(tmp_path / "b"), "--upload", "s3://ev-bucket/x"]
    hooks = [("before-send.s3", _s3_unavailable)]
    quiet = cli(*args, hooks=hooks)
    assert quiet.exit_code == 7 and "run with -v to see each AWS call" in one_line(quiet.stderr)
    loud = cli("-v", *args, hooks=hooks)
    assert loud.exit_code == 7
    assert "-v" not in one_line(loud.stderr).split("(hint:")[1], one_line(loud.stderr)
    assert ("s3:GetObjectLockConfiguration", "InternalError (HTTP 500)") in [c[:2] for c in calls(loud.stderr)]


KNOWN_SECRET = "known-secret-of-the-caller"
KNOWN_TOKEN = "known-session-token-of-the-caller"


def test_vv_never_shows_a_secret(iam, aws_clients, cli, monkeypatch):
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", KNOWN_SECRET)
    monkeypatch.setenv("AWS_SESSION_TOKEN", KNOWN_TOKEN)
    run = cli("-vv", "role", "assume", "--account", ACCOUNT, "--reason", "IdP down", "--format", "json")
    assert run.exit_code == 0, run.stderr
    handed = run.json()
    assert "sts:AssumeRole" in run.stderr and " attempt 1: POST https://sts." in run.stderr
    make_user(*aws_clients, keys=1, login=True)
    rotated = cli("-vv", "rotate", "--user", USER, fresh_session=True)
    assert rotated.exit_code == 0, rotated.stderr
    assert "secretsmanager:PutSecretValue" in rotated.stderr
    stored = json.loads(boto3.client("secretsmanager", "us-east-1").get_secret_value(SecretId=SECRET)["SecretString"])
    secrets = [KNOWN_SECRET, KNOWN_TOKEN, handed["SecretAccessKey"], handed["SessionToken"]]
    secrets += [stored["secret_access_key"], stored["password"]]
    for secret in secrets:
        assert secret not in run.stderr + rotated.stderr
