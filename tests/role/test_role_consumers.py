"""Role mode as its consumers use it: machine output while approvals are pending, the global
--output json, the recursion guard of a credential_process profile, and role incidents that
expire like SCP incidents."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import ACCOUNT
from tests.support.role import assume, revoke_policy
from tests.support.rotation import USER, keys, make_user, secret


@pytest.mark.parametrize("fmt", ["env", "credential-process"])
def test_approvals_pending_print_nothing_a_consumer_could_read(iam, cli, monkeypatch, fmt):
    monkeypatch.setenv("BREAKGLASS_APPROVALS_REQUIRED", "1")
    run = assume(cli, "--format", fmt)
    assert run.exit_code == 4
    assert run.stdout == ""
    listed = cli("list", "--output", "json").json()
    incident_id = listed[0]["incident_id"]
    assert listed[0]["status"] == "requested"
    assert f"breakglass approve {incident_id}" in run.stderr
    assert f"breakglass activate {incident_id} --format {fmt}" in run.stderr
    assert "Traceback" not in run.stderr


def test_approvals_pending_json_is_one_document_and_exit_4(iam, cli, monkeypatch):
    monkeypatch.setenv("BREAKGLASS_APPROVALS_REQUIRED", "1")
    run = assume(cli, "--format", "json")
    assert run.exit_code == 4
    document = json.loads(run.stdout)  # exactly one document
    assert document["status"] == "requested" and document["approvals_required"] == 1
    assert document["then"] == f"breakglass activate {document['incident_id']} --format json"


def test_global_output_json_means_format_json(iam, cli):
    run = assume(cli, "--output", "json")
    assert run.exit_code == 0, run.stderr
    document = json.loads(run.stdout)
    assert cli("list", "--output", "json").json()[0]["incident_id"] == document["incident_id"]
    assert {"AccessKeyId", "SecretAccessKey", "SessionToken"} <= set(document)


def test_an_explicit_format_wins_over_output_json(iam, cli):
    run = assume(cli, "--output", "json", "--format", "env")
    assert run.exit_code == 0, run.stderr
    assert "export AWS_ACCESS_KEY_ID=" in run.stdout


def _breakglass(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "breakglass_aws", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_a_profile_that_runs_breakglass_is_refused_before_any_call(tmp_path):
    config = tmp_path / "config"
    config.write_text(
        "[profile bg]\nregion = us-east-1\n"
        f"credential_process = breakglass role assume --account {ACCOUNT} --reason x --format credential-process\n"
        "[profile chained]\nrole_arn = arn:aws:iam::123456789012:role/x\nsource_profile = bg\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "BREAKGLASS_"))}
    env.update(AWS_CONFIG_FILE=str(config), AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"))
    env["AWS_ENDPOINT_URL"] = "http://127.0.0.1:9"  # nothing listens: a call would fail differently
    for profile in ("bg", "chained"):
        run = _breakglass({**env, "AWS_PROFILE": profile}, "role", "assume", "--account", ACCOUNT, "--reason", "x")
        assert run.returncode == 5, run.stderr
        assert "gets its credentials by running breakglass" in run.stderr and "'bg'" in run.stderr
        assert "--profile BASE" in run.stderr
        assert run.stdout == "" and "Traceback" not in run.stderr


def test_a_breakglass_started_by_its_own_credential_lookup_stops_at_once():
    env = {**os.environ, "BREAKGLASS_PARENT_PID": "4242"}
    run = _breakglass(env, "list")
    assert run.returncode == 5
    assert "started by breakglass (pid 4242)" in run.stderr
    assert run.stdout == ""


def test_exec_children_are_not_taken_for_a_recursion(iam, cli, tmp_path):
    opened = assume(cli, "--format", "json").json()
    out = tmp_path / "env.txt"
    run = cli(
        "exec",
        opened["incident_id"],
        "--token-code",
        "123456",
        "--",
        sys.executable,
        "-c",
        f"import os; open({str(out)!r}, 'w').write(os.environ.get('BREAKGLASS_PARENT_PID', 'unset'))",
    )
    assert run.exit_code == 0, run.stderr
    assert out.read_text() == "unset"


def test_restore_expired_closes_an_expired_role_incident(iam, cli):
    opened = assume(cli, "--format", "json", "--duration", "1h").json()
    later = datetime.now(UTC) + timedelta(hours=2)
    run = cli("restore", "--expired", "--output", "json", clock=lambda: later)
    assert run.exit_code == 0, run.stderr
    (result,) = run.json()
    assert result["incident_id"] == opened["incident_id"] and result["status"] == "closed"
    condition = revoke_policy(iam)["Statement"][0]["Condition"]["DateLessThan"]["aws:TokenIssueTime"]
    assert condition == later.strftime("%Y-%m-%dT%H:%M:%SZ")
    listed = cli("list", "--output", "json").json()
    assert listed[0]["status"] == "closed"
    again = cli("restore", "--expired", clock=lambda: later)
    assert again.exit_code == 0 and "no expired incident to restore" in again.stdout


def test_restore_expired_leaves_a_role_incident_before_its_expiry(iam, cli):
    opened = assume(cli, "--format", "json", "--duration", "1h").json()
    run = cli("restore", "--expired")
    assert run.exit_code == 0 and "no expired incident to restore" in run.stdout
    assert cli("list", "--output", "json").json()[0]["incident_id"] == opened["incident_id"]
    assert cli("list", "--output", "json").json()[0]["status"] == "active"


def test_the_scheduled_function_closes_an_expired_role_incident(iam, cli, monkeypatch):
    opened = assume(cli, "--format", "json", "--duration", "1h").json()
    later = datetime.now(UTC) + timedelta(hours=2)
    monkeypatch.setattr("breakglass_aws.runtime.utcnow", lambda: later, raising=False)
    from breakglass_aws import lambda_handler
    from breakglass_aws.runtime import Injected, build_runtime

    real_build = build_runtime

    def build(settings, injected=None):
        return real_build(settings, Injected(clock=lambda: later))

    monkeypatch.setattr(lambda_handler, "build_runtime", build)
    before = lambda_handler.handler({"incident_id": opened["incident_id"]})
    assert before["restored"] == [opened["incident_id"]] and before["failed"] == []
    assert cli("list", "--output", "json").json()[0]["status"] == "closed"
    assert "aws:TokenIssueTime" in json.dumps(revoke_policy(iam))


@pytest.fixture
def rotated_user(aws_clients, monkeypatch):
    iam, sm = aws_clients
    old = make_user(iam, sm, keys=1)
    monkeypatch.setenv("BREAKGLASS_ROTATE_USERS", json.dumps([USER]))
    return iam, sm, old


def _rotated_once(iam, sm, old) -> None:
    stored = secret(sm)
    assert keys(iam) == {stored["access_key_id"]: "Active"}, "one key: the new one, in the secret"
    assert stored["access_key_id"] not in old


def test_an_expired_role_incident_is_revoked_and_its_users_rotated_once_by_restore(iam, rotated_user, cli):
    _, sm, old = rotated_user
    opened = assume(cli, "--format", "json", "--duration", "1h").json()
    later = datetime.now(UTC) + timedelta(hours=2)
    run = cli("restore", "--expired", clock=lambda: later)
    assert run.exit_code == 0, run.stderr
    assert "aws:TokenIssueTime" in json.dumps(revoke_policy(iam))
    _rotated_once(iam, sm, old)
    after = keys(iam)
    assert cli("restore", "--expired", clock=lambda: later).exit_code == 0
    assert keys(iam) == after, "a second sweep rotates nothing"
    shown = cli("show", opened["incident_id"], "--output", "json").json()
    assert shown["status"] == "closed"
    assert cli("journal", "verify", opened["incident_id"]).exit_code == 0


def test_an_expired_role_incident_is_revoked_and_its_users_rotated_once_by_the_function(
    iam, rotated_user, cli, monkeypatch
):
    _, sm, old = rotated_user
    opened = assume(cli, "--format", "json", "--duration", "1h").json()
    later = datetime.now(UTC) + timedelta(hours=2)
    from breakglass_aws import lambda_handler
    from breakglass_aws.runtime import Injected, build_runtime

    def build(settings, injected=None):
        return build_runtime(settings, Injected(clock=lambda: later))

    monkeypatch.setattr(lambda_handler, "build_runtime", build)
    first = lambda_handler.handler({})
    assert first["restored"] == [opened["incident_id"]] and first["failed"] == []
    assert "aws:TokenIssueTime" in json.dumps(revoke_policy(iam))
    _rotated_once(iam, sm, old)
    after = keys(iam)
    again = lambda_handler.handler({"incident_id": opened["incident_id"]})
    assert again["failed"] == [] and keys(iam) == after
