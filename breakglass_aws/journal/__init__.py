"""Incident and journal stores behind one interface: embedded SQLite, or shared DynamoDB."""

from __future__ import annotations

import re
from pathlib import Path

from breakglass_aws.aws import ClientFactory
from breakglass_aws.clock import Clock, utcnow
from breakglass_aws.errors import ConfigError
from breakglass_aws.journal.base import IncidentNotFound, NothingToJoin, Store, TargetLocked
from breakglass_aws.journal.chain import verify_chain
from breakglass_aws.journal.sqlite import SqliteStore
from breakglass_aws.validate import REGION_RE

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
TABLE_RE = re.compile(r"^[A-Za-z0-9_.-]{3,255}$")


def open_store(
    spec: str | Path, factory: ClientFactory | None = None, clock: Clock = utcnow, region: str | None = None
) -> Store:
    """`dynamodb://TABLE[?region=R]` opens the shared table; anything else is a SQLite file path.

    The table's region is pinned: `?region=`, else `region`, else the profile's own region (never
    --region, which picks where the emergency work happens), else us-east-1."""
    text = str(spec)
    if text.startswith(DYNAMODB):
        from breakglass_aws.journal.dynamodb import DynamoStore

        table, _, query = text[len(DYNAMODB) :].partition("?")
        table = table.strip("/")
        params = dict(part.partition("=")[::2] for part in query.split("&") if part)
        if not TABLE_RE.match(table) or factory is None or set(params) - {"region"}:
            raise ConfigError(
                f"invalid store {text!r}", 'use store = "dynamodb://TABLE" or "dynamodb://TABLE?region=R"'
            )
        where = params.get("region") or region or factory.profile_region()
        if not REGION_RE.match(where):
            raise ConfigError(f"invalid store region {where!r}", "use a region name such as us-east-1")
        return DynamoStore(factory, table, clock, where)
    return SqliteStore(Path(text), clock)
