"""Reading what the command line printed: the JSON of `show`, the one error line."""

from __future__ import annotations

from typing import Any


def show(cli, incident_id: str) -> dict[str, Any]:
    return cli("show", incident_id, "--output", "json").json()


def one_line(stderr: str) -> str:
    """The one error line (progress lines aside), with no traceback."""
    errors = [line for line in stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and "Traceback" not in stderr, stderr
    return errors[0]
