"""Root-task mode's incidents: one AssumeRoot session on a member account, through the gate.

`plan_root_task` checks the prerequisites (read-only) and says what a run would do (`--dry-run`
stops there); `run_root_task` opens the incident (or resumes the open one of the same target: a
rerun after a crash never opens a second), assumes root through the gate, and then:

- unlock-bucket / unlock-queue: reads the policy and journals its text (the record of the lockout;
  the bundle carries the journal), deletes it or puts the corrected one, reads it back;
- audit: reads the root user's credentials and journals them;
- delete-credentials: reads them, deletes each through the gate, reads back.

Then closes. A stopped run leaves the incident `needs-attention` once a change was announced (the
rerun, `close` or the sweep finishes it) and `failed` when nothing was. `end_root` is what `close`
and the expiry sweep run: it never sends a change; a change whose outcome is unknown is read back
(a fresh root session) and journaled, then the incident is closed, or left `needs-attention` when
it cannot be read. The root session's credentials live in memory only: the journal keeps the
access key id and expiry.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from breakglass_aws.aws import aws_errors, translate_error
from breakglass_aws.clock import isoformat
from breakglass_aws.errors import AwsFailure, BreakglassError, GuardRailError, PartialApplyError, UsageError
from breakglass_aws.incident.ended import collect_after_close
from breakglass_aws.incident.evidence import EvidenceOptions
from breakglass_aws.incident.gate import StepFailed, answer, apply_steps
from breakglass_aws.incident.notice import notify
from breakglass_aws.incident.plan import CloseResult
from breakglass_aws.incident.records import open_record
from breakglass_aws.incident.status import set_status
from breakglass_aws.incident.stopped import journal_failure, try_to_record
from breakglass_aws.journal.base import TargetLocked
from breakglass_aws.models import (
    ACTIVE_STATUSES,
    Incident,
    IncidentStatus,
    JournalEntry,
    Mode,
    Requester,
    new_incident_id,
)
from breakglass_aws.role.assume import Credentials
from breakglass_aws.root.assume import RootAssumeStep, assume_root, iam_as_root, s3_as_root, sqs_as_root, sts_for
from breakglass_aws.root.credentials import (
    CredentialStep,
    RootCredentials,
    perform_credential_step,
    plan_deletion,
    read_root_credentials,
)
from breakglass_aws.root.doubt import (
    Resolved,
    deactivated,
    first_read,
    held,
    mutating_intents,
    read_entry,
    resolve_credential,
    resolve_policy,
    unanswered,
)
from breakglass_aws.root.inputs import canonical_sha256, same_policy
from breakglass_aws.root.policy import PolicyStep, PolicyTarget, perform_policy_step, plan_unlock, read_policy
from breakglass_aws.root.prereq import assess, check_target, read_facts, require
from breakglass_aws.root.request import (
    RootAsk,
    RootPlan,
    RootResult,
    assume_step,
    describe,
    policy_target,
    root_task,
    task_of,
)
from breakglass_aws.root.tasks import FEATURE, SESSION_SECONDS, TASK_POLICY, UNLOCK_TASKS, policy_name
from breakglass_aws.runtime import Runtime

__all__ = ["RootAsk", "RootPlan", "RootResult", "end_root", "plan_root_task", "run_root_task"]

ROOT_TTL = timedelta(seconds=SESSION_SECONDS)  # past it, nothing the incident was given still works
READ_BACK_ATTEMPTS = 3  # IAM is eventually consistent


def plan_root_task(rt: Runtime, ask: RootAsk, caller: Requester) -> RootPlan:
    """Read-only: the prerequisites (a ConfigError, exit 5, naming what to enable), the target
    (the management account is refused), an open incident this would resume; then the plan."""
    facts = read_facts(rt.factory.client("organizations"), rt.factory.client("iam"), caller.account, ask.account)
    found = assess(facts, [FEATURE[ask.task]])
    require(found)
    check_target(facts, ask.account)
    existing = _open_incident(rt, ask.target())
    if existing is not None:
        _check_same(existing, ask)
    return RootPlan(
        task=ask.task,
        account=ask.account,
        target=ask.target(),
        region=ask.region,
        task_policy_arn=TASK_POLICY[ask.task],
        duration_seconds=SESSION_SECONDS,
        prerequisites=found,
        steps=describe(ask),
        replacement_sha256=ask.replacement_sha256(),
        resumes=existing.incident_id if existing else None,
    )


# the run -----------------------------------------------------------------------------------------


def run_root_task(rt: Runtime, ask: RootAsk, requester: Requester, reason: str, ticket: str | None) -> RootResult:
    """Open (or resume) the incident and do the task; see the module's docstring."""
    incident, resumed = _open_or_resume(rt, ask, requester, reason, ticket)
    root = task_of(incident)
    result = RootResult(
        incident_id=incident.incident_id,
        task=root.task,
        account=root.account,
        target=incident.targets[0],
        region=root.region,
        status=incident.status,
        resumed=resumed,
    )
    try:
        creds = _assume(rt, incident)
        reason_closed = _WORK[root.task](rt, incident, ask, creds, result)
    except Exception as err:
        raise _stopped(rt, incident, err) from err
    set_status(rt, incident, IncidentStatus.CLOSED, reason_closed, release=incident.lock_targets())
    result.status = incident.status
    if rt.evidence_on_close:
        _evidence(rt, result)
    return result


