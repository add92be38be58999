"""Timing helpers: alternate two commands over several runs and report median ratios."""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from breakglass_aws.testing import FaultProxy, MotoServer, critical_depth, env_for

BIN = Path(sys.executable).parent


def tool(name: str) -> str:
    local = BIN / name
    if local.exists():
        return str(local)
    found = shutil.which(name)
    if not found:
        raise SystemExit(f"benchmark needs `{name}` on PATH (pip install -e '.[bench]')")
    return found


@dataclass
class Side:
    """One side of a comparison: `prepare` seeds state (untimed), `run` does the timed work."""

    name: str
    run: Callable[[dict[str, str]], None]
    prepare: Callable[[], None] = lambda: None
    times: list[float] = field(default_factory=list)
    calls: int | None = None
    depth: dict[str, int] = field(default_factory=dict)

    @property
    def median(self) -> float:
        return statistics.median(self.times)


@dataclass
class Comparison:
    name: str
    ours: Side
    theirs: Side
    goal: str
    ratio_kind: str  # "speedup" (theirs/ours, higher is better) or "relative" (ours/theirs, lower is better)
    passed: Callable[[float], bool]
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float:
        if self.ratio_kind == "speedup":
            return self.theirs.median / self.ours.median
        return self.ours.median / self.theirs.median

    def report(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "goal": self.goal,
            "ratio_kind": self.ratio_kind,
            "ratio": round(self.ratio, 3),
            "passed": self.passed(self.ratio),
            "ours": {
                "name": self.ours.name,
                "median_s": round(self.ours.median, 4),
                "runs": self.ours.times,
                "aws_calls": self.ours.calls,
                "depth": self.ours.depth,
            },
            "theirs": {
                "name": self.theirs.name,
                "median_s": round(self.theirs.median, 4),
                "runs": self.theirs.times,
                "aws_calls": self.theirs.calls,
                "depth": self.theirs.depth,
            },
            **self.extra,
        }


def alternate(comparison: Comparison, env: dict[str, str], runs: int) -> None:
    for _ in range(runs):
        for side in (comparison.ours, comparison.theirs):
            side.prepare()
            start = time.perf_counter()
            side.run(env)
            side.times.append(time.perf_counter() - start)


_ACTIVE: list[FaultProxy] = []


def phase(name: str) -> None:
    """Name the requests a side makes from here on (e.g. "detach", "restore"), for their depth."""
    for proxy in _ACTIVE:
        proxy.phase = name


class Latency:
    """A proxy on 127.0.0.1 adding `ms` to every request of both sides (0: none, loopback as is)."""

    def __init__(self, server: MotoServer, ms: float) -> None:
        self.server, self.ms = server, ms
        self.proxy = FaultProxy(server.url, latency=ms / 1000).start() if ms else None

    def env(self, env: dict[str, str]) -> dict[str, str]:
        return {**env, "AWS_ENDPOINT_URL": self.proxy.url} if self.proxy else env

    def stop(self) -> None:
        if self.proxy is not None:
            self.proxy.stop()


DEPTH_LATENCY_MS = 50.0  # requests in flight together overlap visibly at this delay, even at 0 ms runs


def count_calls(server: MotoServer, side: Side, env: dict[str, str], latency_ms: float = 0.0) -> int:
    """Run a side once more through a counting proxy: the number of AWS requests it makes, and
    (in side.depth) the critical-path depth of each phase it names."""
    proxy = FaultProxy(server.url, latency=max(latency_ms, DEPTH_LATENCY_MS) / 1000).start()
    _ACTIVE.append(proxy)
    try:
        side.prepare()
        phase("")
        side.run({**env, "AWS_ENDPOINT_URL": proxy.url})
        names = sorted({span.phase for span in proxy.spans})
        side.depth = {name or "all": critical_depth([s for s in proxy.spans if s.phase == name]) for name in names}
        if len(names) > 1:
            side.depth["all"] = critical_depth(proxy.spans)
        return len(proxy.seen)
    finally:
        _ACTIVE.remove(proxy)
        proxy.stop()


def sh(argv: list[str], env: dict[str, str]) -> str:
    result = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        said = f"stderr: {result.stderr.strip()[-400:]} stdout: {result.stdout.strip()[-1200:]}"
        raise RuntimeError(f"{' '.join(argv)} failed ({result.returncode}): {said}")
    return result.stdout


def bench_env(server: MotoServer, state_dir: Path) -> dict[str, str]:
    env = env_for(server.url)
    env["XDG_STATE_HOME"] = str(state_dir)
    env["XDG_CONFIG_HOME"] = str(state_dir / "config")
    env.pop("PYTHONPATH", None)
    env.setdefault("HOME", os.environ.get("HOME", "/root"))
    return env
