"""The store interface every backend implements (embedded SQLite now, DynamoDB for teams)."""

from __future__ import annotations

from typing import Any, Protocol

from breakglass_aws.errors import GuardRailError, UsageError
from breakglass_aws.models import Incident, JournalEntry

__all__ = ["IncidentNotFound", "NothingToJoin", "Store", "TargetLocked"]


class TargetLocked(GuardRailError):
    def __init__(self, target: str, holder: str) -> None:
        super().__init__(
            f"target {target} already has an open incident {holder}",
            f"share it with --join (see: breakglass show {holder}) or restore it: breakglass scp restore {holder}",
        )
        self.target = target
        self.holder = holder


class NothingToJoin(UsageError):
    def __init__(self, target: str) -> None:
        super().__init__(f"no open incident holds {target}", "leave out --join to open a new incident")


class IncidentNotFound(UsageError):
    def __init__(self, incident_id: str) -> None:
        super().__init__(f"no incident {incident_id} in the journal", "list incidents with: breakglass list")


class Store(Protocol):
    """Incidents, their hash-chained journals and per-target locks."""

    def create_incident(self, incident: Incident, join: bool = False) -> None:
        """Store a new incident and hold its targets atomically. A held target raises
        TargetLocked, unless `join` (overlapping incidents, reference-counted)."""

    def get_incident(self, incident_id: str) -> Incident: ...

    def save_incident(self, incident: Incident) -> None: ...

    def list_incidents(self, limit: int = 50) -> list[Incident]: ...

    def release_locks(self, incident_id: str, targets: list[str] | None = None) -> None:
        """Let go of the incident's targets (all of them, or the given ones)."""

    def lock_holder(self, target: str) -> str | None: ...

    def holders(self, target: str) -> list[str]:
        """Incidents holding the target, oldest first."""

    def append(self, incident_id: str, kind: str, data: dict[str, Any]) -> JournalEntry:
        """Durably append an entry (committed before this returns)."""

    def entries(self, incident_id: str) -> list[JournalEntry]: ...

    def record_alert(self, key: str) -> bool:
        """Remember that `key` was alerted; True the first time only."""

    def forget_alert(self, key: str) -> None:
        """Drop a claim made by record_alert whose alert could not be sent (retried next run)."""

    def close(self) -> None: ...