def _open_incident(rt: Runtime, target: str) -> Incident | None:
    for existing in rt.store.list_incidents(limit=1000):
        if existing.mode is Mode.ROOT and existing.targets == [target] and existing.status in ACTIVE_STATUSES:
            return existing
    return None


def _check_same(existing: Incident, ask: RootAsk) -> None:
    """A rerun finishes what the open incident set out to do; it never does something else."""
    incident_id, root = existing.incident_id, existing.root
    if root is None or root.task != ask.task:
        raise GuardRailError(
            f"{existing.targets[0]} has an open {root.task if root else existing.mode.value} incident {incident_id}",
            f"finish it by running its command again, or end it: breakglass close {incident_id}",
        )
    if root.replacement_sha256 != ask.replacement_sha256():
        did = "puts a corrected policy" if root.replacement_sha256 else "deletes the policy"
        raise UsageError(
            f"the open incident {incident_id} on {existing.targets[0]} {did}, and this run asks for something else",
            f"rerun it as first run (the same --replace-with file, or none), or end it first: "
            f"breakglass close {incident_id}",
        )


def _open_or_resume(
    rt: Runtime, ask: RootAsk, requester: Requester, reason: str, ticket: str | None
) -> tuple[Incident, bool]:
    existing = _open_incident(rt, ask.target())
    now = rt.clock()
    if existing is not None:
        _check_same(existing, ask)
        existing.expires_at = max(existing.expires_at, now + ROOT_TTL)  # no sweep ends it under this run
        resumed = {"by": requester.name, "arn": requester.arn, "expires_at": isoformat(existing.expires_at)}
        rt.store.save_incident(existing, [("resumed", resumed)])
        rt.progress(f"resuming the unfinished root incident {existing.incident_id} on {existing.targets[0]}")
        return existing, True
    incident = Incident(
        incident_id=new_incident_id(now),
        mode=Mode.ROOT,
        status=IncidentStatus.ACTIVE,
        requester=requester,
        reason=reason,
        ticket=ticket,
        targets=[ask.target()],
        created_at=now,
        expires_at=now + ROOT_TTL,
        root=root_task(ask),
    )
    try:
        open_record(rt, incident)
    except TargetLocked as err:
        raise GuardRailError(
            f"{err.target} has an open incident {err.holder}",
            f"see: breakglass show {err.holder}; it finishes when its command is run again, or: "
            f"breakglass close {err.holder}",
        ) from err
    task_policy = policy_name(TASK_POLICY[ask.task])
    notify(rt, incident, "activated", f"root session on {ask.account} for {ask.task} ({task_policy})")
    return incident, False


