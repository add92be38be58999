"""The organization as `check` reads it: the path from an account up to the root, and the
organization policies (SCPs, RCPs) attached along it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mypy_boto3_organizations import OrganizationsClient
    from mypy_boto3_organizations.literals import PolicyTypeType
    from mypy_boto3_organizations.type_defs import PolicySummaryTypeDef

__all__ = ["Organization", "attached", "path"]


@dataclass(frozen=True)
class Organization:
    org_id: str
    management: str


def path(org: OrganizationsClient, account: str) -> Iterator[str]:
    """The account, its OUs, then the root."""
    yield account
    current = account
    while not current.startswith("r-"):
        parents = org.list_parents(ChildId=current)["Parents"]
        if not parents:
            return
        current = parents[0]["Id"]
        yield current


def attached(
    org: OrganizationsClient, target: str, kinds: tuple[PolicyTypeType, ...]
) -> Iterator[PolicySummaryTypeDef]:
    """The policies of these types attached to the target (a type not enabled: none)."""
    for kind in kinds:
        try:
            pages = org.get_paginator("list_policies_for_target").paginate(TargetId=target, Filter=kind)
            yield from (p for page in pages for p in page["Policies"])
        except org.exceptions.ClientError as err:
            if err.response.get("Error", {}).get("Code") in ("PolicyTypeNotEnabledException", "InvalidInputException"):
                continue
            raise
