"""Running a rotation through the apply gate, inside an incident (close) or on its own (rotate)."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict

from breakglass_aws.aws import aws_errors
from breakglass_aws.custody import custody_policy
from breakglass_aws.errors import AwsFailure, BreakglassError, PartialApplyError, UsageError
from breakglass_aws.incident.gate import StepFailed, apply_levels
from breakglass_aws.incident.records import open_record
from breakglass_aws.incident.status import set_status
from breakglass_aws.models import ACTIVE_STATUSES, Incident, IncidentStatus, Mode, Requester, new_incident_id
from breakglass_aws.parallel import beside
from breakglass_aws.rotation import (
    PasswordPolicy,
    Performer,
    RotationPlan,
    RotationProof,
    RotationStep,
    UserState,
    check_target,
    plan_rotation,
    prove_rotation,
    read_policy,
    read_state,
)
from breakglass_aws.runtime import Runtime

__all__ = [
    "ReadAhead",
    "RotationResult",
    "check_rotation_targets",
    "read_rotations",
    "rotate_in_incident",
    "rotate_standalone",
    "validate_user",
]

PROOF_ATTEMPTS = 3

USER_RE = re.compile(r"\A[\w+=,.@-]{1,64}\Z", re.ASCII)  # anchored: .match() is a full match
SECRET_RE = re.compile(r"\A[\w/+=.@:-]{1,2048}\Z", re.ASCII)


class RotationResult(BaseModel):
    model_config = ConfigDict(extra="forbid")
    incident_id: str
    user: str
    secret_id: str
    dry_run: bool = False
    resumed: bool = False
    steps: list[str]
    new_key_id: str | None = None
    deleted_keys: list[str] = []
    password_reset: bool = False
    verified: RotationProof | None = None


def validate_user(user: str, secret_id: str | None) -> None:
    if not USER_RE.match(user):
        raise UsageError(f"invalid IAM user name {user!r}", "user names use letters, digits and +=,.@_- only")
    if secret_id is not None and not SECRET_RE.match(secret_id):
        raise UsageError(f"invalid secret id {secret_id!r}", "use the secret's name or ARN")


def check_rotation_targets(rt: Runtime, users: list[str], secret_id: str | None = None) -> None:
    """Read-only: every user and its secret exist; a UsageError (exit 2) before anything changes."""
    iam, sm = rt.factory.client("iam"), rt.factory.client("secretsmanager")
    for user in users:
        with aws_errors():
            check_target(iam, sm, user, secret_id or rt.rotation.secret_for(user))


@dataclass
class ReadAhead:
    """A rotation's reads (the user's keys, login profile and secret; the password policy),
    started before the work that precedes the rotation and used once by it."""

    state: Future[UserState]
    policy: Future[PasswordPolicy]
    used: bool = False

    def check(self) -> None:
        """The user and its secret exist: a UsageError (exit 2) before anything changes."""
        with aws_errors():
            self.state.result()


def read_rotations(rt: Runtime, users: list[str]) -> dict[str, ReadAhead]:
    """Start every user's rotation reads, all in flight together, beside what comes next."""
    if not users:
        return {}
    iam, sm = rt.factory.client("iam"), rt.factory.client("secretsmanager")  # built on this thread
    policy = beside(lambda: read_policy(iam))
    return {
        user: ReadAhead(beside(functools.partial(read_state, iam, sm, user, rt.rotation.secret_for(user))), policy)
        for user in users
    }


def _journal_facts(rt: Runtime, incident_id: str, rotation_id: str) -> tuple[list[str], set[str]]:
    created: list[str] = []
    finished: set[str] = set()
    for entry in rt.store.entries(incident_id):
        step = entry.data.get("step", {})
        if entry.kind != "outcome" or not entry.data.get("ok") or step.get("rotation_id") != rotation_id:
            continue
        finished.add(step["action"])
        if step["action"] == "create-key":
            created.append(entry.data["result"]["access_key_id"])
    return created, finished


def _verifier(rt: Runtime) -> Callable[[str, str], str]:
    def verify(key_id: str, secret: str) -> str:
        """GetCallerIdentity with the new key, waiting (bounded) for IAM's eventual consistency."""
        waited, delay = 0.0, 1.0
        while True:
            sts = rt.factory.client_as("sts", key_id, secret, None)
            try:
                return str(sts.get_caller_identity()["Arn"])
            except sts.exceptions.ClientError as err:
                if waited + delay > rt.rotation.verify_timeout:
                    code = err.response.get("Error", {}).get("Code")
                    raise AwsFailure(
                        f"the new key {key_id} still does not work after waiting {waited:g}s ({code}); "
                        "the old key was kept",
                        fix="wait a minute for IAM to know the new key",
                        resumable=True,
                    ) from err
                rt.rotation.sleep(delay)
                waited += delay
                delay = min(delay * 2, 10.0)

    return verify


