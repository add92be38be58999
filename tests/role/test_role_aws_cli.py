"""Role mode as the real aws CLI (v1) and boto3 use it, against a moto server on 127.0.0.1
behind a counting proxy: a credential_process profile opens one incident and makes one AssumeRole
for many commands; the MFA code is asked on the terminal, which the aws CLI does not swallow; a
near-expiry run opens the next incident; a profile that runs breakglass without --profile ends at
once with no process left."""

from __future__ import annotations

import fcntl
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import termios
import time
import uuid
from pathlib import Path

import boto3
import pytest

from breakglass_aws.testing import FaultProxy
from breakglass_aws.testing_kit import start_sandbox
from tests.conftest import ACCOUNT, MFA, TRUST

pytestmark = pytest.mark.e2e

BIN = Path(sys.executable).parent
BREAKGLASS = str(BIN / "breakglass")
AWS = shutil.which("aws", path=str(BIN)) or shutil.which("aws")


@pytest.fixture(scope="module")
def server():
    with start_sandbox(org=False) as kit:  # the testing kit users get: one implementation
        yield kit.server


@pytest.fixture
def proxy(server):
    server.reset()
    iam = boto3.client("iam", region_name="us-east-1", endpoint_url=server.url)
    iam.create_role(RoleName="BreakGlassAdmin", AssumeRolePolicyDocument=json.dumps(TRUST))
    counting = FaultProxy(server.url).start()
    yield counting
    counting.stop()


