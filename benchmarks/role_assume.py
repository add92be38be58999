"""Time to credentials: `breakglass role assume --format json` against `aws sts assume-role`."""

from __future__ import annotations

import json
import statistics
import sys
import time
from typing import Any

import boto3

from benchmarks.harness import Comparison, Side, sh, tool
from breakglass_aws.testing import MotoServer

ACCOUNT = "123456789012"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/BreakGlassAdmin"
MFA = f"arn:aws:iam::{ACCOUNT}:mfa/oncall"
TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "sts:AssumeRole"}
        ],
    }
)


def _seed(server: MotoServer) -> None:
    server.reset()
    iam: Any = boto3.client("iam", region_name="us-east-1", endpoint_url=server.url)
    iam.create_role(RoleName="BreakGlassAdmin", AssumeRolePolicyDocument=TRUST)


def comparison(server: MotoServer) -> Comparison:
    def seed() -> None:
        _seed(server)

    breakglass, aws = tool("breakglass"), tool("aws")

    def ours(env: dict[str, str]) -> None:
        out = sh(_ours_assume(breakglass), env)
        assert json.loads(out)["AccessKeyId"]

    def theirs(env: dict[str, str]) -> None:
        out = sh(_aws_assume(aws), env)
        assert json.loads(out)["Credentials"]["AccessKeyId"]

    return Comparison(
        name="role assume (time to credentials)",
        ours=Side("breakglass role assume --format json", ours, seed),
        theirs=Side("aws sts assume-role", theirs, seed),
        goal="<= 1.05x the aws CLI's time (loopback: start-up)",
        ratio_kind="relative",
        passed=lambda r: r <= 1.05,
    )


def floor(server: MotoServer, env: dict[str, str], runs: int = 11) -> list[dict[str, Any]]:
    """What the goal leaves room for: a bare botocore process making the same two calls, and
    the same process once it has imported the incident records, against the aws CLI (alternated
    in one run, like the comparisons)."""
    _seed(server)
    sides = {
        "aws sts assume-role": _aws_assume(tool("aws")),
        "breakglass role assume --format json": _ours_assume(tool("breakglass")),
        "bare botocore, 2 calls": [sys.executable, "-m", "benchmarks.assume_floor_worker"],
        "bare botocore + the incident records": [sys.executable, "-m", "benchmarks.assume_floor_worker", "--records"],
    }
    times: dict[str, list[float]] = {name: [] for name in sides}
    for _ in range(runs):
        for name, argv in sides.items():
            start = time.perf_counter()
            sh(argv, env)
            times[name].append(time.perf_counter() - start)
    cli = statistics.median(times["aws sts assume-role"])
    return [
        {
            "name": f"assume floor: {name}",
            "median_s": round(statistics.median(times[name]), 4),
            "aws_cli_median_s": round(cli, 4),
            "ratio": round(statistics.median(times[name]) / cli, 3),
            "goal": "(measured: what the 0.8x goal leaves room for)",
            "passed": None,
        }
        for name in list(sides)[1:]
    ]


def _ours_assume(breakglass: str) -> list[str]:
    return [
        breakglass,
        "role",
        "assume",
        "--account",
        ACCOUNT,
        "--reason",
        "bench",
        "--ticket",
        "INC-1",
        "--mfa-serial",
        MFA,
        "--token-code",
        "123456",
        "--duration",
        "1h",
        "--format",
        "json",
        "--no-agent",  # time to credentials of a first run: a new incident and its AssumeRole
    ]


def _aws_assume(aws: str) -> list[str]:
    return [
        aws,
        "sts",
        "assume-role",
        "--role-arn",
        ROLE,
        "--role-session-name",
        "breakglass-bench",
        "--source-identity",
        "oncall",
        "--tags",
        "Key=breakglass:incident,Value=bench",
        "Key=breakglass:ticket,Value=INC-1",
        "--serial-number",
        MFA,
        "--token-code",
        "123456",
        "--duration-seconds",
        "3600",
        "--output",
        "json",
    ]
