"""Role mode, the AWS side: the AssumeRole request and its credentials, the console sign-in URL,
and revoking a role's sessions. Never writes the journal."""

from __future__ import annotations

__all__: list[str] = []
