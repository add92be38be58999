"""Incident and journal stores behind one interface."""

from __future__ import annotations

from pathlib import Path

from breakglass_aws.clock import Clock, utcnow
from breakglass_aws.journal.base import IncidentNotFound, Store, TargetLocked
from breakglass_aws.journal.chain import verify_chain
from breakglass_aws.journal.sqlite import SqliteStore

__all__ = ["IncidentNotFound", "SqliteStore", "Store", "TargetLocked", "open_store", "verify_chain"]


def open_store(path: Path, clock: Clock = utcnow) -> Store:
    return SqliteStore(path, clock)
