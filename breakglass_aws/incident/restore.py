"""Putting one SCP target back: re-attach first, remove FullAWSAccess last, verify against the
snapshot; or, while other incidents still hold the target, hand the snapshot over to them.

State-based and idempotent: it compares what AWS holds now with the snapshot, so a rerun after a
crash at any point finishes the job. It never saves the incident nor lets go of the target: the
close marks the target done and lets go of it in one write, which also proves (by
compare-and-set) that no hand-over landed on the incident meanwhile.
"""

from __future__ import annotations

from concurrent.futures import Future
from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict

from breakglass_aws.aws import aws_errors
from breakglass_aws.incident.gate import answer, apply_levels, intents
from breakglass_aws.incident.records import held_by
from breakglass_aws.journal.base import Entries, update_incident
from breakglass_aws.models import ENDED_STATUSES, Incident, IncidentStatus, ScpStep, ScpTargetSnapshot
from breakglass_aws.parallel import beside
from breakglass_aws.runtime import Runtime
from breakglass_aws.scp.plan import (
    TargetNow,
    attached_policies,
    build_restore_plan,
    merge_snapshots,
    perform_step,
    read_target,
    restore_levels,
    restore_steps_at_most,
)

__all__ = ["Ahead", "RestoreResult", "TargetRestore", "read_ahead", "restore_target", "unrecoverable_reason"]

HANDED_OVER = "not sent: the target was handed over to the incidents still holding it"


class TargetRestore(BaseModel):
    model_config = ConfigDict(extra="forbid")
    target: str
    reattached: list[str]
    removed_full_access: bool
    drift: list[str]
    unrecoverable: list[str]
    final: list[str]
    matches_snapshot: bool
    held_by: list[str] = []


class RestoreResult(BaseModel):
    model_config = ConfigDict(extra="forbid")
    incident_id: str
    status: IncidentStatus
    noop: bool = False
    targets: list[TargetRestore] = []
    error: str | None = None
    exit_code: int = 0
    also: list[str] = []  # what else the close this restore finished did (rotations, revocation)
    override: bool = False  # the incident was opened with --emergency-override


@dataclass
class Ahead:
    """What a close reads beside the write that claims it, for the first target it restores:
    the holders of its targets, what that target holds now; and every step its restore can
    make (`steps`), announced in the claim's write so that the first change waits for no
    other write. A hand-over that lands after the holders were read changes the incident, so
    the compare-and-set of the save that marks the target done catches it, and the target is
    restored again with what was handed over."""

    target: str
    steps: list[ScpStep]
    holders: Future[dict[str, list[str]]]
    now: Future[TargetNow]
    used: bool = field(default=False)

    def announce(self) -> Entries:
        return intents([self.steps])

    def take(self, target: str) -> tuple[Future[TargetNow] | None, list[ScpStep]]:
        """The reads and the announced steps for `target`, once (a second restore of it reads again)."""
        if self.used or target != self.target:
            return None, []
        self.used = True
        return self.now, self.steps


def read_ahead(rt: Runtime, incident: Incident) -> Ahead | None:
    """Start the reads of an SCP incident's close (None: no target is left to restore)."""
    done = incident.closing.done if incident.closing else []
    pending = [s for s in incident.scp if f"restore:{s.target}" not in done]
    if not pending:
        return None
    org = rt.factory.client("organizations")  # built here: botocore builds clients on one thread only
    targets = [s.target for s in incident.scp]
    return Ahead(
        target=pending[0].target,
        steps=restore_steps_at_most(pending[0]),
        holders=beside(lambda: rt.store.holders_of(incident.incident_id, targets)),
        now=beside(lambda: read_target(org, pending[0])),
    )


def unrecoverable_reason(targets: list[TargetRestore]) -> str | None:
    lost = [d for t in targets if t.unrecoverable for d in t.drift]
    return "; ".join(lost) if lost else None


