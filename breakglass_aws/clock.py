"""An injectable clock: tests move time instead of sleeping."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime

__all__ = ["Clock", "as_json", "isoformat", "utcnow", "zulu"]

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)


def isoformat(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


_UTC_OFFSET = re.compile(r"\b(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2}(?:\.\d+)?)\+00:00\b")


def zulu(text: str) -> str:
    """Every UTC timestamp in `text` written the one way this tool prints them: ...T..Z."""
    return _UTC_OFFSET.sub(lambda m: f"{m.group(1)}T{m.group(2)}Z", text)


def as_json(value: object) -> str:
    """`json.dumps(default=...)` for what JSON has no type for: a datetime in Z form, else str()."""
    return isoformat(value) if isinstance(value, datetime) else str(value)
