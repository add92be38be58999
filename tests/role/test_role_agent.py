"""The credentials agent, in-process: later `role assume` runs of the same requester and role are
served the open incident's credentials (no new incident, no AssumeRole, no notification) until
they are near their expiry; close stops it; nothing secret is written anywhere; the socket and its
folder are private."""

from __future__ import annotations

import contextlib
import json
import os
import stat
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from breakglass_aws.role.agent import running
from tests.conftest import TRUST
from tests.support.role import Capture, assume


@pytest.fixture
def runtime_dir(monkeypatch):
    """A short private XDG_RUNTIME_DIR (a socket path must stay under ~100 bytes); every agent
    left in it is stopped, and none may survive the test."""
    folder = Path(tempfile.mkdtemp(prefix="bg-run-"))
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(folder))
    monkeypatch.setenv("BREAKGLASS_AGENT", "true")
    yield folder / "breakglass"
    agents = running(folder / "breakglass") if (folder / "breakglass").exists() else []
    for agent in agents:
        os.kill(agent["pid"], 15)
    assert not agents or all(_gone(a["pid"]) for a in agents)


def _gone(pid: int) -> bool:
    """The process ended (a zombie not yet reaped by this test process counts as ended)."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            return True
        if state in ("Z", "X"):
            return True
        time.sleep(0.05)
    return False


def incidents(cli):
    return cli("list", "--output", "json").json()


def keys_of(run) -> str:
    return json.loads(run.stdout)["AccessKeyId"]


def test_later_runs_are_served_the_open_incident(iam, cli, runtime_dir, topic):
    sent = Capture()
    first = assume(cli, "--format", "credential-process", hooks=[sent.hook()])
    assert first.exit_code == 0, first.stderr
    assert "credentials agent" in first.stderr and "breakglass close" in first.stderr
    later = [assume(cli, "--format", "credential-process", hooks=[sent.hook()]) for _ in range(3)]
    assert all(run.exit_code == 0 for run in later), [run.stderr for run in later]
    assert {keys_of(run) for run in later} == {keys_of(first)}
    assert len(sent.sent) == 1, "one AssumeRole for four consumers"
    (incident,) = incidents(cli)
    assert incident["status"] == "active"
    events = [body["event"] for _, body in topic() if body["incident_id"] == incident["incident_id"]]
    assert events.count("activated") == 1
    journal = cli("show", incident["incident_id"], "--output", "json").json()["journal"]
    started = [e for e in journal if e["kind"] == "agent-started"]
    assert len(started) == 1 and started[0]["data"]["socket"].startswith(str(runtime_dir))


def test_every_format_is_served_from_the_agent(iam, cli, runtime_dir):
    first = assume(cli, "--format", "json").json()
    env = assume(cli, "--format", "env")
    assert env.exit_code == 0 and f"export AWS_ACCESS_KEY_ID='{first['AccessKeyId']}'" in env.stdout
    again = assume(cli, "--format", "json").json()
    assert again["incident_id"] == first["incident_id"] and again["SessionToken"] == first["SessionToken"]
    assert "served by the credentials agent" in assume(cli, "--format", "json").stderr


def test_close_stops_the_agent_and_the_next_run_opens_a_new_incident(iam, cli, runtime_dir):
    first = assume(cli, "--format", "json").json()
    (agent,) = running(runtime_dir)
    assert agent["incident_id"] == first["incident_id"]
    closed = cli("close", first["incident_id"], "--yes", "--skip-rotation")
    assert closed.exit_code == 0, closed.stderr
    assert _gone(agent["pid"]) and running(runtime_dir) == []
    journal = cli("show", first["incident_id"], "--output", "json").json()["journal"]
    assert any(e["kind"] == "agent-stopped" for e in journal)
    second = assume(cli, "--format", "json").json()
    assert second["incident_id"] != first["incident_id"]


def test_an_incident_closed_elsewhere_is_not_served(iam, cli, runtime_dir, monkeypatch, tmp_path):
    first = assume(cli, "--format", "json").json()
    (agent,) = running(runtime_dir)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "elsewhere"))  # e.g. the scheduled function
    assert cli("close", first["incident_id"], "--yes", "--skip-rotation").exit_code == 0
    assert _gone(agent["pid"]) is False  # that close could not reach it
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime_dir.parent))
    second = assume(cli, "--format", "json").json()
    assert second["incident_id"] != first["incident_id"]
    assert _gone(agent["pid"]), "the stale agent was stopped"
    statuses = {i["incident_id"]: i["status"] for i in incidents(cli)}
    assert statuses == {first["incident_id"]: "closed", second["incident_id"]: "active"}


def test_near_expiry_the_next_run_opens_the_next_incident(iam, cli, runtime_dir):
    sent = Capture()
    first = assume(cli, "--format", "json", "--duration", "1h", hooks=[sent.hook()]).json()
    later = datetime.now(UTC) + timedelta(minutes=57)
    refreshed = assume(cli, "--format", "json", hooks=[sent.hook()], clock=lambda: later)
    assert refreshed.exit_code == 0, refreshed.stderr
    assert "expire in" in refreshed.stderr and "opening the next incident" in refreshed.stderr
    assert refreshed.json()["incident_id"] != first["incident_id"]
    assert len(sent.sent) == 2
    (agent,) = running(runtime_dir)
    assert agent["incident_id"] == refreshed.json()["incident_id"]


def test_no_agent_opens_a_new_incident_each_time(iam, cli, runtime_dir):
    first = assume(cli, "--format", "json", "--no-agent").json()
    second = assume(cli, "--format", "json", "--no-agent").json()
    assert first["incident_id"] != second["incident_id"]
    assert running(runtime_dir) == []


def test_the_socket_and_folder_are_private_and_no_secret_is_written(iam, cli, runtime_dir, tmp_path):
    first = assume(cli, "--format", "json").json()
    (agent,) = running(runtime_dir)
    assert stat.S_IMODE(runtime_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE(Path(agent["socket"]).stat().st_mode) == 0o600
    assert "credentials" not in agent, "describe never returns the secrets"
    secrets = [first["SecretAccessKey"], first["SessionToken"]]
    for folder in (tmp_path / "state", tmp_path / "config", runtime_dir):
        for path in folder.rglob("*") if folder.exists() else []:
            if path.is_file() and not stat.S_ISSOCK(path.lstat().st_mode):
                data = path.read_bytes()
                assert not any(s.encode() in data for s in secrets), path
    cmdline = Path(f"/proc/{agent['pid']}/cmdline")
    if cmdline.exists():
        assert not any(s.encode() in cmdline.read_bytes() for s in secrets)


def test_an_unsafe_runtime_folder_is_not_used(iam, cli, runtime_dir):
    runtime_dir.mkdir(mode=0o755)
    runtime_dir.chmod(0o755)
    run = assume(cli, "--format", "json")
    assert run.exit_code == 0, run.stderr
    assert "no credentials agent" in run.stderr and "0700" in run.stderr
    assert not list(runtime_dir.glob("*.sock"))


def test_an_agent_of_another_role_is_not_used(iam, cli, runtime_dir):
    first = assume(cli, "--format", "json").json()
    iam.create_role(RoleName="Other", AssumeRolePolicyDocument=json.dumps(TRUST))
    other = assume(cli, "--format", "json", "--role-name", "Other").json()
    assert other["incident_id"] != first["incident_id"]
    assert sorted(a["role_arn"].rsplit("/", 1)[1] for a in running(runtime_dir)) == ["BreakGlassAdmin", "Other"]


def test_an_agent_killed_leaves_the_incident_to_be_rejoined(iam, cli, runtime_dir):
    sent = Capture()
    first = assume(cli, "--format", "json", hooks=[sent.hook()]).json()
    (agent,) = running(runtime_dir)
    os.kill(agent["pid"], 9)
    assert _gone(agent["pid"])
    assert list(runtime_dir.glob("*.sock")), "a killed agent leaves its socket behind"
    again = assume(cli, "--format", "json", hooks=[sent.hook()])
    assert again.exit_code == 0, again.stderr
    assert "is still open: new credentials for it" in again.stderr
    assert again.json()["incident_id"] == first["incident_id"]
    assert again.json()["AccessKeyId"] != first["AccessKeyId"]
    assert len(sent.sent) == 2 and len(incidents(cli)) == 1
    (replacement,) = running(runtime_dir)
    assert replacement["pid"] != agent["pid"] and replacement["incident_id"] == first["incident_id"]
