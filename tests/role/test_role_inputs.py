"""Role mode edge cases: ASCII-only attribution, ticket tags, the MFA prompt, console failures,
`exec` (exit codes, signals, the child's own options), approvals offline, honest hints."""

from __future__ import annotations

import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from botocore.awsrequest import AWSResponse

from tests.conftest import ACCOUNT, MFA
from tests.support.faults import _Raw
from tests.support.role import Capture
from tests.support.store import TABLE, make_table


def assume(cli, *extra, **kwargs):
    return cli("role", "assume", "--account", ACCOUNT, "--reason", "IdP down", *extra, **kwargs)


def opened_id(cli, *extra):
    run = assume(cli, "--format", "json", *extra)
    assert run.exit_code == 0, run.stderr
    return run.json()["incident_id"]


def calls_hook(calls):
    return ("before-call", lambda model=None, **_: calls.append(model.name))


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("José Müller", "Jose-Muller"),
        ("Łukasz Żółć", "Lukasz-Zolc"),
        ("Søren Weiß", "Soren-Weiss"),
        ("李雷", "breakglass"),
        ("Ana", "Ana"),
    ],
)
def test_source_identity_is_ascii(iam, cli, monkeypatch, name, expected):
    monkeypatch.setenv("BREAKGLASS_REQUESTER_NAME", name)
    cap = Capture()
    run = assume(cli, "--format", "json", hooks=[cap.hook()])
    assert run.exit_code == 0, run.stderr
    assert cap.sent[0]["SourceIdentity"] == expected
    assert cli("show", run.json()["incident_id"], "--output", "json").json()["role"]["source_identity"] == expected


def test_non_ascii_role_name_is_refused(iam, cli):
    calls = []
    run = assume(cli, "--role-name", "Bréak", hooks=[calls_hook(calls)])
    assert run.exit_code == 2 and "invalid role name" in run.stderr and calls == []


def test_ticket_tag_is_sanitized_but_recorded_as_typed(iam, cli):
    cap = Capture()
    run = assume(cli, "--format", "json", "--ticket", "JIRA#42", hooks=[cap.hook()])
    assert run.exit_code == 0, run.stderr
    tags = {t["Key"]: t["Value"] for t in cap.sent[0]["Tags"]}
    assert tags["breakglass:ticket"] == "JIRA-42"
    assert cli("show", run.json()["incident_id"], "--output", "json").json()["ticket"] == "JIRA#42"
    incident_id = run.json()["incident_id"]
    cap.sent.clear()
    execd = cli("exec", incident_id, "--", sys.executable, "-c", "pass", hooks=[cap.hook()])
    assert execd.exit_code == 0, execd.stderr
    assert {t["Key"]: t["Value"] for t in cap.sent[0]["Tags"]}["breakglass:ticket"] == "JIRA-42"


def test_mfa_prompt_is_hidden(iam, cli):
    cap = Capture()
    run = assume(cli, "--mfa-serial", MFA, "--format", "json", hooks=[cap.hook()], input="654321\n")
    assert run.exit_code == 0, run.stderr
    assert cap.sent[0]["TokenCode"] == "654321" and cap.sent[0]["SerialNumber"] == MFA
    assert "MFA code" in run.stderr
    assert "654321" not in run.stderr and "654321" not in run.stdout


@pytest.mark.parametrize("typed", ["12345", "12a456", "1234567", ""])
def test_bad_mfa_code_at_the_prompt_makes_no_call(iam, cli, typed):
    calls = []
    run = assume(cli, "--mfa-serial", MFA, hooks=[calls_hook(calls)], input=f"{typed}\n")
    assert run.exit_code == 2, run.stderr
    assert "6 digits" in run.stderr or "no MFA code" in run.stderr
    assert calls == []
    assert cli("list", "--output", "json").json() == []


class _Federation500(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(500)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *_):
        return None


def test_console_url_failure_is_reported_with_the_incident(iam, cli, monkeypatch):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Federation500)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.setenv("BREAKGLASS_FEDERATION_URL", f"http://127.0.0.1:{server.server_address[1]}/federation")
        run = assume(cli, "--console")
    finally:
        server.shutdown()
        server.server_close()
    assert run.exit_code == 7, run.stderr
    (incident,) = cli("list", "--output", "json").json()
    assert incident["status"] == "active"
    line = run.stderr.strip().splitlines()[-1]
    assert incident["incident_id"] in line and f"breakglass exec {incident['incident_id']}" in line
    assert "bug" not in run.stderr and "HTTPError" in line


def test_exec_passes_the_exit_code_through(iam, cli):
    incident_id = opened_id(cli)
    run = cli("exec", incident_id, "--", sys.executable, "-c", "import sys; sys.exit(17)")
    assert run.exit_code == 17


