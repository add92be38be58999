"""SCP mode: plan a detach, open the incident, detach through the apply gate (also for an
approved request), arm the dead-man switch."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from breakglass_aws.aws import aws_errors
from breakglass_aws.errors import BreakglassError, GuardRailError, PartialApplyError, UsageError
from breakglass_aws.incident.deadman import arm
from breakglass_aws.incident.gate import StepFailed, apply_levels, deferred_journal, flush, intents
from breakglass_aws.incident.notice import notify
from breakglass_aws.incident.records import held_by, open_record
from breakglass_aws.incident.status import set_status
from breakglass_aws.incident.stopped import journal_failure
from breakglass_aws.journal.base import ClaimLost, NothingToJoin, TargetLocked
from breakglass_aws.models import (
    FULL_AWS_ACCESS,
    RCP_FULL_AWS_ACCESS,
    Incident,
    IncidentStatus,
    Mode,
    Requester,
    ScpTargetSnapshot,
    new_incident_id,
)
from breakglass_aws.parallel import beside
from breakglass_aws.runtime import Runtime
from breakglass_aws.scp.plan import DetachPlan, build_detach_plan, merge_for_join, perform_step
from breakglass_aws.validate import (
    TargetKind,
    format_duration,
    validate_policy_id,
    validate_target,
)

__all__ = [
    "activate_scp",
    "check_ttl",
    "new_scp_incident",
    "open_scp_incident",
    "plan_scp_detach",
    "scp_activation_plan",
    "validate_detach_target",
]


def check_ttl(rt: Runtime, ttl: timedelta | None) -> timedelta:
    chosen = ttl or rt.default_ttl
    if chosen > rt.max_ttl:
        raise UsageError(
            f"--ttl {format_duration(chosen)} is above the configured maximum {format_duration(rt.max_ttl)}",
            "use a shorter --ttl, or raise max_ttl in the config file",
        )
    return chosen


def validate_detach_target(
    rt: Runtime, target: str, policies: list[str], allow_root: bool, rcps: Sequence[str] = ()
) -> TargetKind:
    """Everything about the target that can be judged without a request."""
    kind = validate_target(target)
    for policy_id in [*policies, *rcps]:
        validate_policy_id(policy_id)
    if RCP_FULL_AWS_ACCESS in rcps:
        raise UsageError(
            f"refusing to detach {RCP_FULL_AWS_ACCESS}: AWS never lets it go",
            "name only the blocking resource control policies with --rcp",
        )
    if set(policies) & set(rcps):
        raise UsageError("a policy is named both with --policy and --rcp", "an SCP goes to --policy, an RCP to --rcp")
    if FULL_AWS_ACCESS in policies:
        raise UsageError(
            "refusing to detach p-FullAWSAccess: it is what keeps the target usable",
            "name only the blocking policies with --policy",
        )
    if kind is TargetKind.ROOT and not allow_root:
        raise GuardRailError(
            f"{target} is the organization root: detaching there changes every account",
            "pass --allow-root if that is really what the emergency needs",
        )
    return kind


def _check_holders(target: str, holders: list[str], join: bool) -> None:
    if holders and not join:
        raise TargetLocked(target, holders[0])
    if join and not holders:
        raise NothingToJoin(target)


def plan_scp_detach(
    rt: Runtime,
    target: str,
    policies: list[str],
    allow_root: bool = False,
    join: bool = False,
    walk_beside: bool = False,
    rcps: Sequence[str] = (),
) -> DetachPlan:
    """The detach plan; who holds the target is read beside the plan's reads (a held target
    is refused before anything changes). With `walk_beside` (nobody is asked to confirm), the
    inherited Denies are read beside the detach and recorded when it is done. `rcps`: resource
    control policies detached from the target too (named ones only)."""
    kind = validate_detach_target(rt, target, policies, allow_root, rcps)
    org = rt.factory.client("organizations")  # built here: botocore builds clients on one thread only
    holding = beside(lambda: held_by(rt, target))
    try:
        with aws_errors():
            plan = build_detach_plan(
                org, target, kind, policies or None, join, walk_beside=walk_beside, rcps=list(rcps) or None
            )
    except BreakglassError:
        _check_holders(target, holding.result(), join)  # a held target is the better answer
        raise
    holders = holding.result()
    _check_holders(target, holders, join)
    if not join:
        return plan
    held = next(s for s in rt.store.get_incident(holders[0]).scp if s.target == target)
    return merge_for_join(plan, held)


def open_scp_incident(
    rt: Runtime,
    plan: DetachPlan,
    requester: Requester,
    reason: str,
    ticket: str | None,
    ttl: timedelta,
    override: bool = False,
    join: bool = False,
) -> Incident:
    """Record the incident and its snapshot, then detach through the gate."""
    incident = new_scp_incident(rt, plan, requester, reason, ticket, ttl, IncidentStatus.ACTIVE, override, join=join)
    return activate_scp(rt, incident, plan, announced=True)


def new_scp_incident(
    rt: Runtime,
    plan: DetachPlan,
    requester: Requester,
    reason: str,
    ticket: str | None,
    ttl: timedelta,
    status: IncidentStatus,
    override: bool = False,
    approvals_required: int = 0,
    join: bool = False,
) -> Incident:
    """Store a new SCP incident (holding its target) with the plan's snapshot."""
    now = rt.clock()
    snapshot = plan.snapshot
    incident = Incident(
        incident_id=new_incident_id(now),
        mode=Mode.SCP,
        status=status,
        requester=requester,
        reason=reason,
        ticket=ticket,
        targets=[snapshot.target],
        created_at=now,
        expires_at=now + ttl,
        scp=[snapshot],
        override=override,
        approvals_required=approvals_required,
        request={
            "ttl_seconds": int(ttl.total_seconds()),
            "policies": [] if not plan.only else _only_scps(plan),
            "rcps": snapshot.rcps(),
            "kind": snapshot.kind,
            "join": join,
            "inherited_denies": [d.model_dump() for d in plan.inherited_denies],
        },
    )
    extra = [("override", {"reason": reason})] if override else []
    if status is IncidentStatus.ACTIVE:  # its changes are announced in the write that opens it
        extra += intents(plan.levels())
    open_record(rt, incident, join, extra)
    if override:
        notify(rt, incident, "override-used", "approvals bypassed with --emergency-override")
    elif status is IncidentStatus.REQUESTED:
        notify(rt, incident, "requested", f"needs {approvals_required} approval(s)")
    return incident