def _assume(rt: Runtime, incident: Incident) -> Credentials:
    """AssumeRoot through the gate; the journal keeps the access key id and expiry only."""
    step = assume_step(task_of(incident))
    sts = sts_for(rt.factory, step.region)
    issued: list[Credentials] = []

    def perform(asked: RootAssumeStep) -> dict[str, Any]:
        with aws_errors():
            creds = assume_root(sts, asked)
        issued.append(creds)
        return {"access_key_id": creds.access_key_id, "expiration": creds.expiration.isoformat()}

    apply_steps(rt.store, incident.incident_id, [step], perform, rt.progress)
    return issued[0]


def _policy_client(rt: Runtime, target: PolicyTarget, creds: Credentials) -> Any:
    if target.kind == "bucket":
        return s3_as_root(rt.factory, creds, target.region)
    return sqs_as_root(rt.factory, creds, target.region)


def _read(target: PolicyTarget, policy: str | None, by: str, first: bool) -> tuple[str, dict[str, Any]]:
    return ("policy-read", read_entry(target.resource, target.kind, target.region, policy, by, first))


def _unlock(rt: Runtime, incident: Incident, ask: RootAsk, creds: Credentials, result: RootResult) -> str:
    target = policy_target(task_of(incident))
    client = _policy_client(rt, target, creds)
    with aws_errors():
        current = read_policy(client, target)
    entries = rt.store.entries(incident.incident_id)
    first = first_read(entries)
    read = _read(target, current, "root-task", first is None)
    lockout = first or read[1]
    result.policy_found, result.policy_sha256 = bool(lockout["found"]), lockout.get("sha256")
    result.policy_bytes = lockout.get("bytes")
    steps = plan_unlock(target, current, ask.replacement)
    told = [read]
    if ask.replacement is not None and steps and not _journaled_replacement(entries, steps[0]):
        put = steps[0]
        told.append(
            ("replacement", {"sha256": put.policy_sha256, "bytes": put.policy_bytes, "policy": ask.replacement})
        )
    rt.store.append_many(incident.incident_id, told)
    apply_steps(rt.store, incident.incident_id, steps, lambda s: _put_or_delete(client, s, ask), rt.progress)
    result.done += [s.describe() for s in steps] or [f"nothing to change: {held(current)}"]
    result.now = held(_read_back(rt, incident, target, client, ask.replacement))
    return f"unlocked: {target.describe()} {'replaced' if ask.replacement is not None else 'deleted'}"


def _put_or_delete(client: Any, step: PolicyStep, ask: RootAsk) -> None:
    perform_policy_step(client, step, ask.replacement)


def _journaled_replacement(entries: list[JournalEntry], step: PolicyStep) -> bool:
    return any(e.kind == "replacement" and e.data.get("sha256") == step.policy_sha256 for e in entries)


def _read_back(
    rt: Runtime, incident: Incident, target: PolicyTarget, client: Any, replacement: str | None
) -> str | None:
    with aws_errors():
        after = read_policy(client, target)
    matches = same_policy(after, replacement)
    digest = canonical_sha256(after) if after is not None else None
    verified = {"resource": target.resource, "found": after is not None, "matches": matches, "sha256": digest}
    rt.store.append(incident.incident_id, "verified", verified)
    if not matches:
        raise AwsFailure(
            f"{target.describe()} read back: {held(after)}, not what was asked",
            fix="see who changed it meanwhile (CloudTrail)",
            resumable=True,
        )
    return after


