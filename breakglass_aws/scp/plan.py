"""SCP mode, the AWS side: read what a target holds, build the detach and restore plans,
perform one step. Never writes the journal; the apply gate does."""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any, Final

from pydantic import BaseModel, ConfigDict, PrivateAttr

from breakglass_aws.errors import GuardRailError, UsageError
from breakglass_aws.models import (
    FULL_AWS_ACCESS,
    RCP_FULL_AWS_ACCESS,
    RCP_TYPE,
    SCP_TYPE,
    PolicyRef,
    ScpStep,
    ScpTargetSnapshot,
)
from breakglass_aws.parallel import beside, together
from breakglass_aws.validate import TargetKind

if TYPE_CHECKING:
    from mypy_boto3_organizations import OrganizationsClient

__all__ = [
    "DetachPlan",
    "InheritedDeny",
    "RestorePlan",
    "TargetNow",
    "attached_policies",
    "attached_rcps",
    "attached_scps",
    "build_detach_plan",
    "build_restore_plan",
    "describe_policy",
    "detach_steps",
    "merge_for_join",
    "merge_snapshots",
    "perform_step",
    "read_target",
    "restore_levels",
    "restore_steps_at_most",
]

SCP: Final = SCP_TYPE


class InheritedDeny(BaseModel):
    model_config = ConfigDict(extra="forbid")
    policy_id: str
    name: str
    attached_to: str
    deny_statements: int


class DetachPlan(BaseModel):
    model_config = ConfigDict(extra="forbid")
    snapshot: ScpTargetSnapshot
    steps: list[ScpStep]
    blast_radius: list[str]
    inherited_denies: list[InheritedDeny]
    management_account: str
    only: bool = False
    rcps_on_path: list[InheritedDeny] = []
    _walk: Future[list[InheritedDeny]] | None = PrivateAttr(default=None)

    @property
    def walking(self) -> bool:
        """The walk up the tree (inherited Denies) is still running beside the detach."""
        return self._walk is not None

    def walked(self) -> list[InheritedDeny]:
        """The inherited Denies, once the walk beside the detach has ended (a failed walk is
        reported as none found: it only informs, it never blocks the emergency)."""
        if self._walk is not None:
            try:
                self.inherited_denies = self._walk.result()
            except Exception:
                self.inherited_denies = []
            self._walk = None
        return self.inherited_denies

    def levels(self) -> list[list[ScpStep]]:
        """FullAWSAccess first (alone), then every detach together: the target never holds zero SCPs."""
        steps = self.steps
        if steps and steps[0].action == "attach":  # FullAWSAccess goes on first, alone
            return [[steps[0]], *([steps[1:]] if steps[1:] else [])]
        return [steps] if steps else []


class RestorePlan(BaseModel):
    model_config = ConfigDict(extra="forbid")
    target: str
    steps: list[ScpStep]
    drift: list[str]
    unrecoverable: list[str]
    expected: list[str]


def attached_scps(org: OrganizationsClient, target: str) -> list[PolicyRef]:
    pages = org.get_paginator("list_policies_for_target").paginate(TargetId=target, Filter=SCP)
    return [
        PolicyRef(id=p["Id"], name=p.get("Name", ""), aws_managed=bool(p.get("AwsManaged")))
        for page in pages
        for p in page["Policies"]
    ]


def attached_rcps(org: OrganizationsClient, target: str) -> list[PolicyRef]:
    """The resource control policies on a target (none when the policy type is not enabled)."""
    try:
        pages = org.get_paginator("list_policies_for_target").paginate(TargetId=target, Filter=RCP_TYPE)
        found = [p for page in pages for p in page["Policies"]]
    except org.exceptions.PolicyTypeNotEnabledException:
        return []
    return [
        PolicyRef(id=p["Id"], name=p.get("Name", ""), aws_managed=bool(p.get("AwsManaged")), type=RCP_TYPE)
        for p in found
    ]


def attached_policies(org: OrganizationsClient, snapshot: ScpTargetSnapshot) -> list[PolicyRef]:
    """What a snapshot's target holds now: its SCPs, and its RCPs when the incident detaches any."""
    if not snapshot.has_rcps():
        return attached_scps(org, snapshot.target)
    rcps = beside(functools.partial(attached_rcps, org, snapshot.target))
    return [*attached_scps(org, snapshot.target), *rcps.result()]


def describe_policy(org: OrganizationsClient, policy_id: str) -> str | None:
    """The policy document, or None when the policy no longer exists."""
    try:
        answer = org.describe_policy(PolicyId=policy_id)
    except org.exceptions.PolicyNotFoundException:
        return None
    return str(answer["Policy"].get("Content", ""))


def content_hash(content: str) -> str:
    return hashlib.sha256(content.encode()).hexdigest()


