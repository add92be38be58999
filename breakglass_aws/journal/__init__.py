"""Incident and journal stores behind one interface: embedded SQLite, or shared DynamoDB."""

from __future__ import annotations

from pathlib import Path

from breakglass_aws.aws import ClientFactory
from breakglass_aws.clock import Clock, utcnow
from breakglass_aws.errors import ConfigError
from breakglass_aws.journal.base import IncidentNotFound, NothingToJoin, Store, TargetLocked
from breakglass_aws.journal.chain import verify_chain
from breakglass_aws.journal.sqlite import SqliteStore

__all__ = [
    "IncidentNotFound",
    "NothingToJoin",
    "SqliteStore",
    "Store",
    "TargetLocked",
    "open_store",
    "verify_chain",
]

DYNAMODB = "dynamodb://"


def open_store(spec: str | Path, factory: ClientFactory | None = None, clock: Clock = utcnow) -> Store:
    """`dynamodb://TABLE` opens the shared table; anything else is a SQLite file path."""
    text = str(spec)
    if text.startswith(DYNAMODB):
        from breakglass_aws.journal.dynamodb import DynamoStore

        table = text[len(DYNAMODB) :].strip("/")
        if not table or factory is None:
            raise ConfigError(f"invalid store {text!r}", 'use store = "dynamodb://TABLE"')
        return DynamoStore(factory, table, clock)
    return SqliteStore(Path(text), clock)
