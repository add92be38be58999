"""`breakglass sandbox serve`, the testing kit from the shell: README's shell example run as
written, the exports, --port/--seed/--no-org, SIGINT and SIGTERM (exit 0, the server stopped by
its PID), a port in use (exit 2), and a serve killed with -9 (its server ends by itself)."""

from __future__ import annotations

import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import boto3
import pytest

from breakglass_aws.testing import free_port
from tests.kit.test_plugin import readme_block

pytestmark = pytest.mark.e2e

BREAKGLASS = str(Path(sys.executable).with_name("breakglass"))


def gone(pid: int, within: float = 5.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return False


def port_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


class Serve:
    """`breakglass sandbox serve ARGS` in the background, its lines read until `# ready`."""

    def __init__(self, *args: str) -> None:
        self.process = subprocess.Popen(
            [BREAKGLASS, "sandbox", "serve", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[str] = []

    def ready(self, timeout: float = 30.0) -> dict[str, str]:
        assert self.process.stdout is not None
        lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=lambda: [lines.put(x) for x in self.process.stdout], daemon=True).start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = lines.get(timeout=0.2)
            except queue.Empty:
                assert self.process.poll() is None, f"serve ended: {self.process.stderr.read()}"
                continue
            self.lines.append(line.rstrip("\n"))
            if line.startswith("# ready"):
                return dict(s.removeprefix("export ").split("=", 1) for s in self.lines if s.startswith("export "))
        raise AssertionError(f"serve not ready: {self.lines}")

    def stop(self, sig: int) -> tuple[int, str]:
        self.process.send_signal(sig)
        _, err = self.process.communicate(timeout=30)
        return self.process.returncode, err

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def serve():
    started: list[Serve] = []

    def start(*args: str) -> Serve:
        started.append(Serve(*args))
        return started[-1]

    yield start
    for one in started:
        one.kill()


def sandbox_client(env: dict[str, str], service: str) -> object:
    return boto3.client(
        service,
        region_name=env["AWS_DEFAULT_REGION"],
        endpoint_url=env["AWS_ENDPOINT_URL"],
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
    )


def run_serve(*args: str) -> subprocess.CompletedProcess[str]:
    """A serve that is expected to end by itself."""
    return subprocess.run(
        [BREAKGLASS, "sandbox", "serve", *args], capture_output=True, text=True, timeout=60, check=False
    )


def pid_of(lines: list[str]) -> int:
    return int(lines[0].rsplit("(pid ", 1)[1].rstrip(")"))


def test_readme_shell_example_runs_as_written(tmp_path):
    """The README's lines, with a free port and a python check standing in for `go test ./...`."""
    check = (
        f"{sys.executable} -c 'import boto3; "
        'print(len(boto3.client("organizations").list_accounts()["Accounts"]), '
        '[e["EventName"] for e in boto3.client("cloudtrail").lookup_events()["Events"]])\''
    )
    script = readme_block("sh").replace("--port 5000", f"--port {free_port()}")
    script = "\n".join(check if "go test" in line else line for line in script.splitlines())
    script = script.replace("breakglass sandbox serve", f"{BREAKGLASS} sandbox serve")
    done = subprocess.run(["bash", "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip() == "2 ['AssumeRole']", done.stdout + done.stderr


def test_serve_prints_the_exports_and_stops_on_sigterm(serve):
    running = serve()
    env = running.ready()
    assert running.lines[0].startswith(f"# breakglass sandbox: moto on {env['AWS_ENDPOINT_URL']} (pid ")
    assert running.lines[1] == "unset AWS_PROFILE AWS_DEFAULT_PROFILE AWS_SESSION_TOKEN AWS_SECURITY_TOKEN"
    assert env["AWS_ENDPOINT_URL"].startswith("http://127.0.0.1:") and env["AWS_REGION"] == "us-east-1"
    org = sandbox_client(env, "organizations")
    accounts = {a["Id"] for a in org.list_accounts()["Accounts"]}
    assert accounts == {env["SANDBOX_ACCOUNT_ID"], env["SANDBOX_MANAGEMENT_ACCOUNT_ID"]}
    assert org.list_parents(ChildId=env["SANDBOX_ACCOUNT_ID"])["Parents"][0]["Id"] == env["SANDBOX_OU_ID"]
    seed = Path(env["SANDBOX_CLOUDTRAIL_SEED"])
    seed.write_text(json.dumps({"region": "us-east-1", "EventId": "e1", "EventTime": time.time(), "Username": "u"}))
    assert [e["EventId"] for e in sandbox_client(env, "cloudtrail").lookup_events()["Events"]] == ["e1"]
    pid = pid_of(running.lines)
    code, err = running.stop(signal.SIGTERM)
    assert code == 0, err
    assert f"sandbox stopped (moto server pid {pid})" in err
    assert gone(pid) and not seed.parent.exists(), "stopped by its PID, its own folder removed"


def test_port_seed_no_org_and_sigint(serve, tmp_path):
    port, seed = free_port(), tmp_path / "events.jsonl"
    seed.write_text(json.dumps({"region": "eu-west-1", "EventId": "mine", "EventTime": time.time()}) + "\n")
    running = serve("--port", str(port), "--seed", str(seed), "--no-org")
    env = running.ready()
    assert env["AWS_ENDPOINT_URL"] == f"http://127.0.0.1:{port}"
    assert env["SANDBOX_CLOUDTRAIL_SEED"] == str(seed) and "SANDBOX_ACCOUNT_ID" not in env
    with pytest.raises(Exception, match="AWSOrganizationsNotInUseException"):
        sandbox_client(env, "organizations").describe_organization()
    trail = boto3.client(
        "cloudtrail",
        region_name="eu-west-1",
        endpoint_url=env["AWS_ENDPOINT_URL"],
        aws_access_key_id="x",
        aws_secret_access_key="y",
    )
    assert [e["EventId"] for e in trail.lookup_events()["Events"]] == ["mine"]
    code, err = running.stop(signal.SIGINT)
    assert code == 0, err
    assert port_free(port) and seed.read_text().count("\n") == 1, "the given seed file is left as it was"


def test_json_output(serve):
    running = serve("--output", "json")
    assert running.process.stdout is not None
    described = json.loads(running.process.stdout.readline())
    assert described["env"]["AWS_ENDPOINT_URL"] == described["endpoint_url"]
    assert set(described["org"]) == {"organization", "root", "ou", "account", "management"}
    assert running.stop(signal.SIGTERM)[0] == 0


def test_a_port_in_use_exits_2(tmp_path):
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        done = run_serve("--port", str(port))
    assert done.returncode == 2
    assert done.stderr.strip() == (
        f"error: port {port} on 127.0.0.1 is in use (hint: choose another --port, or leave it out for a free one)"
    )
    assert done.stdout == ""


@pytest.mark.parametrize(("args", "fragment"), [(["--port", "0"], "--port must be 1 to 65535")])
def test_bad_input_exits_2(args, fragment, tmp_path):
    done = run_serve(*args)
    assert done.returncode == 2 and fragment in done.stderr


def test_a_seed_in_a_missing_folder_exits_2(tmp_path):
    seed = tmp_path / "no-such-folder" / "events.jsonl"
    done = run_serve("--seed", str(seed))
    assert done.returncode == 2 and f"--seed {seed} is not a file in an existing folder" in done.stderr


def test_the_server_ends_when_serve_is_killed(serve):
    running = serve()
    env = running.ready()
    pid = pid_of(running.lines)
    running.process.kill()  # -9: serve cannot stop it
    running.process.wait()
    assert gone(pid), "the server noticed its parent was gone"
    assert port_free(int(env["AWS_ENDPOINT_URL"].rsplit(":", 1)[1]))
