"""SCP detach + restore (two breakglass processes) against the aws CLI doing the same calls by hand."""

from __future__ import annotations

import json
from typing import Any

import boto3

from benchmarks.harness import Comparison, Side, phase, sh, tool
from breakglass_aws.testing import MotoServer

FULL = "p-FullAWSAccess"
DENY = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "ec2:*", "Resource": "*"}]})


class Seed:
    """One account with 3 custom SCPs and FullAWSAccess not attached, re-created before each run."""

    def __init__(self, server: MotoServer) -> None:
        self.server = server
        self.account = ""
        self.policies: list[str] = []

    def __call__(self) -> None:
        self.server.reset()
        org: Any = boto3.client("organizations", region_name="us-east-1", endpoint_url=self.server.url)
        org.create_organization(FeatureSet="ALL")
        root = org.list_roots()["Roots"][0]["Id"]
        self.account = org.create_account(Email="a@example.com", AccountName="a")["CreateAccountStatus"]["AccountId"]
        ou = org.create_organizational_unit(ParentId=root, Name="prod")["OrganizationalUnit"]["Id"]
        org.move_account(AccountId=self.account, SourceParentId=root, DestinationParentId=ou)
        self.policies = []
        for n in range(3):
            policy = org.create_policy(Content=DENY, Description="d", Name=f"Deny{n}", Type="SERVICE_CONTROL_POLICY")
            self.policies.append(policy["Policy"]["PolicySummary"]["Id"])
            org.attach_policy(PolicyId=self.policies[-1], TargetId=self.account)
        org.detach_policy(PolicyId=FULL, TargetId=self.account)


def comparison(server: MotoServer) -> Comparison:
    seed = Seed(server)
    breakglass, aws = tool("breakglass"), tool("aws")

    def ours(env: dict[str, str]) -> None:
        phase("detach")
        opened = sh(
            [breakglass, "scp", "detach", "--target", seed.account, "--reason", "bench", "--yes", "--output", "json"],
            env,
        )
        phase("restore")
        sh([breakglass, "scp", "restore", json.loads(opened)["incident_id"], "--output", "json"], env)

    def theirs(env: dict[str, str]) -> None:
        org = [aws, "organizations", "--output", "json"]
        target = ["--target-id", seed.account]
        sh([*org, "list-policies-for-target", *target, "--filter", "SERVICE_CONTROL_POLICY"], env)
        sh([*org, "attach-policy", "--policy-id", FULL, *target], env)
        for policy in seed.policies:
            sh([*org, "detach-policy", "--policy-id", policy, *target], env)
        for policy in seed.policies:
            sh([*org, "attach-policy", "--policy-id", policy, *target], env)
        sh([*org, "detach-policy", "--policy-id", FULL, *target], env)
        sh([*org, "list-policies-for-target", *target, "--filter", "SERVICE_CONTROL_POLICY"], env)

    return Comparison(
        name="scp detach+restore (1 account, 3 SCPs)",
        ours=Side("breakglass scp detach + scp restore", ours, seed),
        theirs=Side("aws CLI, 10 calls by hand", theirs, seed),
        goal=">= 4.2x faster than the aws CLI",
        ratio_kind="speedup",
        passed=lambda r: r >= 4.2,
    )