def _audit(rt: Runtime, incident: Incident, _ask: RootAsk, creds: Credentials, result: RootResult) -> str:
    root = task_of(incident)
    with aws_errors():
        found = read_root_credentials(iam_as_root(rt.factory, creds, root.region))
    rt.store.append(incident.incident_id, "root-credentials", {"account": root.account, **found.model_dump()})
    result.found = found
    result.done.append("read the root user's credentials")
    return "audited: " + ("no root credentials" if found.empty() else "root credentials found")


def _delete_credentials(rt: Runtime, incident: Incident, _ask: RootAsk, creds: Credentials, result: RootResult) -> str:
    root = task_of(incident)
    iam = iam_as_root(rt.factory, creds, root.region)
    with aws_errors():
        found = read_root_credentials(iam)
    rt.store.append(incident.incident_id, "root-credentials", {"account": root.account, **found.model_dump()})
    result.found = found
    steps = plan_deletion(root.account, found, deactivated(rt.store.entries(incident.incident_id)))
    apply_steps(rt.store, incident.incident_id, steps, lambda s: perform_credential_step(iam, s), rt.progress)
    result.done += [s.describe() for s in steps] or ["nothing to delete: the root user holds no credentials"]
    result.remaining = _credentials_read_back(rt, incident, iam)
    return "root credentials deleted" if steps else "no root credentials to delete"


def _credentials_read_back(rt: Runtime, incident: Incident, iam: Any) -> RootCredentials:
    for attempt in range(READ_BACK_ATTEMPTS):
        with aws_errors():
            after = read_root_credentials(iam)
        if after.empty() or attempt == READ_BACK_ATTEMPTS - 1:
            break
        rt.rotation.sleep(1.0)
    rt.store.append(incident.incident_id, "verified", {"root_credentials": after.model_dump(), "empty": after.empty()})
    if not after.empty():
        raise AwsFailure(
            "root credentials remain after the deletion: " + "; ".join(after.lines()),
            fix="see what holds them (breakglass root audit)",
            resumable=True,
        )
    return after


_WORK: dict[str, Callable[[Runtime, Incident, RootAsk, Credentials, RootResult], str]] = {
    "unlock-bucket": _unlock,
    "unlock-queue": _unlock,
    "audit": _audit,
    "delete-credentials": _delete_credentials,
}


def _evidence(rt: Runtime, result: RootResult) -> None:
    ended = CloseResult(incident_id=result.incident_id, mode=Mode.ROOT, status=result.status)
    collect_after_close(rt, ended, EvidenceOptions())
    result.evidence = ended.evidence.folder if ended.evidence else None
    result.evidence_error = ended.evidence_error


# a run that stopped ------------------------------------------------------------------------------


def _error_of(err: Exception) -> BreakglassError:
    if isinstance(err, StepFailed):
        return err.error
    if isinstance(err, BreakglassError):
        return err
    if type(err).__module__.startswith(("botocore", "boto3")):
        return translate_error(err)
    return BreakglassError(f"unexpected error: {type(err).__name__}: {err}", "this is a bug; please report it")


def _announced_change(rt: Runtime, incident: Incident) -> bool:
    """Was a change ever announced in this incident (its call may have been made)? A journal that
    cannot be read says yes: the safer answer."""
    try:
        return bool(mutating_intents(rt.store.entries(incident.incident_id)))
    except BreakglassError:
        return True


def _stopped(rt: Runtime, incident: Incident, err: Exception) -> BreakglassError:
    """needs-attention once a change was announced (exit 8: a rerun of the same command, `close`
    or the sweep finishes it); else failed, with nothing changed, and the failure's own code."""
    if isinstance(err, StepFailed) and err.journal:
        return journal_failure(rt, incident, err, "close", changed_before=_announced_change(rt, incident))
    error = _error_of(err)
    incident_id = incident.incident_id
    if _announced_change(rt, incident):
        finish = f"rerun the same command (it resumes {incident_id}), or end it: breakglass close {incident_id}"
        reason = f"root task stopped: {error.message}; to finish: {error.cause()}, then {finish}"
        try_to_record("the stopped root task", lambda: set_status(rt, incident, IncidentStatus.NEEDS_ATTENTION, reason))
        return PartialApplyError(
            f"{incident_id}: root task stopped: {error.message}",
            incident_id,
            f"{error.cause()}; then {finish}",
            fix=error.fix,
        )
    failed = f"nothing was changed: {error.message}"
    try_to_record(
        "the failed root task",
        lambda: set_status(rt, incident, IncidentStatus.FAILED, failed, release=incident.lock_targets()),
    )
    error.message = f"{incident_id}: {failed}"
    return error


