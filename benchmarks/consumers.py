"""Ten aws CLI commands through one credential_process profile that runs `breakglass role
assume`: how many incidents and AssumeRole calls they make, with the credentials agent (the
default) and without it (`--no-agent`), against a moto server behind a counting proxy.

    python -m benchmarks.consumers [--commands 10]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import boto3

from benchmarks.role_assume import ACCOUNT, TRUST
from breakglass_aws.testing import FAKE_KEY_ID, FAKE_SECRET, FaultProxy, MotoServer

BIN = Path(sys.executable).parent


def measure(server: MotoServer, commands: int, agent: bool) -> dict[str, object]:
    server.reset()
    iam = boto3.client(
        "iam",
        region_name="us-east-1",
        endpoint_url=server.url,
        aws_access_key_id=FAKE_KEY_ID,
        aws_secret_access_key=FAKE_SECRET,
    )
    iam.create_role(RoleName="BreakGlassAdmin", AssumeRolePolicyDocument=TRUST)
    proxy = FaultProxy(server.url).start()
    home = Path(tempfile.mkdtemp(prefix="bg-consumers-"))
    flag = "" if agent else "--no-agent "
    process = f"{BIN / 'breakglass'} --profile base role assume --account {ACCOUNT} --reason bench {flag}"
    (home / "config").write_text(
        "[profile base]\nregion = us-east-1\n"
        f"[profile bg]\nregion = us-east-1\ncredential_process = {process}--format credential-process\n"
    )
    (home / "credentials").write_text(
        f"[base]\naws_access_key_id = {FAKE_KEY_ID}\naws_secret_access_key = {FAKE_SECRET}\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "BREAKGLASS_"))}
    env.update(
        AWS_CONFIG_FILE=str(home / "config"),
        AWS_SHARED_CREDENTIALS_FILE=str(home / "credentials"),
        AWS_ENDPOINT_URL=proxy.url,
        AWS_EC2_METADATA_DISABLED="true",
        XDG_STATE_HOME=str(home / "state"),
        XDG_CONFIG_HOME=str(home / "xdg"),
        XDG_RUNTIME_DIR=str(home),
    )
    aws = shutil.which("aws", path=str(BIN)) or "aws"
    start = time.perf_counter()
    for _ in range(commands):
        subprocess.run([aws, "sts", "get-caller-identity", "--profile", "bg"], env=env, capture_output=True, check=True)
    seconds = time.perf_counter() - start
    listed = subprocess.run(
        [str(BIN / "breakglass"), "--profile", "base", "list", "--output", "json"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    incidents = json.loads(listed.stdout)
    for entry in incidents:  # close them: the agent stops, nothing is left running
        subprocess.run(
            [str(BIN / "breakglass"), "--profile", "base", "close", entry["incident_id"], "--yes", "--skip-rotation"],
            env=env,
            capture_output=True,
            check=False,
        )
    proxy.stop()
    shutil.rmtree(home, ignore_errors=True)
    return {
        "agent": agent,
        "commands": commands,
        "incidents": len(incidents),
        "assume_role_calls": proxy.seen.count("AssumeRole"),
        "seconds": round(seconds, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--commands", type=int, default=10)
    args = parser.parse_args()
    server = MotoServer().start()
    try:
        rows = [measure(server, args.commands, agent) for agent in (True, False)]
    finally:
        server.stop()
    print(f"{'':12} {'incidents':>9} {'AssumeRole':>10} {'seconds':>8}   ({args.commands} aws commands, one profile)")
    for row in rows:
        name = "agent" if row["agent"] else "--no-agent"
        print(f"{name:12} {row['incidents']:>9} {row['assume_role_calls']:>10} {row['seconds']:>8}")
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
