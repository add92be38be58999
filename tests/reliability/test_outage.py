"""Outage resilience, end to end: a fault proxy on 127.0.0.1 in front of a moto server takes
IAM, Organizations or DynamoDB down while regional STS stays healthy."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest

from breakglass_aws.journal.dynamodb import create_table
from breakglass_aws.models import FULL_AWS_ACCESS
from breakglass_aws.testing import FaultProxy, env_for
from breakglass_aws.testing_kit import start_sandbox
from tests.conftest import ACCOUNT, TRUST, seed_org

pytestmark = pytest.mark.e2e
BREAKGLASS = str(Path(sys.executable).with_name("breakglass"))
TABLE = "breakglass-store"


@pytest.fixture(scope="module")
def server():
    with start_sandbox(org=False) as kit:  # the testing kit users get: one implementation
        yield kit.server


@pytest.fixture
def world(server):
    server.reset()
    iam = boto3.client("iam", region_name="us-east-1", endpoint_url=server.url)
    iam.create_role(RoleName="BreakGlassAdmin", AssumeRolePolicyDocument=json.dumps(TRUST))
    org = seed_org(boto3.client("organizations", region_name="us-east-1", endpoint_url=server.url))
    org.attach(org.new_policy("Deny"), org.account)
    return iam, org


@pytest.fixture
def proxy(server):
    fault = FaultProxy(server.url).start()
    yield fault
    fault.stop()


def bg(endpoint, tmp_path, *args, extra=None, timeout=120):
    env = env_for(endpoint)
    env.update(
        XDG_STATE_HOME=str(tmp_path / "state"),
        XDG_CONFIG_HOME=str(tmp_path / "config"),
        BREAKGLASS_CONTROL_PLANE_TIMEOUT="1",
        BREAKGLASS_MAX_ATTEMPTS="2",
        **(extra or {}),
    )
    start = time.perf_counter()
    done = subprocess.run([BREAKGLASS, *args], env=env, capture_output=True, text=True, timeout=timeout, check=False)
    return done, time.perf_counter() - start


ASSUME = (
    "role",
    "assume",
    "--account",
    ACCOUNT,
    "--reason",
    "us-east-1 is down",
    "--format",
    "json",
    "--region",
    "eu-west-1",
)


def test_role_path_works_with_control_planes_down(world, proxy, tmp_path):
    healthy, healthy_time = bg(proxy.url, tmp_path, *ASSUME)
    assert healthy.returncode == 0, healthy.stderr
    proxy.services.update(iam="503", organizations="drop")
    proxy.seen.clear()
    impaired, impaired_time = bg(proxy.url, tmp_path, *ASSUME)
    assert impaired.returncode == 0, impaired.stderr
    assert json.loads(impaired.stdout)["AccessKeyId"]
    # no MFA device is configured here, so the role's MFA condition is read once (one try, a short
    # budget: a 503 is not retried); nothing else of IAM, nothing of Organizations
    assert set(proxy.seen) <= {"GetCallerIdentity", "AssumeRole", "GetRole"}, "no other call on the role path"
    assert proxy.seen.count("GetRole") <= 1
    ratio = impaired_time / healthy_time
    assert ratio < 3, f"the role path slowed down {ratio:.1f}x while control planes were down"


def test_role_path_uses_regional_sts_while_us_east_1_sts_is_down(world, proxy, tmp_path):
    proxy.services[("sts", "us-east-1")] = "503"
    down, _ = bg(proxy.url, tmp_path, *ASSUME[:-2])  # in us-east-1: the next sts_regions endpoint answers
    assert down.returncode == 0, down.stderr
    assert "STS in us-east-1 did not answer" in down.stderr
    proxy.services[("sts", "us-west-2")] = "503"
    proxy.services[("sts", "eu-west-1")] = "503"
    every, _ = bg(proxy.url, tmp_path, *ASSUME[:-2])  # every endpoint tried is down: fails, and says where
    assert every.returncode == 7 and "STS in eu-west-1 is unavailable" in every.stderr and "--region" in every.stderr
    del proxy.services[("sts", "eu-west-1")], proxy.services[("sts", "us-west-2")]
    regional, _ = bg(proxy.url, tmp_path, *ASSUME)
    assert regional.returncode == 0, regional.stderr
    assert json.loads(regional.stdout)["AccessKeyId"]


@pytest.mark.parametrize("fault", ["503", "hang", "drop"])
def test_scp_detach_fails_fast_and_changes_nothing(world, proxy, tmp_path, fault):
    _, org = world
    before = org.snapshot()
    proxy.services["organizations"] = fault
    done, elapsed = bg(proxy.url, tmp_path, "scp", "detach", "--target", org.account, "--reason", "x", "--yes")
    assert done.returncode == 7, done.stderr
    assert elapsed < 30, f"took {elapsed:.0f}s: not a bounded budget"
    assert "Organizations (organizations control plane, us-east-1) is unavailable" in done.stderr
    assert "the role path still works" in done.stderr
    assert org.snapshot() == before
    listed, _ = bg(proxy.url, tmp_path, "list", "--output", "json")
    assert json.loads(listed.stdout) == [], "nothing half-applied: no incident was opened"


@pytest.mark.parametrize("fault", ["hang", "drop"])
def test_detach_cut_off_at_its_first_change_is_finished_by_restore(world, proxy, tmp_path, fault):
    """A timeout proves nothing about whether AWS applied the change: the incident is kept, named,
    and the restore puts back exactly what was there."""
    _, org = world
    before = org.snapshot()
    proxy.rule = lambda operation: fault if operation == "DetachPolicy" else None
    done, _ = bg(proxy.url, tmp_path, "scp", "detach", "--target", org.account, "--reason", "x", "--yes")
    assert done.returncode == 8, done.stderr
    assert "Traceback" not in done.stderr
    incident_id = json.loads(bg(proxy.url, tmp_path, "list", "--output", "json")[0].stdout)[0]["incident_id"]
    assert incident_id in done.stderr and "restore" in done.stderr
    proxy.rule = lambda _operation: None
    restored, _ = bg(proxy.url, tmp_path, "scp", "restore", incident_id)
    assert restored.returncode == 0, restored.stderr
    assert org.snapshot() == before


def test_close_defers_revocation_until_iam_is_back(world, proxy, tmp_path):
    iam, _ = world
    opened, _ = bg(proxy.url, tmp_path, *ASSUME)
    incident_id = json.loads(opened.stdout)["incident_id"]
    proxy.services["iam"] = "503"
    closing, _ = bg(proxy.url, tmp_path, "close", incident_id, "--yes")
    assert closing.returncode == 7, "nothing was changed in AWS yet: the outage's own code"
    assert "IAM" in closing.stderr and f"breakglass close {incident_id}" in closing.stderr
    listed, _ = bg(proxy.url, tmp_path, "list")
    assert f"! {incident_id} NEEDS ATTENTION" in listed.stdout
    proxy.services.clear()
    swept, _ = bg(proxy.url, tmp_path, "restore", "--expired")
    assert swept.returncode == 0, swept.stderr
    shown, _ = bg(proxy.url, tmp_path, "show", incident_id, "--output", "json")
    assert json.loads(shown.stdout)["status"] == "closed"
    assert iam.get_role_policy(RoleName="BreakGlassAdmin", PolicyName="AWSRevokeOlderSessions")


def make_table(server):
    create_table(boto3.client("dynamodb", region_name="us-east-1", endpoint_url=server.url), TABLE)


def test_offline_store_then_sync(world, server, proxy, tmp_path):
    _, org = world
    make_table(server)
    shared = {"BREAKGLASS_STORE": f"dynamodb://{TABLE}"}
    proxy.services["dynamodb"] = "503"
    down, _ = bg(proxy.url, tmp_path, "scp", "detach", "--target", org.account, "--reason", "x", "--yes", extra=shared)
    assert down.returncode == 7 and "DynamoDB" in down.stderr and "--offline-store" in down.stderr
    opened, _ = bg(
        proxy.url,
        tmp_path,
        "--offline-store",
        "scp",
        "detach",
        "--target",
        org.account,
        "--reason",
        "store down",
        "--yes",
        "--output",
        "json",
        extra=shared,
    )
    assert opened.returncode == 0, opened.stderr
    assert "OFFLINE STORE" in opened.stderr
    incident_id = json.loads(opened.stdout)["incident_id"]
    assert org.scps(org.account) == {FULL_AWS_ACCESS}
    proxy.services.clear()
    synced, _ = bg(proxy.url, tmp_path, "sync", "--output", "json", extra=shared)
    assert synced.returncode == 0, synced.stderr
    result = json.loads(synced.stdout)
    assert result["incidents_copied"] == [incident_id] and result["entries_copied"] > 0
    again, _ = bg(proxy.url, tmp_path, "sync", "--output", "json", extra=shared)
    assert json.loads(again.stdout)["entries_copied"] == 0, "nothing duplicated"
    verified, _ = bg(proxy.url, tmp_path, "journal", "verify", incident_id, extra=shared)
    assert verified.returncode == 0, verified.stderr
    locked, _ = bg(
        proxy.url, tmp_path, "scp", "detach", "--target", org.account, "--reason", "y", "--yes", extra=shared
    )
    assert locked.returncode == 4 and incident_id in locked.stderr, "the shared store holds the target now"
    restored, _ = bg(proxy.url, tmp_path, "scp", "restore", incident_id, extra=shared)
    assert restored.returncode == 0, restored.stderr


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["--offline-store", "approve", "bg-20260101-000000-abcdef"], "needs the shared store"),
        (
            ["--offline-store", "scp", "detach", "--target", "111111111111", "--reason", "x", "--join"],
            "--join needs the shared store",
        ),
        (["--offline-store", "sync"], "needs the shared store"),
    ],
)
def test_offline_store_bad_input(server, tmp_path, argv, fragment):
    done, _ = bg(server.url, tmp_path, *argv, extra={"BREAKGLASS_STORE": f"dynamodb://{TABLE}"})
    assert done.returncode == 2 and fragment in done.stderr


def test_offline_store_needs_a_shared_store(server, tmp_path):
    done, _ = bg(server.url, tmp_path, "--offline-store", "list")
    assert done.returncode == 2 and "already local" in done.stderr


def test_outage_probe(world, proxy, tmp_path):
    proxy.services.update(iam="503", organizations="503")
    done, _ = bg(proxy.url, tmp_path, "check", "--outage-probe", "--output", "json")
    assert done.returncode == 0, done.stderr
    paths = json.loads(done.stdout)["paths"]
    assert paths == {
        "role assume (pre-staged role, regional STS)": True,
        "scp detach / restore": False,
        "revoke sessions / rotate credentials": False,
        "root tasks (AssumeRoot: needs the IAM control plane, us-east-1)": False,
        "shared incident store": True,
    }


def credentials_time(endpoint, tmp_path, extra):
    """Seconds until the credentials JSON is complete on stdout, and the finished process."""
    env = env_for(endpoint)
    env.update(XDG_STATE_HOME=str(tmp_path / "state"), XDG_CONFIG_HOME=str(tmp_path / "config"), **extra)
    start = time.perf_counter()
    child = subprocess.Popen([BREAKGLASS, *ASSUME], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert child.stdout is not None
    lines = []
    for line in child.stdout:
        lines.append(line)
        if line.rstrip() == "}":
            break
    arrived = time.perf_counter() - start
    _, stderr = child.communicate(timeout=120)
    return arrived, json.loads("".join(lines)), child.returncode, stderr


def test_hanging_sns_does_not_delay_credentials(world, server, proxy, tmp_path):
    topic = boto3.client("sns", region_name="us-east-1", endpoint_url=server.url).create_topic(Name="bg")["TopicArn"]
    extra = {"BREAKGLASS_SNS_TOPIC_ARN": topic}
    healthy, creds, code, stderr = credentials_time(proxy.url, tmp_path, extra)
    assert code == 0, stderr
    assert "warning" not in stderr
    proxy.services["sns"] = "hang"
    impaired, creds, code, stderr = credentials_time(proxy.url, tmp_path, extra)
    assert code == 0, stderr
    assert creds["AccessKeyId"].startswith("ASIA")
    ratio = impaired / healthy
    assert ratio < 3, f"credentials came {ratio:.1f}x later while SNS hung"
    assert "notification 'activated'" in stderr and "was not sent" in stderr
    proxy.services.clear()
    shown, _ = bg(proxy.url, tmp_path, "show", creds["incident_id"], "--output", "json")
    events = [e["kind"] for e in json.loads(shown.stdout)["journal"]]
    assert "notify-failed" in events and "notified" not in events


def test_offline_outage_probe_probes_the_shared_store(world, server, proxy, tmp_path):
    make_table(server)
    proxy.services.update(dynamodb="503", iam="hang", organizations="hang")
    shared = {"BREAKGLASS_STORE": f"dynamodb://{TABLE}"}
    done, _ = bg(proxy.url, tmp_path, "--offline-store", "check", "--outage-probe", "--output", "json", extra=shared)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["paths"] == {
        "role assume (pre-staged role, regional STS)": True,
        "scp detach / restore": False,
        "revoke sessions / rotate credentials": False,
        "root tasks (AssumeRoot: needs the IAM control plane, us-east-1)": False,
        "shared incident store": False,
    }
    store = next(p for p in report["probes"] if p["name"] == "incident store")
    assert "DynamoDB" in store["detail"]


def test_scp_detach_at_default_budget_fails_in_bounded_time(world, proxy, tmp_path):
    _, org = world
    before = org.snapshot()
    proxy.services["organizations"] = "hang"
    env = env_for(proxy.url)
    env.update(XDG_STATE_HOME=str(tmp_path / "state"), XDG_CONFIG_HOME=str(tmp_path / "config"))
    start = time.perf_counter()
    args = [BREAKGLASS, "scp", "detach", "--target", org.account, "--reason", "x", "--yes"]
    done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=120, check=False)
    elapsed = time.perf_counter() - start
    assert done.returncode == 7, done.stderr
    assert "Organizations (organizations control plane, us-east-1) is unavailable" in done.stderr
    assert elapsed < 15, f"took {elapsed:.0f}s at the default settings"
    assert org.snapshot() == before


def test_hanging_store_at_default_budget_points_to_offline_store(world, server, proxy, tmp_path):
    make_table(server)
    proxy.services["dynamodb"] = "hang"
    env = env_for(proxy.url)
    env.update(
        XDG_STATE_HOME=str(tmp_path / "state"),
        XDG_CONFIG_HOME=str(tmp_path / "config"),
        BREAKGLASS_STORE=f"dynamodb://{TABLE}",
    )
    start = time.perf_counter()
    done = subprocess.run([BREAKGLASS, *ASSUME], env=env, capture_output=True, text=True, timeout=120, check=False)
    elapsed = time.perf_counter() - start
    assert done.returncode == 7, done.stderr
    assert "shared incident store (DynamoDB, us-east-1) is unavailable" in done.stderr
    assert "--offline-store" in done.stderr and done.stdout == ""
    assert elapsed < 30, f"took {elapsed:.0f}s at the default settings"


def test_role_assume_fails_over_when_its_regions_sts_hangs(world, proxy, tmp_path):
    proxy.services[("sts", "us-east-1")] = "hang"
    done, _ = bg(proxy.url, tmp_path, *ASSUME[:-2])  # the default region: us-east-1
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["AccessKeyId"]
    assert "STS in us-east-1 did not answer" in done.stderr and "trying us-west-2" in done.stderr
    incident_id = json.loads(done.stdout)["incident_id"]
    shown, _ = bg(proxy.url, tmp_path, "show", incident_id, "--output", "json")
    outcomes = [e["data"] for e in json.loads(shown.stdout)["journal"] if e["kind"] == "outcome"]
    assert [o["result"]["issued_by"] for o in outcomes if "access_key_id" in o.get("result", {})] == ["us-west-2"]


def test_scp_detach_with_sts_hung_exits_7_naming_sts_and_the_way_out(world, proxy, tmp_path):
    _, org = world
    proxy.services[("sts", "us-east-1")] = "hang"
    done, _ = bg(proxy.url, tmp_path, "scp", "detach", "--target", org.account, "--reason", "x", "--yes")
    assert done.returncode == 7, done.stderr
    assert "STS in us-east-1 is unavailable" in done.stderr and "--region" in done.stderr
    assert "Traceback" not in done.stderr
    assert not [op for op in proxy.seen if op in ("AttachPolicy", "DetachPolicy")]
