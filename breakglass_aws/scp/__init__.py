"""SCP mode, the AWS side: what a target holds, the detach and restore plans, one step at a time;
and the lint of SCPs and RCPs for the break-glass exemption. Never writes the journal."""

from __future__ import annotations

__all__: list[str] = []
