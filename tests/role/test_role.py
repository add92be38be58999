"""Role mode: what AssumeRole receives, how credentials are handed out, console URL, revocation."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import boto3

from breakglass_aws.role.revoke import POLICY_NAME
from tests.conftest import ACCOUNT, MFA, ROLE, TRUST
from tests.support.role import Capture, assume, revoke_policy


def test_assume_role_request(iam, cli, monkeypatch):
    monkeypatch.setenv("BREAKGLASS_REQUESTER_NAME", "Alice Smith (SRE)")
    cap = Capture()
    run = assume(cli, "--format", "json", "--duration", "2h", hooks=[cap.hook()])
    assert run.exit_code == 0, run.stderr
    (sent,) = cap.sent
    incident_id = run.json()["incident_id"]
    assert sent["RoleArn"] == ROLE
    assert sent["RoleSessionName"] == f"breakglass-{incident_id}"
    assert sent["SourceIdentity"] == "Alice-Smith--SRE"
    assert sent["SerialNumber"] == MFA and sent["TokenCode"] == "123456"
    assert sent["DurationSeconds"] == 7200
    assert {t["Key"]: t["Value"] for t in sent["Tags"]} == {
        "breakglass:incident": incident_id,
        "breakglass:ticket": "INC-5",
    }


def test_duration_capped_by_configured_maximum(iam, cli):
    cap = Capture()
    run = assume(cli, "--duration", "6h", hooks=[cap.hook()])
    assert run.exit_code == 0, run.stderr
    assert cap.sent[0]["DurationSeconds"] == 4 * 3600
    assert "capped at the configured maximum" in run.stderr


def test_role_chaining_caps_at_one_hour_and_omits_console_session_duration(iam, cli, monkeypatch):
    sts = boto3.client("sts", region_name="us-east-1")
    creds = sts.assume_role(RoleArn=f"arn:aws:iam::{ACCOUNT}:role/Responder", RoleSessionName="me")["Credentials"]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", creds["AccessKeyId"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", creds["SecretAccessKey"])
    monkeypatch.setenv("AWS_SESSION_TOKEN", creds["SessionToken"])
    cap = Capture()
    stub = FederationStub()
    run = assume(cli, "--duration", "3h", "--console", hooks=[cap.hook()], fresh_session=True, http_get=stub)
    assert run.exit_code == 0, run.stderr
    assert cap.sent[0]["DurationSeconds"] == 3600
    assert "role chaining" in run.stderr
    assert "SessionDuration" not in stub.queries[0]


class FederationStub:
    """Stands in for signin.aws.amazon.com/federation through the injectable getter."""

    def __init__(self):
        self.queries: list[dict] = []

    def __call__(self, url):
        from urllib.parse import parse_qs, urlparse

        query = {k: v[0] for k, v in parse_qs(urlparse(url).query).items()}
        self.queries.append(query)
        assert query["Action"] == "getSigninToken"
        return json.dumps({"SigninToken": "signin-token-xyz"})


def test_console_url(iam, cli):
    from urllib.parse import parse_qs, urlparse

    stub = FederationStub()
    run = assume(cli, "--duration", "2h", "--console", http_get=stub)
    assert run.exit_code == 0, run.stderr
    session = json.loads(stub.queries[0]["Session"])
    assert set(session) == {"sessionId", "sessionKey", "sessionToken"}
    assert stub.queries[0]["SessionDuration"] == "7200"
    url = urlparse(run.stdout.strip())
    login = {k: v[0] for k, v in parse_qs(url.query).items()}
    assert url.netloc == "signin.aws.amazon.com"
    assert login == {
        "Action": "login",
        "Issuer": "breakglass-aws",
        "Destination": "https://console.aws.amazon.com/",
        "SigninToken": "signin-token-xyz",
    }


def test_console_url_against_a_stub_endpoint_on_loopback(iam, cli, monkeypatch):
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from threading import Thread
    from urllib.parse import parse_qs, urlparse

    seen = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            seen.append({k: v[0] for k, v in parse_qs(urlparse(self.path).query).items()})
            body = b'{"SigninToken": "tok-loopback"}'
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.setenv("BREAKGLASS_FEDERATION_URL", f"http://127.0.0.1:{server.server_address[1]}/federation")
        run = assume(cli, "--console")
    finally:
        server.shutdown()
    assert run.exit_code == 0, run.stderr
    assert seen[0]["SessionDuration"] == "3600"
    assert "SigninToken=tok-loopback" in run.stdout


def test_env_format_is_eval_able(iam, cli):
    run = assume(cli)
    assert run.exit_code == 0, run.stderr
    shown = subprocess.run(
        ["bash", "-c", 'eval "$1"; printf "%s %s" "$AWS_ACCESS_KEY_ID" "$AWS_REGION"', "_", run.stdout],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    key, region = shown.split()
    assert key.startswith("ASIA") and region == "us-east-1"


def test_credential_process_format_loads_in_botocore(iam, cli, tmp_path, monkeypatch):
    run = assume(cli, "--format", "credential-process")
    answer = json.loads(run.stdout)
    assert answer["Version"] == 1 and set(answer) == {
        "Version",
        "AccessKeyId",
        "SecretAccessKey",
        "SessionToken",
        "Expiration",
    }
    saved = tmp_path / "answer.json"
    saved.write_text(run.stdout)
    config = tmp_path / "aws-config"
    config.write_text(f"[profile bg]\ncredential_process = cat {saved}\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    loaded = boto3.Session(profile_name="bg").get_credentials().get_frozen_credentials()
    assert loaded.access_key == answer["AccessKeyId"] and loaded.token == answer["SessionToken"]


def test_assume_with_command_passes_exit_code(iam, cli, tmp_path):
    out = tmp_path / "child.txt"
    code = f"import os,sys; open({str(out)!r},'w').write(os.environ['AWS_ACCESS_KEY_ID']); sys.exit(3)"
    run = assume(cli, "--", sys.executable, "-c", code)
    assert run.exit_code == 3
    assert out.read_text().startswith("ASIA")


def test_exec_reassumes_for_an_open_incident(iam, cli, tmp_path):
    opened = assume(cli, "--format", "json").json()
    out = tmp_path / "child.txt"
    code = f"import os; open({str(out)!r},'w').write(os.environ['AWS_ACCESS_KEY_ID'])"
    cap = Capture()
    run = cli(
        "exec", opened["incident_id"], "--token-code", "654321", "--", sys.executable, "-c", code, hooks=[cap.hook()]
    )
    assert run.exit_code == 0, run.stderr
    assert out.read_text().startswith("ASIA") and out.read_text() != opened["AccessKeyId"]
    assert cap.sent[0]["RoleSessionName"] == f"breakglass-{opened['incident_id']}"
    shown = cli("show", opened["incident_id"], "--output", "json").json()
    assert [s["access_key_id"] for s in shown["role"]["sessions"]] == [opened["AccessKeyId"], out.read_text()]


def test_revoke_sessions_document_and_merge(iam, cli):
    run = cli("role", "revoke-sessions", "--account", ACCOUNT, "--before", "2026-01-02T03:04:05Z")
    assert run.exit_code == 0, run.stderr
    doc = revoke_policy(iam)
    assert doc["Statement"] == [
        {
            "Effect": "Deny",
            "Action": ["*"],
            "Resource": ["*"],
            "Condition": {"DateLessThan": {"aws:TokenIssueTime": "2026-01-02T03:04:05Z"}},
        }
    ]
    earlier = cli("role", "revoke-sessions", "--role-arn", ROLE, "--before", "2025-06-01T00:00:00Z")
    assert earlier.exit_code == 0
    assert (
        revoke_policy(iam)["Statement"][0]["Condition"]["DateLessThan"]["aws:TokenIssueTime"] == "2026-01-02T03:04:05Z"
    ), "an earlier cut-off never weakens an existing revocation"
    later = cli("role", "revoke-sessions", "--role-arn", ROLE, "--before", "2026-03-01T00:00:00Z", "--output", "json")
    assert later.json()["revoked"]["previous_cutoff"] == "2026-01-02T03:04:05Z"
    assert (
        revoke_policy(iam)["Statement"][0]["Condition"]["DateLessThan"]["aws:TokenIssueTime"] == "2026-03-01T00:00:00Z"
    )


def test_close_role_incident_revokes_at_close_time(iam, cli):
    opened = assume(cli, "--format", "json").json()
    closing = datetime(2026, 11, 29, 12, 0, 0, tzinfo=UTC)
    run = cli("close", opened["incident_id"], "--yes", clock=lambda: closing)
    assert run.exit_code == 0, run.stderr
    assert "revoked every session" in run.stdout
    assert (
        revoke_policy(iam)["Statement"][0]["Condition"]["DateLessThan"]["aws:TokenIssueTime"] == "2026-11-29T12:00:00Z"
    )
    listed = cli("list", "--output", "json").json()
    assert listed[0]["status"] == "closed"
    again = cli("close", opened["incident_id"], "--yes")
    assert again.exit_code == 0 and "already closed" in again.stdout


def test_cross_account_revoke_goes_through_the_member_role(aws, cli):
    org = boto3.client("organizations", region_name="us-east-1")
    org.create_organization(FeatureSet="ALL")
    member = org.create_account(Email="m@example.com", AccountName="m")["CreateAccountStatus"]["AccountId"]
    creds = boto3.client("sts", region_name="us-east-1").assume_role(
        RoleArn=f"arn:aws:iam::{member}:role/OrganizationAccountAccessRole", RoleSessionName="setup"
    )["Credentials"]
    member_iam = boto3.client(
        "iam",
        region_name="us-east-1",
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
    )
    member_iam.create_role(RoleName="BreakGlassAdmin", AssumeRolePolicyDocument=json.dumps(TRUST))
    run = cli("role", "revoke-sessions", "--account", member)
    assert run.exit_code == 0, run.stderr
    assert member_iam.get_role_policy(RoleName="BreakGlassAdmin", PolicyName=POLICY_NAME)


def test_revoke_missing_role_is_clear(aws, cli):
    run = cli("role", "revoke-sessions", "--account", ACCOUNT)
    assert run.exit_code == 2
    assert "BreakGlassAdmin" in run.stderr


def test_expired_incident_cannot_exec(iam, cli):
    opened = assume(cli, "--format", "json", "--duration", "15m").json()
    later = lambda: datetime.now(UTC) + timedelta(minutes=20)  # noqa: E731
    run = cli("exec", opened["incident_id"], "--token-code", "111111", "--", "true", clock=later)
    assert run.exit_code == 2 and "expires in 0s" in run.stderr


def test_two_engineers_on_one_role_and_close_tells_the_other(iam, cli):
    first = assume(cli, "--format", "json").json()
    second = assume(cli, "--format", "json").json()
    assert first["incident_id"] != second["incident_id"]
    run = cli("close", first["incident_id"], "--yes")
    assert run.exit_code == 0, run.stderr
    assert f"note: {second['incident_id']} is still open on this role" in run.stdout
    statuses = {i["incident_id"]: i["status"] for i in cli("list", "--output", "json").json()}
    assert statuses == {first["incident_id"]: "closed", second["incident_id"]: "active"}
