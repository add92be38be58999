"""Incident and journal stores behind one interface: embedded SQLite, or shared DynamoDB."""

from __future__ import annotations

from pathlib import Path

from breakglass_aws.aws import ClientFactory
from breakglass_aws.clock import Clock, utcnow
from breakglass_aws.errors import ConfigError
from breakglass_aws.journal.base import IncidentNotFound, NothingToJoin, Store, TargetLocked
from breakglass_aws.journal.chain import verify_chain
from breakglass_aws.journal.sqlite import SqliteStore
from breakglass_aws.validate import REGION_RE, TableAddress, parse_store

__all__ = [
    "IncidentNotFound",
    "NothingToJoin",
    "SqliteStore",
    "Store",
    "TargetLocked",
    "open_store",
    "verify_chain",
]


def open_store(
    spec: str | Path, factory: ClientFactory | None = None, clock: Clock = utcnow, region: str | None = None
) -> Store:
    """`dynamodb://TABLE[?region=R]` opens the shared table; `sqlite:///PATH` or an absolute path
    (or one starting with ~) a SQLite file. Anything else is refused (`validate.parse_store`).

    The table's region is pinned: `?region=`, else `region`, else the profile's own region (never
    --region, which picks where the emergency work happens), else us-east-1."""
    address = parse_store(spec)
    if isinstance(address, TableAddress):
        from breakglass_aws.journal.dynamodb import DynamoStore

        if factory is None:
            raise ConfigError(f"the store {str(spec)!r} needs AWS access", "pass a ClientFactory to open_store")
        where = address.region or region or factory.profile_region()
        if not REGION_RE.fullmatch(where):
            raise ConfigError(f"invalid store region {where!r}", "use a region name such as us-east-1")
        return DynamoStore(factory, address.table, clock, where)
    return SqliteStore(address, clock)