# ending an incident (close, the sweep) -----------------------------------------------------------


def end_root(rt: Runtime, incident: Incident, by: str, evidence: EvidenceOptions | None = None) -> CloseResult:
    """End a root incident without sending any change: what was left in doubt is read back,
    journaled, and the incident closed (needs-attention, exit 8, when it cannot be read)."""
    result = CloseResult(incident_id=incident.incident_id, mode=incident.mode, status=incident.status)
    pending = unanswered(rt.store.entries(incident.incident_id))
    try:
        resolved = _resolve(rt, incident, pending) if pending else []
    except Exception as err:
        error = _error_of(err)
        reason = (
            f"ended by {by}: could not read whether '{pending[0].describe()}' happened: {error.message}; "
            f"to finish: {error.cause()}, then: breakglass close {incident.incident_id}"
        )
        try_to_record(
            "the unresolved root task", lambda: set_status(rt, incident, IncidentStatus.NEEDS_ATTENTION, reason)
        )
        result.status, result.exit_code = incident.status, PartialApplyError.exit_code
        return result
    entries = [_resolution(r, by) for r in resolved]
    result.checked = [f"{r.step.describe()}: {r.verdict()} ({r.found})" for r in resolved] or [
        "no change was left in doubt; nothing more is sent"
    ]
    unknown = [r for r in resolved if r.happened is None]
    if unknown:
        reason = f"ended by {by}: whether '{unknown[0].step.describe()}' happened cannot be read; check it by hand"
        set_status(rt, incident, IncidentStatus.NEEDS_ATTENTION, reason, entries)
        result.status, result.exit_code = incident.status, PartialApplyError.exit_code
        return result
    reason = f"ended by {by}: nothing more sent" + (f"; {len(resolved)} change(s) read back" if resolved else "")
    set_status(rt, incident, IncidentStatus.CLOSED, reason, entries, release=incident.lock_targets())
    result.status = incident.status
    if rt.evidence_on_close:
        collect_after_close(rt, result, evidence)
    return result


def _resolution(resolved: Resolved, by: str) -> tuple[str, dict[str, Any]]:
    if resolved.happened:
        step = resolved.step.model_dump(mode="json")
        return ("outcome", {"step": step, "ok": True, "resolved_by": by, "found": resolved.found})
    kind, data = answer(resolved.step, f"not sent again: the incident was ended by {by}")
    return (kind, {**data, "happened": resolved.happened, "found": resolved.found})


def _resolve(rt: Runtime, incident: Incident, pending: list[PolicyStep | CredentialStep]) -> list[Resolved]:
    """A fresh root session (through the gate), and what the resource holds now."""
    creds = _assume(rt, incident)
    root = task_of(incident)
    if root.task in UNLOCK_TASKS:
        target = policy_target(root)
        with aws_errors():
            current = read_policy(_policy_client(rt, target, creds), target)
        rt.store.append_many(incident.incident_id, [_read(target, current, "end", False)])
        return [resolve_policy(step, current) for step in pending if isinstance(step, PolicyStep)]
    with aws_errors():
        now = read_root_credentials(iam_as_root(rt.factory, creds, root.region))
    rt.store.append(incident.incident_id, "root-credentials", {"account": root.account, **now.model_dump()})
    return [resolve_credential(step, now) for step in pending if isinstance(step, CredentialStep)]
