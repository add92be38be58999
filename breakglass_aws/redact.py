"""Redaction of credential-shaped strings, applied to every log record before any handler writes."""

from __future__ import annotations

import logging
import re

__all__ = ["RedactingFilter", "redact"]

_PATTERNS = [
    # "SecretAccessKey": "...", SessionToken=..., password: ..., TokenCode ...
    re.compile(
        r"(?i)(secret_?access_?key|session_?token|security_?token|password|token_?code|secret_?string)"
        r"(\"?\s*[:=]\s*\"?)([^\s\",}]+)"
    ),
    re.compile(r"(?<![A-Za-z0-9/+=])([A-Za-z0-9/+=]{40})(?![A-Za-z0-9/+=])"),  # secret access keys
    re.compile(r"(?:FwoG|FQoG|IQo[A-Za-z])[A-Za-z0-9/+=]{60,}"),  # session tokens
    re.compile(r"[A-Za-z0-9/+=]{100,}"),  # any long base64 blob
]
MASK = "[REDACTED]"


def redact(text: str) -> str:
    text = _PATTERNS[0].sub(lambda m: m.group(1) + m.group(2) + MASK, text)
    for pattern in _PATTERNS[1:]:
        text = pattern.sub(MASK, text)
    return text


class RedactingFilter(logging.Filter):
    """Renders the message, redacts it, and drops args so nothing unredacted survives."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = None
        if record.exc_info:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True
