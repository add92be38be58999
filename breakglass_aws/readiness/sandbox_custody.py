"""The sandbox drill's custody step: the drill's rotation seals the break-glass user's new
credentials for three custodians of whom any two open them (custody_threshold 2). Two custodians
reveal their shares with their own age keys, the glass is opened in memory and its key proven
with GetCallerIdentity; one share alone is refused; a rotation after use re-splits it.

The custodians' keys are made for the drill and never leave this process."""

from __future__ import annotations

import dataclasses

from pydantic import BaseModel, ConfigDict

from breakglass_aws.custody import open_credentials
from breakglass_aws.custody.age import new_identity
from breakglass_aws.errors import BreakglassError
from breakglass_aws.incident.custody import open_glass, read_custody, reveal
from breakglass_aws.incident.rotation import rotate_standalone
from breakglass_aws.runtime import Runtime, whoami

__all__ = ["CUSTODIANS", "CustodyOpen", "custodian_keys", "open_with_two", "under_custody"]

CUSTODIANS = ("alice", "bob", "carol")
THRESHOLD = 2


class CustodyOpen(BaseModel):
    model_config = ConfigDict(extra="forbid")
    user: str
    threshold: int
    custodians: list[str]
    opened_by: list[str]
    incident_id: str
    works_as: str | None
    one_share_refused: bool
    resplit: bool  # the rotation after use sealed new credentials for the same custodians

    def lines(self) -> list[str]:
        refused = "refused" if self.one_share_refused else "NOT refused"
        return [
            f"custody: {self.user}'s credentials sealed {self.threshold} of {len(self.custodians)} "
            f"({', '.join(self.custodians)}) at the drill's rotation;",
            f"  breakglass custody open with {' and '.join(self.opened_by)}'s shares -> {self.incident_id}: "
            f"the key works as {self.works_as}; one share alone: {refused};",
            f"  rotated after use: {'re-split for the same custodians' if self.resplit else 'NOT re-split'}",
        ]


def custodian_keys() -> tuple[dict[str, str], list[str]]:
    """Each custodian's age identity (secret: kept in memory) and the custodians setting (public)."""
    keys = {name: new_identity() for name in CUSTODIANS}
    return {n: secret for n, (secret, _) in keys.items()}, [f"{n}={public}" for n, (_, public) in keys.items()]


def under_custody(rt: Runtime, custodians: list[str]) -> None:
    """From now on the runtime's rotations seal for these custodians (2 of them open the glass)."""
    rt.rotation = dataclasses.replace(rt.rotation, custody_threshold=THRESHOLD, custodians=tuple(custodians))


def open_with_two(rt: Runtime, user: str, identities: dict[str, str]) -> CustodyOpen:
    first, second = CUSTODIANS[0], CUSTODIANS[1]
    blobs = [reveal(rt, user, identities[name]).text() for name in (first, second)]
    try:
        open_credentials(read_custody(rt, user), blobs[:1])
        refused = False
    except BreakglassError:
        refused = True
    requester = whoami(rt)
    opened = open_glass(rt, requester, user, blobs, "sandbox drill: two of three custodians", check=True)
    sealed_before = read_custody(rt, user).rotation_id
    rotate_standalone(rt, requester, user, None, with_password=False, dry_run=False, reason="after a custody open")
    after = read_custody(rt, user)
    return CustodyOpen(
        user=user,
        threshold=THRESHOLD,
        custodians=list(CUSTODIANS),
        opened_by=list(opened.credentials.custodians),
        incident_id=opened.incident_id,
        works_as=opened.arn,
        one_share_refused=refused,
        resplit=after.rotation_id != sealed_before and sorted(after.custodians) == sorted(CUSTODIANS),
    )
