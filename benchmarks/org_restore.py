"""Org-wide restore: `breakglass restore --expired` of N expired single-account incidents from the
DynamoDB store, against an aws CLI loop doing the same calls (extrapolated from a sample); and
the same restore behind a proxy that throttles Organizations above a rate limit."""

from __future__ import annotations

import json
import subprocess
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3

from benchmarks.harness import sh, tool
from benchmarks.scp_roundtrip import DENY, FULL
from breakglass_aws.aws import ClientFactory
from breakglass_aws.journal.dynamodb import DynamoStore, create_table
from breakglass_aws.models import (
    Incident,
    IncidentStatus,
    Mode,
    PolicyRef,
    Requester,
    ScpTargetSnapshot,
    new_incident_id,
)
from breakglass_aws.testing import FaultProxy, MotoServer

TABLE = "breakglass-store"
ORG_TARGET = "AWSOrganizationsV20161128"


def seed(server: MotoServer, count: int) -> list[tuple[str, str, str]]:
    """`count` accounts, each with a Deny SCP detached by an expired incident in the shared table:
    (account, policy, incident id) each."""
    server.reset()
    org: Any = boto3.client("organizations", region_name="us-east-1", endpoint_url=server.url)
    ddb: Any = boto3.client("dynamodb", region_name="us-east-1", endpoint_url=server.url)
    create_table(ddb, TABLE)
    org.create_organization(FeatureSet="ALL")
    policy = org.create_policy(Content=DENY, Description="d", Name="Deny", Type="SERVICE_CONTROL_POLICY")
    policy_id = policy["Policy"]["PolicySummary"]["Id"]
    store = DynamoStore(ClientFactory(), TABLE)
    requester = Requester(
        arn="arn:aws:iam::123456789012:user/oncall", account="123456789012", user_id="A", name="oncall"
    )
    past = datetime.now(UTC) - timedelta(hours=2)
    pairs = []
    for n in range(count):
        account = org.create_account(Email=f"a{n}@example.com", AccountName=f"a{n}")["CreateAccountStatus"]
        target = account["AccountId"]
        snapshot = ScpTargetSnapshot(
            target=target,
            kind="account",
            detach=[policy_id],
            attach_full_access=False,
            original=[PolicyRef(id=FULL, aws_managed=True), PolicyRef(id=policy_id)],
        )
        incident = Incident(
            incident_id=new_incident_id(past + timedelta(seconds=n)),
            mode=Mode.SCP,
            status=IncidentStatus.ACTIVE,
            requester=requester,
            reason="bench",
            targets=[target],
            created_at=past,
            expires_at=past + timedelta(hours=1),
            scp=[snapshot],
        )
        store.create_incident(incident)
        store.append(incident.incident_id, "opened", {"incident": incident.public()})
        pairs.append((target, policy_id, incident.incident_id))
    return pairs


def ours(env: dict[str, str], *extra: str) -> tuple[float, list[dict[str, Any]]]:
    """The restore's results, failed ones included (exit 8 names them in its JSON: they are
    reported as failed targets rather than ending the benchmark)."""
    start = time.perf_counter()
    argv = [tool("breakglass"), "restore", "--expired", "--output", "json", "-q", *extra]
    done = subprocess.run(
        argv, env={**env, "BREAKGLASS_STORE": f"dynamodb://{TABLE}"}, capture_output=True, text=True, check=False
    )
    elapsed = time.perf_counter() - start
    if done.returncode not in (0, 8) or not done.stdout.strip():
        raise RuntimeError(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr.strip()[-400:]}")
    return elapsed, json.loads(done.stdout)


def first_error(results: list[dict[str, Any]]) -> str | None:
    return next((str(r.get("error")) for r in results if r.get("status") != "closed"), None)


def cli_loop(env: dict[str, str], pairs: list[tuple[str, str, str]]) -> float:
    """What a person would script by hand: list, attach, list (no journal, no lock, no status)."""
    aws = [tool("aws"), "organizations", "--output", "json"]
    start = time.perf_counter()
    for target, policy, _ in pairs:
        sh([*aws, "list-policies-for-target", "--target-id", target, "--filter", "SERVICE_CONTROL_POLICY"], env)
        sh([*aws, "attach-policy", "--policy-id", policy, "--target-id", target], env)
        sh([*aws, "list-policies-for-target", "--target-id", target, "--filter", "SERVICE_CONTROL_POLICY"], env)
    return time.perf_counter() - start