def _parents(org: OrganizationsClient, child: str) -> Iterator[str]:
    current = child
    while not current.startswith("r-"):
        parents = org.list_parents(ChildId=current)["Parents"]
        if not parents:
            return
        current = parents[0]["Id"]
        yield current


def _deny_count(content: str | None) -> int:
    try:
        document = json.loads(content or "{}")
    except json.JSONDecodeError:
        return 0
    statements = document.get("Statement", []) if isinstance(document, dict) else []
    if isinstance(statements, dict):
        statements = [statements]
    return sum(1 for s in statements if isinstance(s, dict) and s.get("Effect") == "Deny")


def inherited_denies(org: OrganizationsClient, target: str) -> list[InheritedDeny]:
    """Denies attached above the target. Each parent's policies are read as soon as the parent is
    known, beside the walk on up to its own parent."""
    at_parent = [beside(functools.partial(_denies_at, org, parent)) for parent in _parents(org, target)]
    return [deny for found in at_parent for deny in found.result()]


def rcps_on_path(org: OrganizationsClient, target: str) -> list[InheritedDeny]:
    """The RCPs with Deny statements on the target and every parent above it (each level read
    as soon as it is known)."""
    levels = [target, *_parents(org, target)]
    at_level = [beside(functools.partial(_denies_at, org, level, attached_rcps)) for level in levels]
    return [deny for found in at_level for deny in found.result()]


def _denies_at(
    org: OrganizationsClient,
    parent: str,
    listing: Callable[[OrganizationsClient, str], list[PolicyRef]] = attached_scps,
) -> list[InheritedDeny]:
    policies = [p for p in listing(org, parent) if p.id not in (FULL_AWS_ACCESS, RCP_FULL_AWS_ACCESS)]
    contents = together([functools.partial(describe_policy, org, p.id) for p in policies])
    return [
        InheritedDeny(policy_id=p.id, name=p.name, attached_to=parent, deny_statements=denies)
        for p, content in zip(policies, contents, strict=True)
        if (denies := _deny_count(content))
    ]


def _accounts_under(org: OrganizationsClient, parent: str) -> list[str]:
    accounts = [
        a["Id"]
        for page in org.get_paginator("list_accounts_for_parent").paginate(ParentId=parent)
        for a in page["Accounts"]
    ]
    for page in org.get_paginator("list_organizational_units_for_parent").paginate(ParentId=parent):
        for ou in page["OrganizationalUnits"]:
            accounts.extend(_accounts_under(org, ou["Id"]))
    return accounts


def blast_radius(org: OrganizationsClient, target: str, kind: TargetKind, management: str) -> list[str]:
    if kind is TargetKind.ACCOUNT:
        return [target]
    return sorted(a for a in _accounts_under(org, target) if a != management)


def _choose_detach(current: list[PolicyRef], only: list[str] | None, target: str, allow_nothing: bool) -> list[str]:
    ids = [p.id for p in current]
    if only:
        missing = [p for p in only if p not in ids]
        if missing:
            raise UsageError(
                f"{', '.join(missing)} not attached to {target}",
                f"attached now: {', '.join(ids) or 'none'}",
            )
        return list(dict.fromkeys(only))
    chosen = [p for p in ids if p != FULL_AWS_ACCESS]
    if not chosen and not allow_nothing:
        raise GuardRailError(
            f"nothing to detach: {target} holds only FullAWSAccess",
            "a blocking Deny is inherited from a parent; target that OU or the root instead",
        )
    return chosen


def _choose_rcps(current: list[PolicyRef], wanted: list[str], target: str) -> list[str]:
    """The named RCPs, each attached to the target itself (never all of them: an RCP is often a
    data perimeter), and never RCPFullAWSAccess (AWS keeps it attached; moto would not)."""
    if RCP_FULL_AWS_ACCESS in wanted:
        raise UsageError(
            f"refusing to detach {RCP_FULL_AWS_ACCESS}: AWS never lets it go",
            "name only the blocking resource control policies with --rcp",
        )
    ids = [p.id for p in current]
    missing = [p for p in wanted if p not in ids]
    if missing:
        raise UsageError(
            f"RCP {', '.join(missing)} not attached to {target}",
            f"resource control policies attached there: {', '.join(ids) or 'none'}",
        )
    return list(dict.fromkeys(wanted))