class World:
    """A user's machine: an aws config with a base profile (static keys) and a profile whose
    credential_process is breakglass; private state, config and runtime dirs."""

    def __init__(self, proxy: FaultProxy, home: Path, extra: str = "") -> None:
        self.home, self.proxy = home, proxy
        self.run_dir = Path(tempfile.mkdtemp(prefix="bg-run-"))  # short: a socket path
        self.reason = f"INC-7 IdP down {uuid.uuid4().hex[:8]}"
        process = f'{BREAKGLASS} --profile base role assume --account {ACCOUNT} --reason "{self.reason}"'
        (home / "config").write_text(
            "[profile base]\nregion = us-east-1\n"
            f"[profile bg]\nregion = us-east-1\ncredential_process = {process} {extra}--format credential-process\n"
            f"[profile loop]\nregion = us-east-1\ncredential_process = {BREAKGLASS} role assume "
            f'--account {ACCOUNT} --reason "{self.reason}" --format credential-process\n'
        )
        (home / "credentials").write_text(
            "[base]\naws_access_key_id = AKIAFAKEFORTESTS0000\n"
            "aws_secret_access_key = fakeSecretKeyForTests0000000000000000000\n"
        )
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "BREAKGLASS_"))}
        env.update(
            AWS_CONFIG_FILE=str(home / "config"),
            AWS_SHARED_CREDENTIALS_FILE=str(home / "credentials"),
            AWS_ENDPOINT_URL=proxy.url,
            AWS_EC2_METADATA_DISABLED="true",
            XDG_STATE_HOME=str(home / "state"),
            XDG_CONFIG_HOME=str(home / "xdg-config"),
            XDG_RUNTIME_DIR=str(self.run_dir),
        )
        self.env = env

    def aws(self, *args: str, profile: str = "bg", **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [AWS, *args, "--profile", profile, "--output", "json"],
            env={**self.env, **env},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    def breakglass(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [BREAKGLASS, "--profile", "base", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    def incidents(self) -> list[dict]:
        return json.loads(self.breakglass("list", "--output", "json").stdout)

    def agents(self) -> list[int]:
        return [p for p in _pids() if self.run_dir.name in _cmdline(p) and "breakglass_aws.role.agent" in _cmdline(p)]

    def stop(self) -> None:
        for pid in self.agents():
            os.kill(pid, 15)


def _pids() -> list[int]:
    return [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit()]


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


@pytest.fixture
def world(proxy, tmp_path):
    made = World(proxy, tmp_path)
    yield made
    made.stop()


def assumed(run: subprocess.CompletedProcess[str]) -> str:
    assert run.returncode == 0, run.stderr
    arn = json.loads(run.stdout)["Arn"]
    assert ":assumed-role/BreakGlassAdmin/breakglass-bg-" in arn
    return str(arn)


def test_one_incident_and_one_assume_role_for_many_consumers(world, proxy):
    arns = {assumed(world.aws("sts", "get-caller-identity")) for _ in range(3)}
    code = "import boto3, json; print(json.dumps(boto3.Session(profile_name='bg').client('sts').get_caller_identity()))"
    sdk = subprocess.run(
        [sys.executable, "-c", code], env=world.env, capture_output=True, text=True, timeout=60, check=False
    )
    arns.add(assumed(sdk))
    assert len(arns) == 1, "one session for the aws CLI and boto3"
    assert proxy.seen.count("AssumeRole") == 1
    (incident,) = world.incidents()
    assert incident["status"] == "active" and incident["reason"] == world.reason
    assert arns == {f"arn:aws:sts::{ACCOUNT}:assumed-role/BreakGlassAdmin/breakglass-{incident['incident_id']}"}

    closed = world.breakglass("close", incident["incident_id"], "--yes", "--skip-rotation")
    assert closed.returncode == 0, closed.stderr
    assert world.agents() == [] and not list((world.run_dir / "breakglass").glob("*.sock"))
    after = assumed(world.aws("sts", "get-caller-identity"))
    assert after not in arns and proxy.seen.count("AssumeRole") == 2
    assert len(world.incidents()) == 2


def test_consumers_starting_together_share_one_incident(world, proxy):
    procs = [
        subprocess.Popen(
            [AWS, "sts", "get-caller-identity", "--profile", "bg", "--output", "json"],
            env=world.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    outputs = [p.communicate(timeout=90) for p in procs]
    assert all(p.returncode == 0 for p in procs), [err for _, err in outputs]
    assert len({json.loads(out)["Arn"] for out, _ in outputs}) == 1
    assert proxy.seen.count("AssumeRole") == 1 and len(world.incidents()) == 1


def _under_terminal(world: World, code: bytes | None, **env: str) -> tuple[subprocess.CompletedProcess[str], bytes]:
    """An aws command run with a controlling terminal (a pty): what the terminal showed, and
    `code` typed when the MFA prompt appears."""
    master, slave = os.openpty()

    def take_terminal() -> None:
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    proc = subprocess.Popen(
        [AWS, "sts", "get-caller-identity", "--profile", "bg", "--output", "json"],
        stdin=slave,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**world.env, **env},
        start_new_session=True,
        preexec_fn=take_terminal,  # noqa: PLW1509 - the child takes the pty as its terminal
    )
    os.close(slave)
    shown = b""
    deadline = time.monotonic() + 60
    while proc.poll() is None and time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.1)
        if ready:
            try:
                shown += os.read(master, 1024)
            except OSError:
                break
            if code is not None and b"MFA code" in shown:
                os.write(master, code + b"\n")
                code = None
    out, err = proc.communicate(timeout=60)
    os.close(master)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out.decode(), err.decode()), shown


@pytest.fixture
def mfa_world(proxy, tmp_path):
    made = World(proxy, tmp_path, extra="--duration 20m ")
    made.env["BREAKGLASS_MFA_SERIAL"] = MFA
    yield made
    made.stop()


def test_the_mfa_code_is_asked_on_the_terminal_then_the_agent_serves(mfa_world, proxy):
    first, shown = _under_terminal(mfa_world, b"123456")
    assumed(first)
    assert b"MFA code" in shown, "the prompt reached the terminal, not the captured stderr"
    second, shown = _under_terminal(mfa_world, None)
    assert assumed(second) == assumed(first)
    assert b"MFA code" not in shown, "served by the agent: no new code"
    assert proxy.seen.count("AssumeRole") == 1


def test_near_expiry_the_next_command_asks_a_new_code_and_opens_the_next_incident(mfa_world, proxy):
    first, _ = _under_terminal(mfa_world, b"123456")
    assumed(first)
    # 20-minute credentials; renewing 20 minutes before expiry makes the next command the refresh
    refreshed, shown = _under_terminal(mfa_world, b"654321", BREAKGLASS_AGENT_REFRESH="20m")
    assert assumed(refreshed) != assumed(first)
    assert b"MFA code" in shown
    assert proxy.seen.count("AssumeRole") == 2
    statuses = sorted(i["status"] for i in mfa_world.incidents())
    assert statuses == ["active", "active"], "the expiring one is closed at its expiry by the sweep"
    assert len(mfa_world.agents()) == 1


def test_no_terminal_and_no_code_is_a_clear_error(mfa_world, proxy):
    run = mfa_world.aws("sts", "get-caller-identity")  # no controlling terminal, no --token-code
    assert run.returncode != 0
    assert "no terminal to ask for it on" in run.stderr and "--token-code" in run.stderr
    assert "AssumeRole" not in proxy.seen and mfa_world.incidents() == []


def test_a_profile_that_runs_itself_ends_at_once_with_no_process_left(world, proxy):
    start = time.monotonic()
    run = world.aws("sts", "get-caller-identity", profile="loop", AWS_PROFILE="loop")
    elapsed = time.monotonic() - start
    assert run.returncode != 0
    assert "gets its credentials by running breakglass" in run.stderr and "--profile" in run.stderr
    assert elapsed < 5, f"took {elapsed:.1f}s"
    assert proxy.seen == [], "nothing reached AWS"
    assert not [p for p in _pids() if world.reason in _cmdline(p)], "no breakglass left running"


def test_no_secret_in_any_file_and_private_modes(world):
    run = world.aws("sts", "get-caller-identity")
    assumed(run)
    served = json.loads(
        subprocess.run(
            [
                BREAKGLASS,
                "--profile",
                "base",
                "role",
                "assume",
                "--account",
                ACCOUNT,
                "--reason",
                world.reason,
                "--format",
                "credential-process",
            ],
            env=world.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        ).stdout
    )
    secrets = [served["SecretAccessKey"].encode(), served["SessionToken"].encode()]
    folder = world.run_dir / "breakglass"
    assert oct(folder.stat().st_mode & 0o777) == "0o700"
    (sock,) = folder.glob("*.sock")
    assert oct(sock.stat().st_mode & 0o777) == "0o600"
    for root in (world.home, world.run_dir):
        for path in root.rglob("*"):
            if path.is_file() and not path.is_socket():
                assert not any(s in path.read_bytes() for s in secrets), path