def _only_scps(plan: DetachPlan) -> list[str]:
    """The SCPs a request named with --policy (its plan's own detaches, not a joined holder's)."""
    rcps = set(plan.snapshot.rcps())
    return [s.policy_id for s in plan.steps if s.action == "detach" and s.policy_id not in rcps]


def scp_activation_plan(rt: Runtime, incident: Incident) -> DetachPlan:
    """The plan of an approved SCP request, from a fresh read. A request that joined an open
    incident keeps that holder's snapshot (what the target held before any incident); if every
    other holder has closed meanwhile, it plans like a first holder."""
    snapshot = incident.scp[0]
    with aws_errors():
        plan = build_detach_plan(
            rt.factory.client("organizations"),
            snapshot.target,
            TargetKind(snapshot.kind),
            incident.request.get("policies") or None,
            _joined_holder(rt, incident) is not None,
            rcps=incident.request.get("rcps") or None,
        )
    return _merge_joined(rt, incident, plan)


def _joined_holder(rt: Runtime, incident: Incident) -> ScpTargetSnapshot | None:
    """For a request made with --join: the snapshot of the oldest other holder of its target."""
    if not incident.request.get("join"):
        return None
    target = incident.scp[0].target
    others = held_by(rt, target, exclude=incident.incident_id)
    if not others:
        return None
    return next((s for s in rt.store.get_incident(others[0]).scp if s.target == target), None)


