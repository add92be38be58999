"""The worst case: STS in us-east-1 hangs (a us-east-1 outage) and the default region is us-east-1.
How long `role assume` takes to hand out credentials (from the next sts_regions endpoint) and
`scp detach` takes to exit 7 naming STS, at the default budgets, through a proxy on 127.0.0.1.

    python -m benchmarks.sts_outage
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import boto3

from benchmarks.harness import bench_env, tool
from benchmarks.role_assume import ACCOUNT, TRUST
from benchmarks.scp_roundtrip import Seed
from breakglass_aws.testing import FaultProxy, MotoServer, env_for


def _timed(argv: list[str], env: dict[str, str]) -> dict[str, Any]:
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300, check=False)
    said = next((line for line in done.stderr.splitlines() if "STS" in line), "")
    return {"seconds": round(time.perf_counter() - start, 2), "exit": done.returncode, "said": said[:160]}


def main() -> None:
    server = MotoServer().start()
    os.environ.update(env_for(server.url))
    try:
        seed = Seed(server)
        seed()
        iam: Any = boto3.client("iam", region_name="us-east-1", endpoint_url=server.url)
        iam.create_role(RoleName="BreakGlassAdmin", AssumeRolePolicyDocument=TRUST)
        proxy = FaultProxy(server.url, services={("sts", "us-east-1"): "hang"}).start()
        env = {**bench_env(server, Path(tempfile.mkdtemp(prefix="bg-sts-"))), "AWS_ENDPOINT_URL": proxy.url}
        breakglass = tool("breakglass")
        mfa = ["--mfa-serial", f"arn:aws:iam::{ACCOUNT}:mfa/oncall", "--token-code", "123456"]
        rows = {
            "role assume (credentials from the next region)": _timed(
                [breakglass, "role", "assume", "--account", ACCOUNT, "--reason", "outage", *mfa, "--no-agent"], env
            ),
            "scp detach (exit 7 naming STS)": _timed(
                [breakglass, "scp", "detach", "--target", seed.account, "--reason", "outage", "--yes"], env
            ),
        }
        proxy.stop()
    finally:
        server.stop()
    for name, row in rows.items():
        print(f"{name:48} {row['seconds']:>6.2f} s  exit {row['exit']}  {row['said']}")
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
