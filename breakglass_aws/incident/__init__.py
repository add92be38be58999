"""The incident layer: the lifecycle of an incident and the one apply gate, the only writer of the
journal. Its face names what library users call; each name is loaded from its room on first use,
so that importing one room does not load them all."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from breakglass_aws.incident.approvals import activate, approve, deny
    from breakglass_aws.incident.close import close_incident, finish_close, restore_incident
    from breakglass_aws.incident.records import get_incident, list_incidents
    from breakglass_aws.incident.role import choose_role, open_role_incident, reassume, revoke_role_sessions
    from breakglass_aws.incident.rotation import rotate_standalone
    from breakglass_aws.incident.scp import new_scp_incident, open_scp_incident, plan_scp_detach
    from breakglass_aws.incident.sweep import restore_expired, sweep
    from breakglass_aws.incident.verify import journal_problems, journal_report

_ROOMS = {
    "activate": "approvals",
    "approve": "approvals",
    "deny": "approvals",
    "close_incident": "close",
    "finish_close": "close",
    "restore_incident": "close",
    "get_incident": "records",
    "list_incidents": "records",
    "choose_role": "role",
    "open_role_incident": "role",
    "reassume": "role",
    "revoke_role_sessions": "role",
    "rotate_standalone": "rotation",
    "new_scp_incident": "scp",
    "open_scp_incident": "scp",
    "plan_scp_detach": "scp",
    "restore_expired": "sweep",
    "sweep": "sweep",
    "journal_problems": "verify",
    "journal_report": "verify",
}

__all__ = [
    "activate",
    "approve",
    "choose_role",
    "close_incident",
    "deny",
    "finish_close",
    "get_incident",
    "journal_problems",
    "journal_report",
    "list_incidents",
    "new_scp_incident",
    "open_role_incident",
    "open_scp_incident",
    "plan_scp_detach",
    "reassume",
    "restore_expired",
    "restore_incident",
    "revoke_role_sessions",
    "rotate_standalone",
    "sweep",
]


def __getattr__(name: str) -> Any:
    room = _ROOMS.get(name)
    if room is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{room}"), name)
