"""Run the benchmarks: `python -m benchmarks [--runs N] [--out FILE] [NAME ...]`.

Starts its own moto server on 127.0.0.1, alternates the two sides of each comparison over several
runs, prints a table and writes JSON. Absolute times mean little on a noisy machine: read ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
from collections.abc import Callable
from pathlib import Path

from benchmarks import close_incident, evidence, org_restore, role_assume, scp_roundtrip, startup
from benchmarks.harness import Comparison, Latency, alternate, bench_env, count_calls
from breakglass_aws.testing import MotoServer, env_for

SUITES: dict[str, Callable[[MotoServer, dict[str, str]], Comparison]] = {
    "scp": lambda server, _env: scp_roundtrip.comparison(server),
    "assume": lambda server, _env: role_assume.comparison(server),
    "close": close_incident.comparison,
    "help": lambda _server, _env: startup.comparison(),
}
COUNTED = {"scp", "assume", "close"}
# goals on a real network (--latency-ms 100): what decides the time is the requests made one after the other
AT_LATENCY: dict[str, tuple[str, Callable[[float], bool]]] = {
    "scp": (">= 2.7x faster at 100 ms a request", lambda r: r >= 2.7),
    "assume": ("<= 1.0x the aws CLI's time at 100 ms", lambda r: r <= 1.0),
    "close": (">= 3x faster at 100 ms a request", lambda r: r >= 3.0),
}
MEASURES: dict[str, Callable[[MotoServer, dict[str, str]], list[dict[str, object]]]] = {
    "evidence": lambda _server, _env: [evidence.memory(), evidence.throttled_rate()],
    "org-restore": lambda server, env: [*org_restore.speed(server, env), org_restore.throttled(server, env)],
    "assume-floor": role_assume.floor,
}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("names", nargs="*", choices=[*SUITES, *MEASURES, []], help="which comparisons (default: all)")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/latest.json"))
    parser.add_argument(
        "--latency-ms", type=float, default=0.0, help="add this to every AWS request of both sides (e.g. 100)"
    )
    parser.add_argument(
        "--store", choices=["sqlite", "dynamodb"], default="sqlite", help="the incident store of our side"
    )
    args = parser.parse_args()
    server = MotoServer().start()
    os.environ.update(env_for(server.url))
    reports = []
    try:
        env = bench_env(server, Path(tempfile.mkdtemp(prefix="bg-bench-state-")))
        for name in args.names or [*SUITES, *MEASURES]:
            if name in MEASURES:
                for report in MEASURES[name](server, env):
                    reports.append(report)
                    print(
                        f"{report['name']:42} {report['ratio']:>7.3f}           goal {report['goal']:32} "
                        f"{_verdict(report['passed'])}"
                    )
                    print(f"    {json.dumps({k: v for k, v in report.items() if k not in ('name', 'goal')})}")
                continue
            comparison = SUITES[name](server, env)
            if args.store == "dynamodb":
                with_table(server, comparison, env)
            if args.latency_ms and name in AT_LATENCY:
                comparison.goal, comparison.passed = AT_LATENCY[name]
            latency = Latency(server, args.latency_ms)
            try:
                alternate(comparison, latency.env(env), args.runs)
            finally:
                latency.stop()
            if name in COUNTED:
                comparison.ours.calls = count_calls(server, comparison.ours, env, args.latency_ms)
                comparison.theirs.calls = count_calls(server, comparison.theirs, env, args.latency_ms)
            comparison.extra["latency_ms"] = args.latency_ms
            reports.append(comparison.report())
            print_row(reports[-1])
    finally:
        server.stop()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    summary = {"machine": platform.platform(), "runs": args.runs, "latency_ms": args.latency_ms, "results": reports}
    args.out.write_text(json.dumps(summary, indent=2))
    print(f"\nwritten: {args.out}")


DYNAMODB_TABLE = "breakglass-bench"


def with_table(server: MotoServer, comparison: Comparison, env: dict[str, str]) -> None:
    """Our side on the shared DynamoDB store: the table is made again after each seed (which resets
    the moto server); its requests count in the calls and the depth."""
    import boto3

    from breakglass_aws.journal.dynamodb import create_table

    env["BREAKGLASS_STORE"] = f"dynamodb://{DYNAMODB_TABLE}"
    seed = comparison.ours.prepare

    def prepare() -> None:
        seed()
        db = boto3.client("dynamodb", region_name="us-east-1", endpoint_url=server.url)
        if DYNAMODB_TABLE not in db.list_tables()["TableNames"]:
            create_table(db, DYNAMODB_TABLE)

    comparison.ours.prepare = prepare
    comparison.extra["store"] = "dynamodb"


def _verdict(passed: object) -> str:
    return "measured" if passed is None else "PASS" if passed else "FAIL"


def print_row(r: dict[str, object]) -> None:
    ours, theirs = r["ours"], r["theirs"]
    assert isinstance(ours, dict) and isinstance(theirs, dict)
    kind = "x faster" if r["ratio_kind"] == "speedup" else "x the time"
    verdict = "PASS" if r["passed"] else "FAIL"
    print(f"{r['name']:42} {r['ratio']:>7.2f}{kind:10} goal {r['goal']:32} {verdict}")
    for label, side in (("ours", ours), ("theirs", theirs)):
        depth = " ".join(f"{k}={v}" for k, v in (side.get("depth") or {}).items())
        calls = f"calls={side['aws_calls']}  depth {depth}"
        print(f"    {label:6} {side['median_s']:8.3f}s median  {calls}  ({side['name']})")


if __name__ == "__main__":
    main()
