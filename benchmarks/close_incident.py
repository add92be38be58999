"""`breakglass close` of an SCP incident (3 policies) with one user rotation, against the aws CLI
doing the same steps by hand."""

from __future__ import annotations

import json
from typing import Any

import boto3

from benchmarks.harness import Comparison, Side, sh, tool
from benchmarks.scp_roundtrip import FULL, Seed
from breakglass_aws.testing import MotoServer

USER = "breakglass-1"
SECRET = f"breakglass/{USER}"


def comparison(server: MotoServer, env: dict[str, str]) -> Comparison:
    seed = Seed(server)
    breakglass, aws = tool("breakglass"), tool("aws")
    state: dict[str, Any] = {}

    def seed_user() -> None:
        iam: Any = boto3.client("iam", region_name="us-east-1", endpoint_url=server.url)
        sm: Any = boto3.client("secretsmanager", region_name="us-east-1", endpoint_url=server.url)
        iam.create_user(UserName=USER)
        iam.create_login_profile(UserName=USER, Password="Old-passw0rd!")
        state["old_key"] = iam.create_access_key(UserName=USER)["AccessKey"]["AccessKeyId"]
        sm.create_secret(Name=SECRET, SecretString="{}")

    def prepare_ours() -> None:
        seed()
        seed_user()
        opened = sh(
            [breakglass, "scp", "detach", "--target", seed.account, "--reason", "bench", "--yes", "--output", "json"],
            env,
        )
        state["incident"] = json.loads(opened)["incident_id"]

    def prepare_theirs() -> None:
        seed()
        seed_user()
        org: Any = boto3.client("organizations", region_name="us-east-1", endpoint_url=server.url)
        org.attach_policy(PolicyId=FULL, TargetId=seed.account)
        for policy in seed.policies:
            org.detach_policy(PolicyId=policy, TargetId=seed.account)

    def ours(run_env: dict[str, str]) -> None:
        sh([breakglass, "close", state["incident"], "--yes", "--user", USER, "--output", "json"], run_env)

    def theirs(run_env: dict[str, str]) -> None:
        org = [aws, "organizations", "--output", "json"]
        target = ["--target-id", seed.account]
        sh([*org, "list-policies-for-target", *target, "--filter", "SERVICE_CONTROL_POLICY"], run_env)
        for policy in seed.policies:
            sh([*org, "attach-policy", "--policy-id", policy, *target], run_env)
        sh([*org, "detach-policy", "--policy-id", FULL, *target], run_env)
        sh([*org, "list-policies-for-target", *target, "--filter", "SERVICE_CONTROL_POLICY"], run_env)
        iam = [aws, "iam", "--output", "json"]
        sh([*iam, "list-access-keys", "--user-name", USER], run_env)
        new = json.loads(sh([*iam, "create-access-key", "--user-name", USER], run_env))["AccessKey"]
        value = json.dumps(
            {
                "access_key_id": new["AccessKeyId"],
                "secret_access_key": new["SecretAccessKey"],
                "password": "New-passw0rd!x",
            }
        )
        sh([aws, "secretsmanager", "put-secret-value", "--secret-id", SECRET, "--secret-string", value], run_env)
        as_new = {**run_env, "AWS_ACCESS_KEY_ID": new["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": new["SecretAccessKey"]}
        sh([aws, "sts", "get-caller-identity"], as_new)
        sh([*iam, "update-login-profile", "--user-name", USER, "--password", "New-passw0rd!x"], run_env)
        sh(
            [
                *iam,
                "update-access-key",
                "--user-name",
                USER,
                "--access-key-id",
                state["old_key"],
                "--status",
                "Inactive",
            ],
            run_env,
        )
        sh([*iam, "delete-access-key", "--user-name", USER, "--access-key-id", state["old_key"]], run_env)

    return Comparison(
        name="close (SCP incident, 3 SCPs, 1 user rotation)",
        ours=Side("breakglass close --user", ours, prepare_ours),
        theirs=Side("aws CLI, 13 steps by hand", theirs, prepare_theirs),
        goal="faster than the aws CLI (measured, no set goal)",
        ratio_kind="speedup",
        passed=lambda r: r >= 1.0,
    )
