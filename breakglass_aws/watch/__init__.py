"""Out-of-band detection: uses of the break-glass principals, and SCP changes, that match no
incident; and their alerts."""

from __future__ import annotations

__all__: list[str] = []
