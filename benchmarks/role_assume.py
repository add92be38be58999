"""Time to credentials: `breakglass role assume --format json` against `aws sts assume-role`."""

from __future__ import annotations

import json
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


def comparison(server: MotoServer) -> Comparison:
    def seed() -> None:
        server.reset()
        iam: Any = boto3.client("iam", region_name="us-east-1", endpoint_url=server.url)
        iam.create_role(RoleName="BreakGlassAdmin", AssumeRolePolicyDocument=TRUST)

    breakglass, aws = tool("breakglass"), tool("aws")

    def ours(env: dict[str, str]) -> None:
        out = sh(
            [
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
            ],
            env,
        )
        assert json.loads(out)["AccessKeyId"]

    def theirs(env: dict[str, str]) -> None:
        out = sh(
            [
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
            ],
            env,
        )
        assert json.loads(out)["Credentials"]["AccessKeyId"]

    return Comparison(
        name="role assume (time to credentials)",
        ours=Side("breakglass role assume --format json", ours, seed),
        theirs=Side("aws sts assume-role", theirs, seed),
        goal="<= 0.8x the aws CLI's time",
        ratio_kind="relative",
        passed=lambda r: r <= 0.8,
    )