def cli_same_calls(env: dict[str, str], pairs: list[tuple[str, str, str]]) -> tuple[float, int]:
    """The calls `restore --expired` makes for each account, one aws CLI process each (the
    sweep's own listing, once per run, is left out): read the holders and the journal head,
    mark the record closing, plan (list, describe), journal, attach, journal, verify (list),
    mark it closed, release the target. Returns the time and the number of aws processes."""
    calls = [0]

    def call(argv: list[str], env: dict[str, str]) -> None:
        calls[0] += 1
        sh(argv, env)

    org = [tool("aws"), "organizations", "--output", "json"]
    ddb = [tool("aws"), "dynamodb", "--output", "json"]
    table = ["--table-name", TABLE]
    start = time.perf_counter()
    for target, policy, incident_id in pairs:
        pk = {"S": f"INC#{incident_id}"}
        guard = {"pk": {"S": f"LOCK#{target}"}, "sk": {"S": "GUARD"}}
        probe = [guard, *({"pk": pk, "sk": {"S": f"J#{n:08d}"}} for n in range(2, 27))]
        get = {TABLE: {"Keys": probe, "ConsistentRead": True}}
        call([*ddb, "batch-get-item", "--request-items", json.dumps(get)], env)
        meta = {"pk": pk, "sk": {"S": "META"}, "body": {"S": "{}"}, "version": {"N": "2"}}
        call([*ddb, "put-item", *table, "--item", json.dumps(meta)], env)
        listing = ["list-policies-for-target", "--target-id", target, "--filter", "SERVICE_CONTROL_POLICY"]
        call([*org, *listing], env)
        call([*org, "describe-policy", "--policy-id", policy], env)
        new_only = ["--condition-expression", "attribute_not_exists(pk)"]
        journal = [{"pk": pk, "sk": {"S": f"J#{seq:08d}"}, "entries": {"S": "[]"}} for seq in (2, 5)]
        call([*ddb, "put-item", *table, "--item", json.dumps(journal[0]), *new_only], env)
        call([*org, "attach-policy", "--policy-id", policy, "--target-id", target], env)
        call([*org, *listing], env)
        call([*ddb, "put-item", *table, "--item", json.dumps(journal[1]), *new_only], env)
        call([*ddb, "put-item", *table, "--item", json.dumps({**meta, "version": {"N": "3"}})], env)
        call([*ddb, "delete-item", *table, "--key", json.dumps(guard)], env)
    return time.perf_counter() - start, calls[0]


def speed(
    server: MotoServer, env: dict[str, str], sizes: tuple[int, ...] = (100, 500), sample: int = 20
) -> list[dict[str, Any]]:
    reports = []
    same_seconds, same_calls = cli_same_calls(env, seed(server, sample))
    same = same_seconds / sample
    by_hand = cli_loop(env, seed(server, sample)) / sample
    for size in sizes:
        seed(server, size)
        elapsed, results = ours(env)
        failed = [r for r in results if r["status"] != "closed"]
        ratio = same * size / elapsed
        reports.append(
            {
                "name": f"org-wide restore of {size} (DynamoDB store)",
                "ours_seconds": round(elapsed, 2),
                "cli_seconds_extrapolated": round(same * size, 1),
                "cli_calls_per_incident": same_calls // sample,
                "cli_sample": sample,
                "failed": len(failed),
                "first_error": first_error(results),
                "ratio": round(ratio, 1),
                "goal": ">= 50x the aws CLI doing the same calls",
                "passed": ratio >= 50 and not failed,
                "hand_loop_seconds_extrapolated": round(by_hand * size, 1),
                "ratio_to_hand_loop": round(by_hand * size / elapsed, 1),
            }
        )
    return reports


def throttled(server: MotoServer, env: dict[str, str], count: int = 100, limit: float = 20.0) -> dict[str, Any]:
    """The proxy answers TooManyRequestsException above `limit` Organizations requests/s."""
    seed(server, count)
    stamps: list[float] = []
    window: list[float] = []
    lock = threading.Lock()
    rejected = [0]

    def rule(operation: str) -> str | None:
        if operation not in ("ListPoliciesForTarget", "DescribePolicy", "AttachPolicy", "DetachPolicy"):
            return None
        now = time.monotonic()
        with lock:
            window[:] = [t for t in window if now - t < 1.0]
            if len(window) >= limit:
                rejected[0] += 1
                return "throttle"
            window.append(now)
            stamps.append(now)
        return None

    proxy = FaultProxy(server.url, rule=rule).start()
    try:
        elapsed, results = ours({**env, "AWS_ENDPOINT_URL": proxy.url}, "--max-rps", str(limit))
    finally:
        proxy.stop()
    rate = (len(stamps) - 1) / (stamps[-1] - stamps[0]) if len(stamps) > 1 else 0.0
    failed = [r for r in results if r["status"] != "closed"]
    return {
        "name": f"org-wide restore of {count} behind a {limit:g} req/s throttle",
        "requests": len(stamps),
        "requests_per_second": round(rate, 2),
        "ratio": round(rate / limit, 3),
        "throttled_answers": rejected[0],
        "failed": len(failed),
        "first_error": first_error(results),
        "seconds": round(elapsed, 1),
        "goal": ">= 90% of the limit, zero failed targets",
        "passed": rate >= 0.9 * limit and not failed,
    }


__all__ = ["speed", "throttled"]
