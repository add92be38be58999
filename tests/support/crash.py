"""A crash the tool cannot catch."""

from __future__ import annotations


class Crash(BaseException):
    """Stands for kill -9: nothing in the tool may catch it."""
