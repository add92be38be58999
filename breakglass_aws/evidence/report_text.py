"""Text from a bundle made inert before it is shown. Event fields are attacker-controlled (anyone
who can call AWS chooses a session name, a bucket name, request parameters): every value is cut to
a bounded length, every control, format (bidi overrides, zero-width) and separator character is
shown as its code point, and the rest is escaped for HTML or for Markdown."""

from __future__ import annotations

import html
from datetime import UTC, datetime

__all__ = ["LIMIT", "html_text", "md_text", "neutral", "parse_time", "stamp"]

LIMIT = 200  # characters of one value shown; the bundle keeps the whole text

# Markdown: every character that can open an inline construct is backslash-escaped (a table cell's
# pipe included); < > & become entities, so no raw HTML and no entity reaches a renderer.
_MD = str.maketrans(
    {
        **{c: "\\" + c for c in "\\`*_[]|~!$"},
        "<": "&lt;",
        ">": "&gt;",
        "&": "&amp;",
    }
)


def neutral(value: object, limit: int = LIMIT) -> str:
    """The value as plain, visible text: newlines and tabs as spaces, every other character that
    is not printable (U+202E RIGHT-TO-LEFT OVERRIDE, U+200B, U+2028, ...) as `[U+XXXX]`."""
    text = "" if value is None else value if isinstance(value, str) else str(value)
    if len(text) > limit:
        text = text[:limit] + "…"
    if text.isprintable():
        return text
    return "".join(_visible(ch) for ch in text)


def _visible(ch: str) -> str:
    if ch in "\t\n\r":
        return " "
    return ch if ch.isprintable() else f"[U+{ord(ch):04X}]"


def html_text(value: object, limit: int = LIMIT) -> str:
    return html.escape(neutral(value, limit), quote=True)


def md_text(value: object, limit: int = LIMIT) -> str:
    """Inert in CommonMark and GitHub's Markdown: no emphasis, link, code span, HTML, table cell
    break or autolink can be formed by the value."""
    text = neutral(value, limit).translate(_MD)
    return text.replace("://", ":\\/\\/").replace("www.", "www\\.")


def stamp(moment: datetime | None) -> str:
    """A moment as shown in the report: UTC to the second."""
    if moment is None:
        return "-"
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def parse_time(value: object) -> datetime | None:
    """An EventTime or journal time: ISO 8601 (with Z or an offset; naive is UTC) or epoch seconds."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(float(value), UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value[:40])
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
