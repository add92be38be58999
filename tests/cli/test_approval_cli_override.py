"""The emergency override is flagged in every output: JSON of detach, assume, restore, close, show
and list; a comment in env output; a banner on stderr that --quiet does not silence."""

from __future__ import annotations

import json
import subprocess

import pytest

from breakglass_aws.models import FULL_AWS_ACCESS
from tests.conftest import ACCOUNT
from tests.support.approvals import locked_out

BANNER = "EMERGENCY OVERRIDE"


@pytest.fixture(autouse=True)
def approvals_required(monkeypatch):
    monkeypatch.setenv("BREAKGLASS_APPROVALS_REQUIRED", "1")


def test_scp_override_is_flagged_everywhere(org, cli):
    before = locked_out(org)
    detach = ("scp", "detach", "--target", org.account, "--reason", "x", "--yes", "--emergency-override")
    opened = cli("-q", *detach, "--output", "json")
    assert opened.exit_code == 0, opened.stderr
    assert BANNER in opened.stderr, "--quiet keeps the override banner"
    assert json.loads(opened.stdout)["override"] is True and org.scps(org.account) == {FULL_AWS_ACCESS}
    incident_id = opened.json()["incident_id"]
    assert cli("show", incident_id, "--output", "json").json()["override"] is True
    assert [i["override"] for i in cli("list", "--output", "json").json()] == [True]
    restored = cli("scp", "restore", incident_id, "--output", "json")
    assert restored.exit_code == 0 and restored.json()["override"] is True and org.snapshot() == before
    text = cli("scp", "restore", incident_id)
    assert text.exit_code == 0 and text.stdout.startswith(BANNER)


def test_scp_restore_of_an_ordinary_incident_says_no_override(org, cli, monkeypatch):
    monkeypatch.setenv("BREAKGLASS_APPROVALS_REQUIRED", "0")
    locked_out(org)
    opened = cli("scp", "detach", "--target", org.account, "--reason", "x", "--yes", "--output", "json").json()
    restored = cli("scp", "restore", opened["incident_id"], "--output", "json")
    assert restored.exit_code == 0 and restored.json()["override"] is False
    assert BANNER not in cli("scp", "restore", opened["incident_id"]).stdout


def test_role_override_is_flagged_in_json_env_and_close(iam, cli):
    assume = ("role", "assume", "--account", ACCOUNT, "--reason", "x", "--emergency-override")
    as_json = cli("-q", *assume, "--format", "json")
    assert as_json.exit_code == 0, as_json.stderr
    assert BANNER in as_json.stderr
    creds = json.loads(as_json.stdout)
    assert creds["override"] is True and creds["AccessKeyId"]
    env = cli("-q", *assume)
    assert env.exit_code == 0 and BANNER in env.stderr
    comments = [line for line in env.stdout.splitlines() if line.startswith("#")]
    assert any(BANNER in line for line in comments)
    shell = subprocess.run(
        ["bash", "-c", 'eval "$EXPORTS" && printf %s "$AWS_ACCESS_KEY_ID"'],
        env={"EXPORTS": env.stdout, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert shell.stdout.startswith("ASIA") and shell.stderr == ""
    closed = cli("close", creds["incident_id"], "--yes", "--skip-rotation", "--output", "json")
    assert closed.exit_code == 0, closed.stderr
    assert closed.json()["override"] is True and closed.json()["status"] == "closed"
    text = cli("close", env.stdout.split()[3].rstrip(":"), "--yes", "--skip-rotation")
    assert text.exit_code == 0 and text.stdout.startswith(BANNER)


def test_role_without_override_has_no_flag(iam, cli, monkeypatch):
    monkeypatch.setenv("BREAKGLASS_APPROVALS_REQUIRED", "0")
    as_json = cli("role", "assume", "--account", ACCOUNT, "--reason", "x", "--format", "json")
    assert as_json.exit_code == 0 and as_json.json()["override"] is False
    env = cli("role", "assume", "--account", ACCOUNT, "--reason", "x")
    assert env.exit_code == 0 and BANNER not in env.stdout and BANNER not in env.stderr
