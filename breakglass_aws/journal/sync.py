"""`--offline-store` and `sync`: when the shared DynamoDB store is unreachable at the moment of
emergency, incidents are kept in a local SQLite journal, then merged into the shared store
without losing or duplicating anything (the hash chains still verify)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict

from breakglass_aws.errors import AwsFailure, UsageError
from breakglass_aws.journal.base import Store
from breakglass_aws.journal.chain import verify_chain
from breakglass_aws.journal.dynamodb import DynamoStore
from breakglass_aws.journal.sqlite import SqliteStore
from breakglass_aws.models import ACTIVE_STATUSES, JournalEntry

__all__ = ["SyncResult", "offline_path", "sync_offline"]


class SyncResult(BaseModel):
    model_config = ConfigDict(extra="forbid")
    incidents_copied: list[str] = []
    incidents_updated: list[str] = []
    entries_copied: int = 0


def offline_path(state_dir: Path) -> Path:
    return state_dir / "offline.sqlite3"


def sync_offline(shared: Store, local: SqliteStore) -> SyncResult:
    """Merge the incidents kept in `local` into `shared` (the DynamoDB store)."""
    if not isinstance(shared, DynamoStore):
        raise UsageError("sync merges into the shared store", 'set store = "dynamodb://TABLE" first')
    result = SyncResult()
    for incident in reversed(local.list_incidents(limit=100_000)):
        entries = local.entries(incident.incident_id)
        if verify_chain(entries):
            raise AwsFailure(
                f"the offline journal of {incident.incident_id} does not verify",
                "nothing was merged "
                "for it; inspect with: breakglass --offline-store journal verify " + incident.incident_id,
            )
        try:
            existing = shared.get_incident(incident.incident_id)
        except UsageError:
            existing = None
        if existing is None:
            shared.import_incident(incident, hold=incident.status in ACTIVE_STATUSES)
            result.incidents_copied.append(incident.incident_id)
        elif existing != incident and _local_is_newer(entries, shared.entries(incident.incident_id)):
            # only an offline copy that moved on since the last sync replaces the shared one: after
            # a sync, the shared store is where the incident lives (it may have been closed there)
            shared.save_incident(incident)
            result.incidents_updated.append(incident.incident_id)
        result.entries_copied += sum(shared.put_entry(e) for e in entries)
        if verify_chain(shared.entries(incident.incident_id)):
            raise AwsFailure(
                f"{incident.incident_id}: the shared journal diverged from the offline one",
                "someone wrote to it meanwhile; compare both with breakglass show",
            )
    return result


def _local_is_newer(local: list[JournalEntry], shared: list[JournalEntry]) -> bool:
    """The offline journal holds entries the shared one lacks (the shared one is a prefix of it)."""
    return len(local) > len(shared)