def restore_target(
    rt: Runtime,
    incident: Incident,
    snap: ScpTargetSnapshot,
    held: list[str] | None = None,
    ahead: Ahead | None = None,
) -> TargetRestore:
    """`held`: the target's holders as read before (or beside) the incident's last save, or None
    to read them now. Other holders get the snapshot and this incident lets go of the target;
    if they have all left meanwhile (or finished with it), it restores what it holds itself.
    `ahead`: what was read and announced beside the close's claim."""
    now, announced = ahead.take(snap.target) if ahead else (None, [])
    others = _others(rt, incident, snap.target, held)
    while others:
        accepted = _hand_over(rt, incident, snap, others)
        rt.store.release_locks(incident.incident_id, [snap.target])
        still = held_by(rt, snap.target, exclude=incident.incident_id)
        if set(accepted) & set(still):
            for step in announced:  # held back: written with the save that lets go of the target
                rt.store.append(incident.incident_id, *answer(step, HANDED_OVER))
            rt.progress(f"{snap.target}: still held by {', '.join(still)}; its policies come back when they close")
            return TargetRestore(
                target=snap.target,
                reattached=[],
                removed_full_access=False,
                drift=[],
                unrecoverable=[],
                final=[],
                matches_snapshot=False,
                held_by=still,
            )
        others = still  # they left (each merging what it held into us first), or others came
        snap = _stored_snapshot(rt, incident.incident_id, snap)
    return _restore_now(rt, incident, snap, now, announced)


def _others(rt: Runtime, incident: Incident, target: str, held: list[str] | None) -> list[str]:
    if held is not None and held in ([], [incident.incident_id]):
        return []  # the last holder, and the save after that read saw no hand-over
    return held_by(rt, target, exclude=incident.incident_id)


def _stored_snapshot(rt: Runtime, incident_id: str, snap: ScpTargetSnapshot) -> ScpTargetSnapshot:
    """The snapshot as stored now: a holder that left meanwhile merged its policies into it
    (always before letting go, so once we see it gone, its hand-over is visible)."""
    latest = rt.store.get_incident(incident_id)
    stored = next((s for s in latest.scp if s.target == snap.target), snap)
    return merge_snapshots(stored, snap)


class _NotHolding(Exception):
    """Raised inside a compare-and-set change: the other incident has finished with the target."""


def _hand_over(rt: Runtime, incident: Incident, snap: ScpTargetSnapshot, others: list[str]) -> list[str]:
    """Overlapping incidents: a holder that is not the last hands its detached policies (and
    what others handed to it) to every other holder; compare-and-set saves, so concurrent
    hand-overs all land. An incident that has ended, or already put the target back, takes
    nothing. Returns those that took it."""
    accepted = []
    for other_id in others:

        def take(other: Incident) -> None:
            finished = other.closing is not None and f"restore:{snap.target}" in other.closing.done
            if other.status in ENDED_STATUSES or finished:
                raise _NotHolding
            other.scp = [merge_snapshots(s, snap) if s.target == snap.target else s for s in other.scp]

        try:
            update_incident(
                rt.store,
                other_id,
                take,
                lambda other: [
                    ("snapshot", {"scp": [s.model_dump(mode="json") for s in other.scp], "from": incident.incident_id})
                ],
            )
        except _NotHolding:
            continue
        accepted.append(other_id)
    if accepted:
        rt.store.append(incident.incident_id, "handed-over", {"target": snap.target, "to": accepted})
    return accepted


def _restore_now(
    rt: Runtime,
    incident: Incident,
    snap: ScpTargetSnapshot,
    now: Future[TargetNow] | None,
    announced: list[ScpStep],
) -> TargetRestore:
    """The last holder: put the target back through the gate and read back what it holds.
    A failed step raises StepFailed (the caller says what it means)."""
    org = rt.factory.client("organizations")
    with aws_errors():
        plan = build_restore_plan(org, snap, now.result() if now else None)
    rt.store.append(incident.incident_id, "restore-plan", plan.model_dump(mode="json"))
    levels = restore_levels(plan)
    apply_levels(rt.store, incident.incident_id, levels, lambda s: perform_step(org, s), rt.progress, announced)
    with aws_errors():
        final = sorted(p.id for p in attached_policies(org, snap))
    if final != plan.expected:
        plan.drift.append(f"verification: {snap.target} holds {final}, expected {plan.expected}")
        plan.unrecoverable.append("verification")
    return TargetRestore(
        target=snap.target,
        reattached=[s.policy_id for s in plan.steps if s.action == "attach"],
        removed_full_access=any(s.action == "detach" for s in plan.steps),
        drift=plan.drift,
        unrecoverable=plan.unrecoverable,
        final=final,
        matches_snapshot=set(final) == snap.original_ids(),
    )