def build_detach_plan(
    org: OrganizationsClient,
    target: str,
    kind: TargetKind,
    only: list[str] | None = None,
    allow_nothing: bool = False,
    walk_beside: bool = False,
    rcps: list[str] | None = None,
) -> DetachPlan:
    """Read-only: what the target holds, what the incident will change, and its blast radius.
    The reads that do not depend on each other are in flight together; the walk up the tree
    (inherited Denies) runs beside them, and with `walk_beside` beside the detach too (read it
    with `plan.walked()`): it informs, nothing waits for it when nobody is asked to confirm."""
    walk = beside(functools.partial(inherited_denies, org, target))
    organization = beside(org.describe_organization)
    rcp_read = beside(functools.partial(attached_rcps, org, target)) if rcps else None
    rcp_walk = beside(functools.partial(rcps_on_path, org, target)) if rcps else None
    current = attached_scps(org, target)
    management = organization.result()["Organization"]["MasterAccountId"]
    if kind is TargetKind.ACCOUNT and target == management:
        raise GuardRailError(
            f"{target} is the organization's management account: SCPs never apply to it",
            "whatever blocks you there is not an SCP; use the break-glass role (breakglass role assume)",
        )
    # With --rcp, SCPs come off only when named with --policy: the incident changes what it must.
    detach = [] if rcps and not only else _choose_detach(current, only, target, allow_nothing)
    rcp_current = rcp_read.result() if rcp_read else []
    detach += _choose_rcps(rcp_current, rcps or [], target)
    radius_read = beside(functools.partial(blast_radius, org, target, kind, management))
    current = [*current, *rcp_current]
    chosen = [p for p in current if p.id in detach]
    for policy, content in zip(
        chosen, together([functools.partial(describe_policy, org, p.id) for p in chosen]), strict=True
    ):
        policy.content_sha256 = content_hash(content) if content is not None else None
    remaining = [p.id for p in current if p.id not in detach and p.type == SCP]
    radius = radius_read.result()
    snapshot = ScpTargetSnapshot(
        target=target,
        kind=kind.value,
        original=current,
        detach=detach,
        attach_full_access=not remaining,
        blast_radius=radius,
    )
    plan = DetachPlan(
        snapshot=snapshot,
        steps=detach_steps(snapshot),
        blast_radius=radius,
        inherited_denies=[],
        management_account=management,
        only=bool(only),
        rcps_on_path=rcp_walk.result() if rcp_walk else [],
    )
    plan._walk = walk
    if not walk_beside:
        plan.walked()
    return plan


def merge_for_join(plan: DetachPlan, held: ScpTargetSnapshot) -> DetachPlan:
    """A joining incident keeps the first holder's snapshot (what the target held before any
    incident) and the union of what is detached, so no overlap can lose a policy. A policy
    attached after the first incident opened and detached by the joiner joins the snapshot
    (with its content hash): it comes back at the end like the others."""
    original = _union_original(held.original, plan.snapshot.original, _carried(held, plan.snapshot))
    detach = list(dict.fromkeys([*held.detach, *plan.snapshot.detach]))
    remaining = {p.id for p in original if p.type == SCP} - set(detach) - {FULL_AWS_ACCESS}
    merged = held.model_copy(
        update={
            "original": original,
            "detach": detach,
            "attach_full_access": FULL_AWS_ACCESS not in held.original_ids() and not remaining,
        }
    )
    return plan.model_copy(update={"snapshot": merged})


def _union_original(into: list[PolicyRef], other: list[PolicyRef], wanted: list[str]) -> list[PolicyRef]:
    """`into`, plus the policies of `other` named in `wanted` that `into` does not know."""
    known = {p.id for p in into}
    return [*into, *(p for p in other if p.id in wanted and p.id not in known)]


def _carried(into: ScpTargetSnapshot, other: ScpTargetSnapshot) -> list[str]:
    """What `other` brings into `into`'s snapshot: what it detached, and its whole RCP listing
    when `into` had none (so a restore compares the RCPs it lists with all that were there)."""
    rcps = [] if into.has_rcps() else [p.id for p in other.original if p.type == RCP_TYPE]
    return [*other.detach, *rcps]


def merge_snapshots(into: ScpTargetSnapshot, other: ScpTargetSnapshot) -> ScpTargetSnapshot:
    """Hand a releasing holder's detached policies (and what it knows of them) over to a
    remaining holder."""
    detach = list(dict.fromkeys([*into.detach, *other.detach]))
    return into.model_copy(
        update={
            "original": _union_original(into.original, other.original, _carried(into, other)),
            "detach": detach,
            "attach_full_access": into.attach_full_access or other.attach_full_access,
        }
    )


def detach_steps(snapshot: ScpTargetSnapshot) -> list[ScpStep]:
    """FullAWSAccess first when needed, then the detaches: the target never holds zero SCPs."""
    steps = []
    if snapshot.attach_full_access:
        steps.append(ScpStep(action="attach", policy_id=FULL_AWS_ACCESS, target=snapshot.target))
    steps += [ScpStep(action="detach", policy_id=p, target=snapshot.target) for p in snapshot.detach]
    return steps


