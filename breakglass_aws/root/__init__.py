"""Root-task mode, the AWS side: the prerequisites of centralized root access, the AssumeRoot
request on a regional STS endpoint, and what a root session does on a member account (a bucket or
queue policy read, deleted or replaced; the root user's credentials read or deleted). It reads AWS,
builds typed steps and performs one step when asked; it never writes the journal."""

from __future__ import annotations

__all__: list[str] = []
