"""Role mode under bad input, AWS refusals, crashes; and the secret scan over the whole flow."""

from __future__ import annotations

import json
import sys

import pytest
from botocore.awsrequest import AWSResponse

from tests.conftest import ACCOUNT, FAKE_SECRET, MFA, ROLE
from tests.support.faults import _Raw
from tests.support.role import assume, revoke_policy

pytestmark = pytest.mark.reliability

VALID_ID = "bg-20260101-000000-abcdef"


def sts_reject(code, message, operation="AssumeRole", times=1_000_000):
    left = [times]

    def hook(**_):
        if left[0] <= 0:
            return None
        left[0] -= 1
        parsed = {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": 403}}
        return AWSResponse("https://injected", 403, {}, _Raw(b"")), parsed

    return f"before-call.sts.{operation}", hook


BASE = ["role", "assume", "--reason", "x"]
BAD = [
    ("bad account", [*BASE, "--account", "12345"], "invalid account id"),
    ("account and arn", [*BASE, "--account", ACCOUNT, "--role-arn", ROLE], "exactly one of"),
    ("neither account nor arn", BASE, "exactly one of"),
    ("arn of a user", [*BASE, "--role-arn", f"arn:aws:iam::{ACCOUNT}:user/bob"], "invalid role ARN"),
    ("arn garbage", [*BASE, "--role-arn", "BreakGlassAdmin"], "invalid role ARN"),
    ("bad role name", [*BASE, "--account", ACCOUNT, "--role-name", "has space"], "invalid role name"),
    ("code too short", [*BASE, "--account", ACCOUNT, "--mfa-serial", MFA, "--token-code", "12345"], "6 digits"),
    ("code letters", [*BASE, "--account", ACCOUNT, "--mfa-serial", MFA, "--token-code", "12a456"], "6 digits"),
    ("code without device", [*BASE, "--account", ACCOUNT, "--token-code", "123456"], "needs an MFA device"),
    (
        "bad mfa serial",
        [*BASE, "--account", ACCOUNT, "--mfa-serial", "phone", "--token-code", "123456"],
        "invalid MFA serial",
    ),
    ("duration too short", [*BASE, "--account", ACCOUNT, "--duration", "10m"], "between 15m and 12h"),
    ("duration too long", [*BASE, "--account", ACCOUNT, "--duration", "13h"], "between 15m and 12h"),
    ("duration garbage", [*BASE, "--account", ACCOUNT, "--duration", "forever"], "invalid --duration"),
    ("bad format", [*BASE, "--account", ACCOUNT, "--format", "yaml"], "invalid --format"),
    ("no reason", ["role", "assume", "--account", ACCOUNT], "--reason is required"),
    ("exec unknown incident", ["exec", VALID_ID, "--", "true"], "no incident"),
    ("exec malformed id", ["exec", "nope", "--", "true"], "invalid incident id"),
    ("exec without command", ["exec", VALID_ID], "no command given"),
    ("close unknown incident", ["close", VALID_ID], "no incident"),
    ("close malformed id", ["close", "bg-1"], "invalid incident id"),
    (
        "revoke bad timestamp",
        ["role", "revoke-sessions", "--account", ACCOUNT, "--before", "yesterday"],
        "invalid timestamp",
    ),
    ("revoke bad arn", ["role", "revoke-sessions", "--role-arn", "arn:aws:s3:::bucket"], "invalid role ARN"),
]


@pytest.mark.parametrize(("name", "argv", "fragment"), BAD, ids=[b[0] for b in BAD])
def test_bad_input_makes_no_call(iam, cli, name, argv, fragment):
    calls = []
    run = cli(*argv, hooks=[("before-call", lambda model=None, **_: calls.append(model.name))])
    assert run.exit_code == 2, run.stderr
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and fragment in lines[0] and "hint:" in lines[0]
    assert calls == []
    assert cli("list", "--output", "json").json() == []


def test_exec_on_an_scp_incident_is_refused(org, cli):
    p = org.new_policy("Deny")
    org.attach(p, org.account)
    opened = cli("scp", "detach", "--target", org.account, "--reason", "x", "--yes", "--output", "json").json()
    run = cli("exec", opened["incident_id"], "--", "true")
    assert run.exit_code == 2 and "is a scp incident" in run.stderr


@pytest.mark.parametrize(
    ("code", "message", "exit_code", "fragment"),
    [
        ("AccessDenied", "User is not authorized to perform: sts:AssumeRole", 6, "not authorized to assume"),
        ("AccessDenied", "MultiFactorAuthentication failed with invalid MFA one time pass code.", 6, "MFA code"),
        (
            "ValidationError",
            "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
            2,
            "maximum session duration",
        ),
        ("ExpiredToken", "The security token included in the request is expired", 6, "expired"),
    ],
)
def test_assume_refusals(iam, cli, code, message, exit_code, fragment):
    run = assume(cli, hooks=[sts_reject(code, message)])
    assert run.exit_code == exit_code, run.stderr
    assert fragment in run.stderr and "hint:" in run.stderr
    assert run.stdout == ""
    (incident,) = cli("list", "--output", "json").json()
    assert incident["status"] == "failed"


def test_throttled_assume_exits_7(iam, cli, monkeypatch):
    monkeypatch.setenv("BREAKGLASS_MAX_ATTEMPTS", "2")
    hook = ("before-send.sts", lambda request=None, **_: _throttle(request))
    run = assume(cli, hooks=[hook])
    assert run.exit_code == 7
    assert "Throttling" in run.stderr


def _throttle(request):
    body = request.body or b""
    if b"AssumeRole" not in (body if isinstance(body, bytes) else body.encode()):
        return None
    body = b"<ErrorResponse><Error><Code>Throttling</Code><Message>Rate exceeded</Message></Error></ErrorResponse>"
    return AWSResponse("https://injected", 400, {}, _Raw(body))


class Crash(BaseException):
    pass


@pytest.mark.parametrize("event", ["before-call.sts.AssumeRole", "after-call.sts.AssumeRole"])
def test_crash_around_assume_then_close_revokes(iam, cli, event):
    def boom(**_):
        raise Crash

    with pytest.raises(Crash):
        assume(cli, hooks=[(event, boom)])
    (incident,) = cli("list", "--output", "json").json()
    shown = cli("show", incident["incident_id"], "--output", "json").json()
    assert shown["journal"][-1]["kind"] == "intent"
    closed = cli("close", incident["incident_id"], "--yes")
    assert closed.exit_code == 0, closed.stderr
    assert revoke_policy(iam)["Statement"][0]["Effect"] == "Deny"
    assert cli("journal", "verify", incident["incident_id"]).exit_code == 0


@pytest.mark.parametrize("event", ["before-call.iam.PutRolePolicy", "after-call.iam.PutRolePolicy"])
def test_crash_during_close_then_close_again(iam, cli, event):
    opened = assume(cli, "--format", "json").json()

    def boom(**_):
        raise Crash

    with pytest.raises(Crash):
        cli("close", opened["incident_id"], "--yes", hooks=[(event, boom)])
    assert cli("list", "--output", "json").json()[0]["status"] == "closing"
    again = cli("close", opened["incident_id"], "--yes")
    assert again.exit_code == 0, again.stderr
    assert revoke_policy(iam)["Statement"][0]["Effect"] == "Deny"
    assert cli("list", "--output", "json").json()[0]["status"] == "closed"


def test_secret_scan_whole_role_flow(iam, cli, tmp_path, capfd, monkeypatch):
    monkeypatch.setenv("BREAKGLASS_MFA_SERIAL", MFA)
    opened = cli(
        "-vv", "role", "assume", "--account", ACCOUNT, "--reason", "x", "--token-code", "918273", "--format", "json"
    )
    assert opened.exit_code == 0, opened.stderr
    creds = json.loads(opened.stdout)
    secrets = [creds["SecretAccessKey"], creds["SessionToken"], "918273", FAKE_SECRET]
    out = tmp_path / "child.txt"
    code = f"import os; open({str(out)!r},'w').write(os.environ['AWS_SESSION_TOKEN'])"
    execd = cli("-vv", "exec", creds["incident_id"], "--token-code", "918273", "--", sys.executable, "-c", code)
    secrets.append(out.read_text())
    others = [
        cli("-vv", "show", creds["incident_id"]),
        cli("show", creds["incident_id"], "--output", "json"),
        cli("-vv", "list"),
        cli("list", "--output", "json"),
        cli("-vv", "close", creds["incident_id"], "--yes"),
        cli("journal", "verify", creds["incident_id"]),
    ]
    assert [r.exit_code for r in others] == [0] * len(others), [r.stderr for r in others]
    shown_after_close = cli("show", creds["incident_id"])
    assert shown_after_close.exit_code == 0, shown_after_close.stderr
    assert "revoke-sessions" in shown_after_close.stdout
    others.append(shown_after_close)
    captured = capfd.readouterr()
    texts = [opened.stderr, execd.stdout, execd.stderr, captured.err, captured.out]
    texts += [r.stdout + r.stderr for r in others]
    state = tmp_path / "state" / "breakglass"
    blobs = [p.read_bytes() for p in state.iterdir()]
    for secret in secrets:
        assert all(secret not in t for t in texts), "a secret reached logs or another command's output"
        assert all(secret.encode() not in b for b in blobs), "a secret reached the journal"
    journal = cli("show", creds["incident_id"], "--output", "json").json()["journal"]
    outcome = next(e for e in journal if e["kind"] == "outcome")
    assert outcome["data"]["result"]["access_key_id"] == creds["AccessKeyId"]
