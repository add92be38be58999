"""Rendering: JSON on stdout for scripts, readable text for people. No business logic."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import typer

from breakglass_aws.cli.state import CliState

__all__ = ["echo_lines", "emit"]


def emit(st: CliState, data: Any, text: Callable[[], list[str]]) -> None:
    if st.json:
        typer.echo(json.dumps(data, indent=2, sort_keys=True, default=str))
    else:
        echo_lines(text())


def echo_lines(lines: list[str]) -> None:
    for line in lines:
        typer.echo(line)


def confirm(st: CliState, question: str, yes: bool) -> None:
    from breakglass_aws.errors import DeclinedError

    if yes:
        return
    try:
        accepted = typer.confirm(question, default=False, err=True)
    except typer.Abort:
        accepted = None
    if accepted is None:
        raise DeclinedError("no confirmation received (input closed)", "rerun with --yes to confirm non-interactively")
    if not accepted:
        raise DeclinedError("declined: nothing was changed", "rerun and answer y to proceed")