def test_exec_child_killed_by_a_signal(iam, cli):
    incident_id = opened_id(cli)
    run = cli("exec", incident_id, "--", sys.executable, "-c", "import os, signal; os.kill(os.getpid(), 15)")
    assert run.exit_code == 128 + 15


def test_exec_of_a_non_executable_file(iam, cli, tmp_path):
    script = tmp_path / "script.sh"
    script.write_text("#!/bin/sh\necho hi\n")
    os.chmod(script, 0o644)
    incident_id = opened_id(cli)
    run = cli("exec", incident_id, "--", str(script))
    assert run.exit_code == 126, "as shells exit for a command that cannot be run"
    (line,) = run.stderr.strip().splitlines()
    assert "permission denied" in line and "hint:" in line


def test_exec_child_options_stay_with_the_child(iam, cli, tmp_path):
    out = tmp_path / "argv.json"
    incident_id = opened_id(cli)
    code = f"import json, os, sys; open({str(out)!r}, 'w').write(json.dumps([sys.argv[1:], os.environ['AWS_REGION']]))"
    run = cli("exec", incident_id, sys.executable, "-c", code, "--region", "eu-west-1", "--output", "json")
    assert run.exit_code == 0, run.stderr
    assert json.loads(out.read_text()) == [["--region", "eu-west-1", "--output", "json"], "us-east-1"]
    verbose = cli("exec", incident_id, "-v", "--", sys.executable, "-c", "pass")
    assert verbose.exit_code == 0, verbose.stderr


def test_exec_warns_that_region_is_the_incidents(iam, cli):
    incident_id = opened_id(cli)
    run = cli("--region", "eu-west-1", "exec", incident_id, "--", sys.executable, "-c", "pass")
    assert run.exit_code == 0, run.stderr
    assert "--region eu-west-1 is ignored" in run.stderr and "us-east-1" in run.stderr


def test_offline_request_that_nobody_could_approve_is_refused(iam, cli, monkeypatch):
    make_table("us-east-1")
    monkeypatch.setenv("BREAKGLASS_STORE", f"dynamodb://{TABLE}")
    monkeypatch.setenv("BREAKGLASS_APPROVALS_REQUIRED", "1")
    calls = []
    run = cli("--offline-store", "role", "assume", "--account", ACCOUNT, "--reason", "x", hooks=[calls_hook(calls)])
    assert run.exit_code == 2
    errors = [line for line in run.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "--emergency-override" in errors[0]
    assert calls == []
    assert cli("--offline-store", "list", "--output", "json").json() == []
    overridden = cli("--offline-store", "role", "assume", "--account", ACCOUNT, "--reason", "x", "--emergency-override")
    assert overridden.exit_code == 0, overridden.stderr


def answer(status, body=b"", code=None):
    def hook(**_):
        parsed = {"ResponseMetadata": {"HTTPStatusCode": status}}
        if code:
            parsed["Error"] = {"Code": code, "Message": "injected"}
        return AWSResponse("https://injected", status, {}, _Raw(body)), parsed

    return hook


def test_failed_assume_hint_says_a_rerun_opens_a_new_incident(iam, cli):
    run = assume(cli, hooks=[("before-call.sts.AssumeRole", answer(400, code="RegionDisabledException"))])
    assert run.exit_code == 7
    (incident,) = cli("list", "--output", "json").json()
    assert incident["status"] == "failed"
    assert "resumes" not in run.stderr
    assert "opens a new incident" in run.stderr and incident["incident_id"] in run.stderr


def test_http_503_message_names_the_status_once(iam, cli, monkeypatch):
    monkeypatch.setenv("BREAKGLASS_MAX_ATTEMPTS", "1")

    def unavailable(request=None, **_):
        return AWSResponse(request.url, 503, {}, _Raw(b""))

    run = assume(cli, hooks=[("before-send.sts.AssumeRole", unavailable)])
    assert run.exit_code == 7
    assert "HTTP 503 after 1 attempt(s)" in run.stderr and "503 503" not in run.stderr


def test_sts_calls_go_to_the_regional_endpoint(iam, cli):
    urls = []
    hook = ("before-send.sts", lambda request=None, **_: urls.append(request.url))
    run = assume(cli, "--region", "eu-west-1", "--format", "json", hooks=[hook])
    assert run.exit_code == 0, run.stderr
    hosts = {url.split("/")[2] for url in urls}
    assert hosts == {"sts.eu-west-1.amazonaws.com"}
    assert len(urls) == 2, "GetCallerIdentity and AssumeRole"