def rotate_in_incident(
    rt: Runtime,
    incident: Incident,
    user: str,
    secret_id: str | None,
    with_password: bool,
    dry_run: bool = False,
    raise_step_failed: bool = False,
    ahead: ReadAhead | None = None,
) -> RotationResult:
    """`raise_step_failed`: let the gate's StepFailed through (close names the step itself).
    `ahead`: the user's reads, already started (see `read_rotations`)."""
    secret = secret_id or rt.rotation.secret_for(user)
    rotation_id = f"{incident.incident_id}:{user}"
    iam, sm = rt.factory.client("iam"), rt.factory.client("secretsmanager")
    with aws_errors():
        if ahead is not None and not ahead.used and secret_id is None:
            ahead.used = True
            state, policy = ahead.state.result(), ahead.policy.result()
        else:
            policy_read = beside(lambda: read_policy(iam))  # in flight with the state's reads
            state = read_state(iam, sm, user, secret)
            policy = policy_read.result()
    created, finished = _journal_facts(rt, incident.incident_id, rotation_id)
    custody = custody_policy(rt.rotation.custody_threshold, rt.rotation.custodians)
    plan = plan_rotation(state, user, secret, rotation_id, created, finished, with_password, custody is not None)
    if dry_run:
        return _result(incident, plan, dry_run=True)
    performer = Performer(
        iam,
        sm,
        _verifier(rt),
        policy,
        rt.clock,
        incident.incident_id,
        iam_once=rt.factory.client_once("iam"),
        new_password=any(s.action == "set-password" for s in plan.steps),
        keep_password=state.stored.get("password") if isinstance(state.stored.get("password"), str) else None,
        user_arn=state.arn,
        known_keys={k["AccessKeyId"] for k in state.keys},
        custody=custody,
        shares_base=rt.rotation.secret_for(user),
        shares_out=rt.rotation.shares_out,
    )
    try:
        apply_levels(rt.store, incident.incident_id, plan.levels(), performer, rt.progress)
    except StepFailed as failed:
        if raise_step_failed:
            raise
        if failed.done == 0 and not (created or finished):
            raise failed.error from failed
        step = failed.step.describe() if isinstance(failed.step, RotationStep) else "a rotation step"
        raise PartialApplyError(
            f"rotation of {user} stopped at step {failed.done + 1} ({step}): {failed.error.message}",
            incident.incident_id,
            f"{failed.error.cause()}; then rerun: the finished steps are not repeated",
            fix=failed.error.fix,
        ) from failed
    result = _result(incident, plan, resumed=bool(created or finished))
    result.verified = _prove(rt, incident, user, secret, plan.keys + result.deleted_keys)
    result.new_key_id = result.verified.secret_key_id
    return result


def _prove(rt: Runtime, incident: Incident, user: str, secret: str, old_keys: list[str]) -> RotationProof:
    """Read back the end state (bounded retries for IAM's eventual consistency), then journal it."""
    iam, sm = rt.factory.client("iam"), rt.factory.client("secretsmanager")
    for attempt in range(PROOF_ATTEMPTS):
        try:
            with aws_errors():
                proof = prove_rotation(iam, sm, user, secret, sorted(set(old_keys)))
            break
        except AwsFailure as err:
            if attempt == PROOF_ATTEMPTS - 1:
                raise PartialApplyError(
                    f"{err.message} (read back after the rotation)", incident.incident_id, err.remediation, fix=err.fix
                ) from err
            rt.rotation.sleep(1.0)
    rt.store.append(
        incident.incident_id, "verified", {"rotation_id": f"{incident.incident_id}:{user}", **proof.model_dump()}
    )
    return proof


def _result(incident: Incident, plan: RotationPlan, dry_run: bool = False, resumed: bool = False) -> RotationResult:
    creates = any(s.action == "create-key" for s in plan.steps)
    return RotationResult(
        incident_id=incident.incident_id,
        user=plan.user,
        secret_id=plan.secret_id,
        dry_run=dry_run,
        resumed=resumed,
        steps=[s.describe() for s in plan.steps],
        new_key_id=None if creates else plan.already_stored,
        deleted_keys=[s.key_id for s in plan.steps if s.action == "delete-key" and s.key_id],
        password_reset=any(s.action == "set-password" for s in plan.steps),
    )


def _open_rotation(rt: Runtime, requester: Requester, user: str, reason: str) -> tuple[Incident, bool]:
    target = f"user/{user}"
    for existing in rt.store.list_incidents(limit=1000):
        if existing.mode is Mode.ROTATE and existing.targets == [target] and existing.status in ACTIVE_STATUSES:
            return existing, True
    now = rt.clock()
    incident = Incident(
        incident_id=new_incident_id(now),
        mode=Mode.ROTATE,
        status=IncidentStatus.ACTIVE,
        requester=requester,
        reason=reason,
        targets=[target],
        created_at=now,
        expires_at=now,
    )
    open_record(rt, incident)
    return incident, False


def rotate_standalone(
    rt: Runtime, requester: Requester, user: str, secret_id: str | None, with_password: bool, dry_run: bool, reason: str
) -> RotationResult:
    """`breakglass rotate`: resumes an unfinished rotation of the same user instead of starting over."""
    validate_user(user, secret_id)
    if dry_run:
        probe = Incident(
            incident_id=new_incident_id(rt.clock()),
            mode=Mode.ROTATE,
            status=IncidentStatus.REQUESTED,
            requester=requester,
            reason=reason,
            targets=[f"user/{user}"],
            created_at=rt.clock(),
            expires_at=rt.clock(),
        )
        return rotate_in_incident(rt, probe, user, secret_id, with_password, dry_run=True)
    check_rotation_targets(rt, [user], secret_id)  # bad input leaves no incident behind
    incident, resumed = _open_rotation(rt, requester, user, reason)
    if resumed:
        rt.progress(f"resuming unfinished rotation {incident.incident_id}")
    try:
        result = rotate_in_incident(rt, incident, user, secret_id, with_password)
    except Exception as err:
        message = err.message if isinstance(err, BreakglassError) else f"{type(err).__name__}: {err}"
        set_status(
            rt,
            incident,
            IncidentStatus.NEEDS_ATTENTION,
            f"rotation stopped: {message}; to finish: "
            f"{err.cause() if isinstance(err, BreakglassError) else 'fix the cause'}",
        )
        raise
    set_status(rt, incident, IncidentStatus.CLOSED, "rotated", release=incident.lock_targets())
    result.resumed = result.resumed or resumed
    return result
