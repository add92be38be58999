"""Output: JSON on stdout for scripts, readable text for people; the confirmation question; reading
a public key file. No business logic."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer

from breakglass_aws.cli.state import CliState

__all__ = ["confirm", "echo_lines", "emit", "read_public_key", "status_line"]


def emit(st: CliState, data: Any, text: Callable[[], list[str]]) -> None:
    """JSON or text on stdout; every timestamp in either in Z form."""
    from breakglass_aws.clock import as_json, zulu

    if st.json:
        typer.echo(zulu(json.dumps(data, indent=2, sort_keys=True, default=as_json)))
    else:
        echo_lines([zulu(line) for line in text()])


def status_line(incident_id: str, status: str) -> str:
    """The last line of a command that changed an incident: its status as stored."""
    return f"{incident_id} {status}"


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


def read_public_key(path: Path | None) -> bytes | None:
    from breakglass_aws.errors import UsageError

    if path is None:
        return None
    try:
        pem = path.read_bytes()
    except OSError as err:
        raise UsageError(
            f"cannot read --public-key {path}: {err.strerror}", "write it with: breakglass evidence public-key"
        ) from None
    if b"BEGIN PUBLIC KEY" not in pem:
        raise UsageError(f"--public-key {path} is not a PEM public key", "write one: breakglass evidence public-key")
    return pem
