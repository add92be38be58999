"""Readiness: `check` (is everything pre-staged and wired), the outage probe, drills (the
whole procedure rehearsed) and the in-process sandbox that lets anyone run one."""

from __future__ import annotations

__all__: list[str] = []
