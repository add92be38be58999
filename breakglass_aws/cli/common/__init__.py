"""What the command groups share; no group imports another."""

from __future__ import annotations

__all__: list[str] = []
