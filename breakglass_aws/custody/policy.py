"""Who keeps the glass: the threshold k and the custodians (a name and an age X25519 recipient
each), read from the settings; and where each custodian's share is kept."""

from __future__ import annotations

from dataclasses import dataclass

from breakglass_aws.custody.age import valid_recipient
from breakglass_aws.errors import ConfigError

__all__ = ["Custodian", "CustodyPolicy", "custody_policy", "share_secret_id"]


@dataclass(frozen=True)
class Custodian:
    name: str
    recipient: str  # age1...: public, safe to print


@dataclass(frozen=True)
class CustodyPolicy:
    threshold: int
    custodians: tuple[Custodian, ...]

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.custodians]

    def by_recipient(self, recipient: str) -> Custodian | None:
        return next((c for c in self.custodians if c.recipient == recipient), None)


def custody_policy(threshold: int, entries: tuple[str, ...] | list[str]) -> CustodyPolicy | None:
    """The policy the settings describe, None without custody. Every recipient is parsed here, so
    a key that only looks right fails before any rotation starts (exit 5)."""
    if not threshold and not entries:
        return None
    custodians = []
    for entry in entries:
        name, _, recipient = entry.strip().partition("=")
        if not valid_recipient(recipient):
            raise ConfigError(f"custodian {name}: {recipient[:12]}... is not an age X25519 recipient", "age-keygen -y")
        custodians.append(Custodian(name, recipient))
    if not 2 <= threshold <= len(custodians):
        raise ConfigError(
            f"custody needs 2 <= custody_threshold <= the number of custodians (got {threshold} of {len(custodians)})",
            "set custody_threshold and custodians together",
        )
    return CustodyPolicy(threshold, tuple(custodians))


def share_secret_id(base: str, custodian: str) -> str:
    """`{secret_prefix}{user}/custody/{custodian}`: one secret per custodian, readable by them only."""
    return f"{base}/custody/{custodian}"
