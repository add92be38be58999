"""End to end: the installed `breakglass` command as a subprocess against a moto server on
127.0.0.1, including a kill -9 in the middle of a detach and the restore by a second process."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest

from breakglass_aws.models import FULL_AWS_ACCESS
from breakglass_aws.testing import FaultProxy, env_for
from breakglass_aws.testing_kit import start_sandbox
from tests.conftest import ACCOUNT, TRUST, Org, seed_org

pytestmark = pytest.mark.e2e

BREAKGLASS = str(Path(sys.executable).with_name("breakglass"))


@pytest.fixture(scope="module")
def server():
    with start_sandbox(org=False) as kit:  # the testing kit users get: one implementation
        yield kit.server


@pytest.fixture
def remote_org(server) -> Org:
    server.reset()
    client = boto3.client("organizations", region_name="us-east-1", endpoint_url=server.url)
    org = seed_org(client)
    for n in range(3):
        org.attach(org.new_policy(f"Deny{n}"), org.account)
    org.detach(FULL_AWS_ACCESS, org.account)
    return org


def run(endpoint, tmp_path, *args, timeout=60):
    env = env_for(endpoint)
    env["XDG_STATE_HOME"] = str(tmp_path / "state")
    env["XDG_CONFIG_HOME"] = str(tmp_path / "config")
    return subprocess.run([BREAKGLASS, *args], env=env, capture_output=True, text=True, timeout=timeout, check=False)


def test_installed_command_detach_and_restore(server, remote_org, tmp_path):
    before = remote_org.snapshot()
    opened = run(
        server.url,
        tmp_path,
        "scp",
        "detach",
        "--target",
        remote_org.account,
        "--reason",
        "INC-9",
        "--yes",
        "--output",
        "json",
    )
    assert opened.returncode == 0, opened.stderr
    incident_id = json.loads(opened.stdout)["incident_id"]
    assert remote_org.scps(remote_org.account) == {FULL_AWS_ACCESS}
    restored = run(server.url, tmp_path, "scp", "restore", incident_id)
    assert restored.returncode == 0, restored.stderr
    assert remote_org.snapshot() == before
    verified = run(server.url, tmp_path, "journal", "verify", incident_id)
    assert verified.returncode == 0 and "intact" in verified.stdout


def test_python_dash_m_works(server, tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "breakglass_aws", "--version"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0 and result.stdout.startswith("breakglass ")


@pytest.mark.parametrize("hang_at", ["AttachPolicy", "DetachPolicy"])
def test_kill_9_mid_detach_then_restore_from_another_process(server, remote_org, tmp_path, hang_at):
    before = remote_org.snapshot()
    proxy = FaultProxy(server.url, rule=lambda op: "hang" if op == hang_at else None).start()
    try:
        env = env_for(proxy.url)
        env["XDG_STATE_HOME"] = str(tmp_path / "state")
        victim = subprocess.Popen(
            [BREAKGLASS, "scp", "detach", "--target", remote_org.account, "--reason", "INC-10", "--yes"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 30
        while hang_at not in proxy.seen and time.monotonic() < deadline:
            time.sleep(0.05)
        assert hang_at in proxy.seen, "the detach never reached the slow step"
        victim.kill()
        victim.wait(timeout=10)
        assert victim.returncode == -9
    finally:
        proxy.stop()
    listed = run(server.url, tmp_path, "list", "--output", "json")
    (incident,) = json.loads(listed.stdout)
    shown = json.loads(run(server.url, tmp_path, "show", incident["incident_id"], "--output", "json").stdout)
    journal = shown["journal"]
    action = "attach" if hang_at == "AttachPolicy" else "detach"
    hung = [e["data"]["step"] for e in journal if e["kind"] == "intent" and e["data"]["step"]["action"] == action]
    answered = [e["data"]["step"] for e in journal if e["kind"] == "outcome"]
    assert hung and not [s for s in hung if s in answered], "the steps that never finished have no outcome"
    assert remote_org.scps(remote_org.account), "never zero SCPs"
    restored = run(server.url, tmp_path, "scp", "restore", incident["incident_id"])
    assert restored.returncode == 0, restored.stderr
    assert remote_org.snapshot() == before
    assert run(server.url, tmp_path, "journal", "verify", incident["incident_id"]).returncode == 0


def test_two_processes_race_for_one_target(server, remote_org, tmp_path):
    env = env_for(server.url)
    env["XDG_STATE_HOME"] = str(tmp_path / "state")
    cmd = [BREAKGLASS, "scp", "detach", "--target", remote_org.account, "--reason", "race", "--yes"]
    procs = [
        subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)
    ]
    codes = sorted(p.wait(timeout=60) for p in procs)
    assert codes == [0, 4], [p.stderr.read() for p in procs]
    incidents = json.loads(run(server.url, tmp_path, "list", "--output", "json").stdout)
    assert len(incidents) == 1


def test_restore_expired_from_cron_restores_everything_due(server, remote_org, tmp_path):
    before = remote_org.snapshot()
    opened = run(
        server.url,
        tmp_path,
        "scp",
        "detach",
        "--target",
        remote_org.account,
        "--reason",
        "x",
        "--yes",
        "--ttl",
        "1s",
        "--output",
        "json",
    )
    assert opened.returncode == 0, opened.stderr
    time.sleep(1.5)
    swept = run(server.url, tmp_path, "restore", "--expired", "--output", "json")
    assert swept.returncode == 0, swept.stderr
    assert [r["status"] for r in json.loads(swept.stdout)] == ["closed"]
    assert remote_org.snapshot() == before


def test_role_assume_exec_close_as_subprocesses(server, tmp_path):
    server.reset()
    iam = boto3.client("iam", region_name="us-east-1", endpoint_url=server.url)
    iam.create_role(RoleName="BreakGlassAdmin", AssumeRolePolicyDocument=json.dumps(TRUST))
    opened = run(
        server.url,
        tmp_path,
        "role",
        "assume",
        "--account",
        ACCOUNT,
        "--reason",
        "IdP down",
        "--format",
        "json",
        "--region",
        "eu-west-1",
    )
    assert opened.returncode == 0, opened.stderr
    creds = json.loads(opened.stdout)
    child = "import boto3; print(boto3.client('sts').get_caller_identity()['Arn'])"
    execd = run(server.url, tmp_path, "exec", creds["incident_id"], "--", sys.executable, "-c", child)
    assert execd.returncode == 0, execd.stderr
    assert (
        execd.stdout.strip() == f"arn:aws:sts::{ACCOUNT}:assumed-role/BreakGlassAdmin/breakglass-{creds['incident_id']}"
    )
    closed = run(server.url, tmp_path, "close", creds["incident_id"], "--yes", "--output", "json")
    assert closed.returncode == 0, closed.stderr
    assert json.loads(closed.stdout)["status"] == "closed"
    assert iam.get_role_policy(RoleName="BreakGlassAdmin", PolicyName="AWSRevokeOlderSessions")


def test_close_with_rotation_as_subprocesses(server, remote_org, tmp_path):
    before = remote_org.snapshot()
    iam = boto3.client("iam", region_name="us-east-1", endpoint_url=server.url)
    sm = boto3.client("secretsmanager", region_name="us-east-1", endpoint_url=server.url)
    iam.create_user(UserName="breakglass-1")
    old = iam.create_access_key(UserName="breakglass-1")["AccessKey"]["AccessKeyId"]
    sm.create_secret(Name="breakglass/breakglass-1", SecretString="{}")
    opened = run(
        server.url,
        tmp_path,
        "scp",
        "detach",
        "--target",
        remote_org.account,
        "--reason",
        "x",
        "--yes",
        "--output",
        "json",
    )
    incident_id = json.loads(opened.stdout)["incident_id"]
    env_user = ("--user", "breakglass-1")
    closed = run(server.url, tmp_path, "close", incident_id, "--yes", *env_user, "--output", "json")
    assert closed.returncode == 0, closed.stderr
    assert json.loads(closed.stdout)["status"] == "closed"
    assert remote_org.snapshot() == before
    stored = json.loads(sm.get_secret_value(SecretId="breakglass/breakglass-1")["SecretString"])
    listed = iam.list_access_keys(UserName="breakglass-1")["AccessKeyMetadata"]
    assert [(k["AccessKeyId"], k["Status"]) for k in listed] == [(stored["access_key_id"], "Active")]
    assert stored["access_key_id"] != old
    assert stored["secret_access_key"] not in closed.stdout + closed.stderr


def test_evidence_collect_against_a_server_with_seeded_cloudtrail(tmp_path):
    with start_sandbox(org=False) as kit:
        kit.client("iam").create_role(RoleName="BreakGlassAdmin", AssumeRolePolicyDocument=json.dumps(TRUST))
        url = kit.endpoint_url
        opened = run(url, tmp_path, "role", "assume", "--account", ACCOUNT, "--reason", "x", "--format", "json")
        creds = json.loads(opened.stdout)
        session = f"breakglass-{creds['incident_id']}"
        now = time.time()
        kit.seed_events(
            {
                "EventId": f"e{n}",
                "EventName": "ListBuckets",
                "Username": session,
                "EventTime": now,
                "EventSource": "s3.amazonaws.com",
                "CloudTrailEvent": "{}",
            }
            for n in range(75)
        )
        bundle = tmp_path / "bundle"
        collected = run(
            url, tmp_path, "evidence", "collect", creds["incident_id"], "--out", str(bundle), "--output", "json"
        )
        assert collected.returncode == 0, collected.stderr
        assert json.loads(collected.stdout)["event_count"] == 75
        verified = run(url, tmp_path, "evidence", "verify", str(bundle))
        assert verified.returncode == 0, verified.stderr


def detached(server, remote_org, tmp_path) -> str:
    args = ["scp", "detach", "--target", remote_org.account, "--reason", "x", "--yes", "--output", "json"]
    opened = run(server.url, tmp_path, *args)
    assert opened.returncode == 0, opened.stderr
    return json.loads(opened.stdout)["incident_id"]


def test_kill_9_mid_restore_then_another_process_takes_the_close_over_at_once(server, remote_org, tmp_path):
    """The killed restore held the close (its claim names its pid): the next one sees the process
    is gone and finishes at once, without waiting for the claim's lease to run out."""
    before = remote_org.snapshot()
    incident_id = detached(server, remote_org, tmp_path)
    proxy = FaultProxy(server.url, rule=lambda op: "hang" if op == "AttachPolicy" else None).start()
    try:
        env = env_for(proxy.url)
        env["XDG_STATE_HOME"] = str(tmp_path / "state")
        victim = subprocess.Popen(
            [BREAKGLASS, "scp", "restore", incident_id], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        deadline = time.monotonic() + 30
        while "AttachPolicy" not in proxy.seen and time.monotonic() < deadline:
            time.sleep(0.05)
        victim.kill()
        victim.wait(timeout=10)
    finally:
        proxy.stop()
    shown = json.loads(run(server.url, tmp_path, "show", incident_id, "--output", "json").stdout)
    assert shown["status"] == "closing" and shown["closing"]["claim"]["pid"] == victim.pid
    started = time.monotonic()
    restored = run(server.url, tmp_path, "scp", "restore", incident_id)
    assert restored.returncode == 0, restored.stderr
    assert time.monotonic() - started < 30, "taken over at once, not after the lease"
    assert remote_org.snapshot() == before
    assert run(server.url, tmp_path, "journal", "verify", incident_id).returncode == 0


def test_two_processes_restore_one_incident_one_close(server, remote_org, tmp_path):
    before = remote_org.snapshot()
    incident_id = detached(server, remote_org, tmp_path)
    env = env_for(server.url)
    env["XDG_STATE_HOME"] = str(tmp_path / "state")
    cmd = [BREAKGLASS, "scp", "restore", incident_id]
    procs = [
        subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)
    ]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    assert remote_org.snapshot() == before
    shown = json.loads(run(server.url, tmp_path, "show", incident_id, "--output", "json").stdout)
    kinds = [e["kind"] for e in shown["journal"]]
    assert kinds.count("status:closing") == 1 and kinds.count("status:closed") == 1, kinds
    closing = kinds.index("status:closing")
    restore = shown["journal"][closing:]
    attaches = [e for e in restore if e["kind"] == "intent" and e["data"]["step"]["action"] == "attach"]
    assert len(attaches) == 3, "one closer made the re-attaches"