def _merge_joined(rt: Runtime, incident: Incident, plan: DetachPlan) -> DetachPlan:
    held = _joined_holder(rt, incident)
    return plan if held is None else merge_for_join(plan, held)


def activate_scp(rt: Runtime, incident: Incident, plan: DetachPlan, announced: bool = False) -> Incident:
    """Detach through the gate for an incident that is allowed to proceed (`announced`: the
    plan's intents were written when it was opened). What the detach ends with (its last
    outcomes, the inherited Denies read beside it, `activated`) is written together."""
    with deferred_journal(rt, incident.incident_id) as deferred:
        plan = _detach(deferred, incident, plan, announced)
        try:
            _record_activation(deferred, incident, plan)
        except ClaimLost:
            raise
        except BreakglassError as err:  # every change was made: say so, and how to finish
            steps = [step for level in plan.levels() for step in level]
            if not steps:
                raise
            failed = StepFailed(steps[-1], err, len(steps), journal=True)
            raise journal_failure(rt, incident, failed, "scp restore") from err
    notify(rt, incident, "activated", f"detached {', '.join(plan.snapshot.detach)} from {plan.snapshot.target}")
    arm(rt, incident)
    return incident


def _detach(rt: Runtime, incident: Incident, plan: DetachPlan, announced: bool) -> DetachPlan:
    if not announced:
        plan = _merge_joined(rt, incident, plan)
        incident.scp = [plan.snapshot]
    if incident.status is not IncidentStatus.ACTIVE:  # an approved request: its time starts now
        ttl = timedelta(seconds=int(incident.request.get("ttl_seconds", 3600)))
        incident.expires_at = rt.clock() + ttl
        incident.status, incident.status_reason = IncidentStatus.ACTIVE, "activated"
        snapshot = ("snapshot", {"scp": [s.model_dump(mode="json") for s in incident.scp]})
        rt.store.save_incident(incident, [snapshot, *intents(plan.levels())])
        announced = True
    org = rt.factory.client("organizations")
    try:
        apply_levels(
            rt.store, incident.incident_id, plan.levels(), lambda s: perform_step(org, s), rt.progress, announced
        )
    except StepFailed as failed:
        _record_failed_open(rt, incident, failed)
    return plan


def _record_activation(rt: Runtime, incident: Incident, plan: DetachPlan) -> None:
    activated = ("activated", {"expires_at": incident.public()["expires_at"]})
    if plan.walking:  # read beside the detach: recorded now
        denies = [d.model_dump() for d in plan.walked()]
        incident.request = {**incident.request, "inherited_denies": denies}
        rt.store.save_incident(incident, [("inherited-denies", {"inherited_denies": denies}), activated])
    else:
        rt.store.append(incident.incident_id, *activated)
    flush(rt.store)


def _record_failed_open(rt: Runtime, incident: Incident, failed: StepFailed) -> None:
    if failed.journal:
        raise journal_failure(rt, incident, failed, "scp restore") from failed
    if failed.done == 0 and _rejected_by_aws(failed):
        set_status(rt, incident, IncidentStatus.FAILED, failed.error.message, release=incident.lock_targets())
        raise failed.error
    reason = f"detach stopped after {failed.done} step(s): {failed.error.message}"
    set_status(rt, incident, IncidentStatus.NEEDS_ATTENTION, reason)
    arm(rt, incident)  # part of it may be detached: the dead-man switch still restores it at expiry
    raise PartialApplyError(f"{incident.incident_id}: {incident.status_reason}", incident.incident_id) from failed


def _rejected_by_aws(failed: StepFailed) -> bool:
    """AWS answered with an error, so the step did not happen (a timeout proves nothing)."""
    response = getattr(failed.__cause__, "response", None)
    return isinstance(response, dict) and "Error" in response