def _reattach(
    contents: dict[str, str | None], snapshot: ScpTargetSnapshot, current: set[str]
) -> tuple[list[str], list[str], list[str]]:
    attach, drift, lost = [], [], []
    by_id = {p.id: p for p in snapshot.original}
    for policy_id in snapshot.detach:
        if policy_id in current:
            continue
        content = contents[policy_id]
        if content is None:
            lost.append(policy_id)
            drift.append(f"{policy_id} was deleted while detached; it cannot be re-attached")
            continue
        known = by_id.get(policy_id)  # a snapshot from before the join recorded it may lack it
        if known is not None and known.content_sha256 not in (None, content_hash(content)):
            drift.append(f"{policy_id} was edited while detached; re-attached as it is now")
        attach.append(policy_id)
    return attach, drift, lost


class TargetNow(BaseModel):
    """What a target holds now, and the document of every policy a snapshot detached (None:
    deleted): what a restore plan is computed from."""

    model_config = ConfigDict(extra="forbid")
    target: str
    attached: list[str]
    documents: dict[str, str | None]

    def covers(self, snapshot: ScpTargetSnapshot) -> bool:
        return self.target == snapshot.target and set(snapshot.detach) <= set(self.documents)


def read_target(org: OrganizationsClient, snapshot: ScpTargetSnapshot) -> TargetNow:
    """The listing and the drift check's reads (every detached policy's document), in flight together."""
    listing = beside(functools.partial(attached_policies, org, snapshot))
    documents = together([functools.partial(describe_policy, org, p) for p in snapshot.detach])
    return TargetNow(
        target=snapshot.target,
        attached=[p.id for p in listing.result()],
        documents=dict(zip(snapshot.detach, documents, strict=True)),
    )


def restore_steps_at_most(snapshot: ScpTargetSnapshot) -> list[ScpStep]:
    """Every step a restore of `snapshot` can make, known before reading the target: re-attach
    what it detached, then take FullAWSAccess off when the incident put it on. The plan made
    from the reads is a part of these (announced together with the claim of a close)."""
    steps = [ScpStep(action="attach", policy_id=p, target=snapshot.target) for p in snapshot.detach]
    if snapshot.attach_full_access:
        steps.append(ScpStep(action="detach", policy_id=FULL_AWS_ACCESS, target=snapshot.target))
    return steps


def build_restore_plan(
    org: OrganizationsClient, snapshot: ScpTargetSnapshot, now: TargetNow | None = None
) -> RestorePlan:
    """Compare what the target holds now (read here, or already read: `now`) with the snapshot;
    re-attach first, FullAWSAccess last."""
    if now is None or not now.covers(snapshot):
        now = read_target(org, snapshot)
    current = set(now.attached)
    attach, drift, lost = _reattach(now.documents, snapshot, current)
    steps = [ScpStep(action="attach", policy_id=p, target=snapshot.target) for p in attach]
    original = snapshot.original_ids()
    after = current | set(attach)
    if snapshot.attach_full_access and FULL_AWS_ACCESS in after and after - {FULL_AWS_ACCESS}:
        steps.append(ScpStep(action="detach", policy_id=FULL_AWS_ACCESS, target=snapshot.target))
        after.discard(FULL_AWS_ACCESS)
    elif snapshot.attach_full_access and FULL_AWS_ACCESS in after:
        drift.append("FullAWSAccess kept attached: removing it would leave the target with no SCP")
    handled = {FULL_AWS_ACCESS} if snapshot.attach_full_access else set()
    for extra in sorted(after - original - handled):
        drift.append(f"{extra} was attached by hand during the incident; left attached")
    for gone in sorted(original - after - set(snapshot.detach)):
        drift.append(f"{gone} was detached by hand during the incident; not re-attached")
    return RestorePlan(target=snapshot.target, steps=steps, drift=drift, unrecoverable=lost, expected=sorted(after))


def restore_levels(plan: RestorePlan) -> list[list[ScpStep]]:
    """Every re-attach together, then FullAWSAccess off (alone, after all of them)."""
    attaches = [s for s in plan.steps if s.action == "attach"]
    rest = [[s] for s in plan.steps if s.action != "attach"]
    return [*([attaches] if attaches else []), *rest]


def perform_step(org: OrganizationsClient, step: ScpStep) -> dict[str, Any] | None:
    """One attach or detach; already-done counts as done (a lost response, a rerun)."""
    try:
        if step.action == "attach":
            org.attach_policy(PolicyId=step.policy_id, TargetId=step.target)
        else:
            org.detach_policy(PolicyId=step.policy_id, TargetId=step.target)
    except (org.exceptions.DuplicatePolicyAttachmentException, org.exceptions.PolicyNotAttachedException):
        return {"already": True}
    return None


def is_error_code(err: Any, *codes: str) -> bool:
    response = getattr(err, "response", None)
    return isinstance(response, dict) and response.get("Error", {}).get("Code") in codes
