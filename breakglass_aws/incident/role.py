"""The incident lifecycle for role mode: validate, open, assume through the gate, re-assume for
`exec`, revoke sessions. Credentials are returned to the caller and never stored."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict

from breakglass_aws.aws import aws_errors, is_cut_off
from breakglass_aws.errors import AwsAccessError, BreakglassError, UsageError
from breakglass_aws.incident.close import finish_close
from breakglass_aws.incident.deadman import arm
from breakglass_aws.incident.gate import StepFailed, apply_steps
from breakglass_aws.incident.notice import notify
from breakglass_aws.incident.plan import CloseRequest
from breakglass_aws.incident.records import open_record
from breakglass_aws.incident.status import set_status
from breakglass_aws.incident.stopped import try_to_record
from breakglass_aws.journal.base import refresh
from breakglass_aws.models import (
    PENDING_ARN,
    ClosePlan,
    Incident,
    IncidentStatus,
    IssuedSession,
    Mode,
    Requester,
    RoleAccess,
    new_incident_id,
)
from breakglass_aws.parallel import beside
from breakglass_aws.role.assume import (
    AssumeRequest,
    Credentials,
    assume,
    is_chained,
    parse_role_arn,
    role_arn_for,
    session_duration,
    source_identity_for,
    tag_value_for,
    validate_duration,
    validate_mfa_serial,
    validate_token_code,
)
from breakglass_aws.role.revoke import RevokeProof, RevokeStep
from breakglass_aws.role.trust import RoleFacts, facts_of
from breakglass_aws.runtime import Runtime, local_user, requester_of
from breakglass_aws.validate import ACCOUNT_RE, parse_duration

if TYPE_CHECKING:
    from mypy_boto3_sts import STSClient

log = logging.getLogger(__name__)

__all__ = [
    "AssumeStep",
    "RevokeResult",
    "RoleChoice",
    "activate_role",
    "announce_activation",
    "choose_role",
    "declared",
    "identify",
    "identity_in_flight",
    "new_role_incident",
    "open_role_incident",
    "preflight",
    "reassume",
    "request_for",
    "revoke_role_sessions",
    "role_whoami",
    "still_open",
]


class AssumeStep(BaseModel):
    model_config = ConfigDict(extra="forbid")
    action: Literal["assume-role"] = "assume-role"
    role_arn: str
    session_name: str
    source_identity: str
    duration_seconds: int
    region: str
    mfa: bool

    def describe(self) -> str:
        return f"assume {self.role_arn} as {self.source_identity} for {self.duration_seconds}s"


@dataclass
class RoleChoice:
    """Validated role-mode input (no AWS call was needed to get here)."""

    role_arn: str
    account: str
    mfa_serial: str | None
    token_code: str | None
    duration: timedelta


def choose_role(
    rt: Runtime,
    account: str | None,
    role_arn: str | None,
    role_name: str | None,
    mfa_serial: str | None,
    token_code: str | None,
    duration: str | None,
) -> RoleChoice:
    if bool(account) == bool(role_arn):
        raise UsageError("give exactly one of --account or --role-arn", "e.g. --account 123456789012")
    if account:
        if not ACCOUNT_RE.match(account):
            raise UsageError(f"invalid account id {account!r}", "use the 12-digit account id")
        role_arn = role_arn_for(account, role_name or rt.role.role_name)
    role_arn = role_arn or ""  # one of the two is given: --role-arn is parsed (and refused if bad)
    owner, _ = parse_role_arn(role_arn)
    serial = mfa_serial or rt.role.mfa_serial
    if serial:
        validate_mfa_serial(serial)
    if token_code is not None:
        validate_token_code(token_code)
        if not serial:
            raise UsageError("--token-code needs an MFA device", "pass --mfa-serial or set mfa_serial in the config")
    wanted = validate_duration(parse_duration(duration, what="--duration") if duration else rt.role.duration)
    return RoleChoice(role_arn.strip(), owner, serial, token_code, wanted)


EVERY_ROLE_ALLOWS = 3600  # MaxSessionDuration is at least an hour: shorter sessions need no check


def role_facts(rt: Runtime, role_arn: str) -> RoleFacts | None:
    """The role's MFA requirement and longest session (IAM GetRole: one try, short timeouts),
    or None where IAM does not answer at once or lets us not read the role."""
    _, name = parse_role_arn(role_arn)
    try:
        role = rt.factory.client_quick("iam").get_role(RoleName=name.rsplit("/", 1)[-1])["Role"]
    except Exception as err:  # an optional read: any failure leaves the check to AssumeRole's refusal
        log.debug("GetRole %s: %s", role_arn, type(err).__name__)
        return None
    return facts_of(role)


def preflight(rt: Runtime, choice: RoleChoice, requester: Requester) -> None:
    """Before anything is opened: a --duration over the role's MaxSessionDuration is refused
    (exit 2, with the maximum); a role that requires MFA asked for without an MFA device is said.
    Read only when it matters (no MFA device, or more than an hour) and only for a role in the
    caller's own account (another account's IAM is not reachable without assuming a role)."""
    seconds, _ = session_duration(choice.duration, rt.role.max_duration, is_chained(requester.arn))
    if (choice.mfa_serial and seconds <= EVERY_ROLE_ALLOWS) or choice.account != requester.account:
        return
    facts = role_facts(rt, choice.role_arn)
    if facts is None:
        return
    if seconds > facts.max_session_seconds:
        raise _too_long(seconds, facts.max_session_seconds)
    if facts.requires_mfa and not choice.mfa_serial:
        rt.progress(
            f"warning: {choice.role_arn} requires MFA and no MFA device is configured: AssumeRole will be "
            "refused unless your own session has MFA; pass --mfa-serial ARN or set mfa_serial"
        )


def _too_long(seconds: int, maximum: int | None) -> UsageError:
    if maximum is None:
        return UsageError(
            f"--duration {seconds}s is over the role's maximum session duration (MaxSessionDuration)",
            "ask for less (1h always works), or raise the role's MaxSessionDuration",
        )
    return UsageError(
        f"--duration {seconds}s is over the role's maximum session duration of {maximum}s ({_hours(maximum)})",
        f"use --duration {_hours(maximum)} or less, or raise the role's MaxSessionDuration",
    )


def _hours(seconds: int) -> str:
    return f"{seconds // 3600}h" if seconds % 3600 == 0 else f"{seconds // 60}m"


def _request(
    rt: Runtime, choice: RoleChoice, requester: Requester, incident_id: str, ticket: str | None, region: str
) -> AssumeRequest:
    chained = is_chained(requester.arn)
    seconds, notices = session_duration(choice.duration, rt.role.max_duration, chained)
    tags = {"breakglass:incident": incident_id, "breakglass:ticket": tag_value_for(ticket or "none")}
    return AssumeRequest(
        role_arn=choice.role_arn,
        session_name=f"breakglass-{incident_id}",
        source_identity=source_identity_for(requester.name),
        duration_seconds=seconds,
        tags=tags,
        mfa_serial=choice.mfa_serial,
        chained=chained,
        region=region,
        notices=notices,
    )


def open_role_incident(
    rt: Runtime,
    choice: RoleChoice,
    requester: Requester,
    reason: str,
    ticket: str | None,
    override: bool = False,
    announce: bool = True,
) -> tuple[Incident, Credentials, AssumeRequest]:
    """Open and activate. With announce=False the caller hands out the credentials first and
    then calls announce_activation: a slow notification never delays them."""
    incident, request = new_role_incident(rt, choice, requester, reason, ticket, IncidentStatus.ACTIVE, override)
    creds = activate_role(rt, incident, request, choice.token_code, announce)
    return incident, creds, request


def new_role_incident(
    rt: Runtime,
    choice: RoleChoice,
    requester: Requester,
    reason: str,
    ticket: str | None,
    status: IncidentStatus,
    override: bool = False,
    approvals_required: int = 0,
) -> tuple[Incident, AssumeRequest]:
    now = rt.clock()
    incident_id = new_incident_id(now)
    request = _request(rt, choice, requester, incident_id, ticket, rt.factory.region_name())
    for notice in request.notices:
        rt.progress(f"notice: {notice}")
    incident = Incident(
        incident_id=incident_id,
        mode=Mode.ROLE,
        status=status,
        override=override,
        approvals_required=approvals_required,
        request={
            "role_arn": choice.role_arn,
            "mfa_serial": choice.mfa_serial,
            "duration_seconds": int(choice.duration.total_seconds()),
        },
        requester=requester,
        reason=reason,
        ticket=ticket,
        targets=[choice.role_arn],
        created_at=now,
        expires_at=now + timedelta(seconds=request.duration_seconds),
        role=RoleAccess(
            role_arn=choice.role_arn,
            session_name=request.session_name,
            source_identity=request.source_identity,
            region=request.region,
            duration_seconds=request.duration_seconds,
            chained=request.chained,
            mfa_serial=choice.mfa_serial,
        ),
    )
    open_record(rt, incident, extra=[("override", {"reason": reason})] if override else None)
    if override:
        notify(rt, incident, "override-used", "approvals bypassed with --emergency-override")
    elif status is IncidentStatus.REQUESTED:
        notify(rt, incident, "requested", f"needs {approvals_required} approval(s)")
    return incident, request


def activate_role(
    rt: Runtime, incident: Incident, request: AssumeRequest, token_code: str | None, announce: bool = True
) -> Credentials:
    if incident.status is not IncidentStatus.ACTIVE:
        incident.status, incident.status_reason = IncidentStatus.ACTIVE, "activated"
        incident.expires_at = rt.clock() + timedelta(seconds=request.duration_seconds)
        rt.store.save_incident(incident)
    creds = _assume_through_gate(rt, incident, request, token_code, first=True)
    rt.store.append(incident.incident_id, "activated", {"expires_at": incident.public()["expires_at"]})
    if announce:
        announce_activation(rt, incident, request)
    return creds


def announce_activation(rt: Runtime, incident: Incident, request: AssumeRequest) -> None:
    """The "activated" notification and the dead-man schedule that closes the incident at its
    expiry (a failure of either is journaled and warned, never raised). Both come after the
    credentials are handed out."""
    notify(rt, incident, "activated", f"{request.role_arn} assumed as {request.source_identity}")
    arm(rt, incident)


def request_for(rt: Runtime, incident: Incident) -> tuple[RoleChoice, AssumeRequest]:
    """Rebuild the AssumeRole request of an approved role incident."""
    saved = incident.request
    owner, _ = parse_role_arn(saved["role_arn"])
    choice = RoleChoice(
        saved["role_arn"], owner, saved.get("mfa_serial"), None, timedelta(seconds=int(saved["duration_seconds"]))
    )
    region = incident.access().region
    return choice, _request(rt, choice, incident.requester, incident.incident_id, incident.ticket, region)


REASSUME_MIN_LEFT = timedelta(minutes=15)


FAILOVER_REGIONS = 3
T = TypeVar("T")


def sts_order(rt: Runtime, region: str) -> list[str]:
    """The STS endpoints role mode tries, in order: the incident's region, then sts_regions."""
    return list(dict.fromkeys([region, *rt.role.sts_regions]))[:FAILOVER_REGIONS]


def on_sts(rt: Runtime, regions: list[str], call: Callable[[STSClient], T]) -> tuple[T, str]:
    """`call` on the first STS endpoint of `regions` that answers (a timeout, a dropped connection
    or a 5xx moves on to the next, said in one line); its answer and the region that gave it.
    Credentials from a regional endpoint work in every region enabled by default."""
    for index, region in enumerate(regions[:-1]):
        try:
            return call(rt.factory.client_failover(region)), region
        except Exception as err:
            if not _unanswered(err):
                raise
            rt.progress(f"STS in {region} did not answer ({type(err).__name__}): trying {regions[index + 1]}")
    return call(rt.factory.client_failover(regions[-1])), regions[-1]


def _unanswered(err: BaseException) -> bool:
    from botocore.exceptions import ClientError

    if is_cut_off(err):
        return True
    return (
        isinstance(err, ClientError) and int(err.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)) >= 500
    )


def role_whoami(rt: Runtime) -> Requester:
    """whoami over the role path's STS endpoints (a hung one is failed over, not waited for)."""
    with aws_errors():
        ident, _ = on_sts(rt, sts_order(rt, rt.factory.region_name()), lambda sts: sts.get_caller_identity())
    return requester_of(rt, ident)


def identity_in_flight(rt: Runtime) -> Future[Requester]:
    """GetCallerIdentity sent beside the opening: the AssumeRole request needs only the declared
    name, so both requests are in flight together (one round trip, not two). The record is
    opened with the declared name and completed by `identify` when the answer comes."""
    return beside(functools.partial(role_whoami, rt))


def declared(rt: Runtime, choice: RoleChoice) -> Requester | None:
    """The requester as known without a network call, when the AssumeRole request does not depend
    on the caller's identity: a declared or local name, an MFA device (no MFA read needed) and at
    most an hour (role chaining caps nothing)."""
    name = rt.requester_name or local_user()
    if not name or not choice.mfa_serial or choice.duration > timedelta(seconds=EVERY_ROLE_ALLOWS):
        return None
    return Requester(arn=PENDING_ARN, account="", user_id="", name=name)


def identify(rt: Runtime, incident: Incident, identity: Future[Requester]) -> None:
    """Complete the record with the caller's identity (journaled as `identified`). A failure to
    learn it is said, never raised: the credentials are already issued and journaled."""
    try:
        real = identity.result()
    except BreakglassError as err:
        rt.progress(f"warning: the caller's identity could not be read ({err.message}); recorded by declared name")
        return
    incident.requester = real.model_copy(update={"name": incident.requester.name})
    incident.access().chained = is_chained(real.arn)
    rt.store.save_incident(incident)
    rt.store.append(incident.incident_id, "identified", {"requester": incident.requester.model_dump(mode="json")})


def _rejoinable(rt: Runtime, incident: Incident, role_arn: str, now: datetime) -> bool:
    return (
        incident.mode is Mode.ROLE
        and incident.status is IncidentStatus.ACTIVE
        and incident.role is not None
        and incident.role.role_arn == role_arn
        and incident.expires_at - now > max(REASSUME_MIN_LEFT, rt.role.agent_refresh)
    )


def still_open(rt: Runtime, requester: Requester, role_arn: str, by_name: bool = False) -> Incident | None:
    """The newest active role incident of this requester and role with time left for new
    credentials (its agent stopped: a reboot, a kill), to rejoin instead of opening another.
    `by_name`: matched by the declared name (no identity yet; check the ARN before use)."""
    now = rt.clock()
    for incident in rt.store.list_incidents(limit=50):
        same = incident.requester.name == requester.name if by_name else incident.requester.arn == requester.arn
        if same and _rejoinable(rt, incident, role_arn, now):
            return incident
    return None


def reassume(rt: Runtime, incident_id: str, token_code: str | None) -> tuple[Incident, Credentials]:
    """New credentials for an open role incident (for `exec`): same role, same attribution."""
    incident = rt.store.get_incident(incident_id)
    if incident.mode is not Mode.ROLE or incident.role is None:
        raise UsageError(f"{incident_id} is a {incident.mode} incident", "exec needs a role-mode incident")
    if incident.status is not IncidentStatus.ACTIVE:
        raise UsageError(f"{incident_id} is {incident.status}", "open a new one with: breakglass role assume")
    if incident.role.mfa_serial and token_code is None:
        raise UsageError("an MFA code is required", "pass --token-code or answer the prompt")
    role = incident.role
    left = int((incident.expires_at - rt.clock()).total_seconds())
    if left < REASSUME_MIN_LEFT.total_seconds():
        raise UsageError(f"{incident_id} expires in {max(left, 0)}s", "open a new one with: breakglass role assume")
    request = AssumeRequest(
        role_arn=role.role_arn,
        session_name=role.session_name,
        source_identity=role.source_identity,
        duration_seconds=min(role.duration_seconds, left),
        tags={"breakglass:incident": incident_id, "breakglass:ticket": tag_value_for(incident.ticket or "none")},
        mfa_serial=role.mfa_serial,
        chained=role.chained,
        region=role.region,
    )
    return incident, _assume_through_gate(rt, incident, request, token_code, first=False)


def _assume_through_gate(
    rt: Runtime, incident: Incident, request: AssumeRequest, token_code: str | None, first: bool
) -> Credentials:
    from botocore.exceptions import ClientError

    regions = sts_order(rt, request.region)
    issued: list[Credentials] = []

    def perform(_: AssumeStep) -> dict[str, Any]:
        with aws_errors():
            try:
                creds, issued_by = on_sts(rt, regions, lambda sts: assume(sts, request, token_code))
            except ClientError as err:
                if _unanswered(err):
                    raise
                raise explain_assume_error(err, request, lambda: _maximum(rt, incident, request)) from err
        issued.append(creds)
        return {
            "access_key_id": creds.access_key_id,
            "expiration": creds.expiration.isoformat(),
            "issued_by": issued_by,
        }

    step = AssumeStep(
        role_arn=request.role_arn,
        session_name=request.session_name,
        source_identity=request.source_identity,
        duration_seconds=request.duration_seconds,
        region=request.region,
        mfa=bool(request.mfa_serial),
    )
    try:
        apply_steps(rt.store, incident.incident_id, [step], perform)
    except StepFailed as failed:
        if first:
            set_status(rt, incident, IncidentStatus.FAILED, failed.error.message, release=incident.lock_targets())
        raise _accurate_rerun_hint(failed.error, incident.incident_id, first) from failed
    creds = issued[0]
    incident.access().sessions.append(
        IssuedSession(access_key_id=creds.access_key_id, expiration=creds.expiration, issued_at=rt.clock())
    )
    rt.store.save_incident(incident)
    return creds


def _accurate_rerun_hint(error: BreakglassError, incident_id: str, first: bool) -> BreakglassError:
    """A failed AssumeRole does not resume: say what a rerun really does."""
    if not error.resumable:
        if first and error.remediation:  # fixed first; then the next run is a new incident
            error.remediation += f"; {incident_id} is marked failed: the next run opens a new incident"
        return error
    if first:
        error.remediation = (
            f"retry shortly with the same `breakglass role assume` command: {incident_id} is marked failed "
            "and the rerun opens a new incident"
        )
    else:
        error.remediation = f"retry shortly: breakglass exec {incident_id} -- COMMAND (the incident stays open)"
    error.resumable = False  # a rerun assumes the role again; nothing is resumed
    return error


def _maximum(rt: Runtime, incident: Incident, request: AssumeRequest) -> int | None:
    """The role's MaxSessionDuration after a refusal, where IAM can be read."""
    owner, _ = parse_role_arn(request.role_arn)
    if owner != incident.requester.account:
        return None
    facts = role_facts(rt, request.role_arn)
    return facts.max_session_seconds if facts else None


def explain_assume_error(
    err: Any, request: AssumeRequest, maximum: Callable[[], int | None] = lambda: None
) -> BreakglassError:
    """Role-specific meaning of an AssumeRole refusal."""
    from breakglass_aws.aws import translate_error

    error = err.response.get("Error", {})
    code, message = str(error.get("Code", "")), str(error.get("Message", ""))
    if "MultiFactorAuthentication" in message or "MFA" in message:
        return AwsAccessError(
            "the MFA code was rejected (wrong, expired, or already used)",
            "wait for the next code on the device and run the command again",
        )
    if code == "ValidationError" and "DurationSeconds" in message:
        return _too_long(request.duration_seconds, maximum())
    if code in ("AccessDenied", "AccessDeniedException"):
        return AwsAccessError(
            f"not authorized to assume {request.role_arn}",
            "check the role exists, its trust policy names you, and MFA is given (--mfa-serial)",
        )
    return translate_error(err)


class RevokeResult(BaseModel):
    """A standalone revocation: its own (closed) incident and the policy read back."""

    model_config = ConfigDict(extra="forbid")
    incident_id: str
    role_arn: str
    status: IncidentStatus
    revoked: RevokeStep | None = None
    revoke_verified: RevokeProof | None = None
    also_revoked: list[str] = []
    exit_code: int = 0


def revoke_role_sessions(
    rt: Runtime, role_arn: str, caller: Requester, before: datetime | None, reason: str
) -> RevokeResult:
    """Standalone revocation, recorded as its own role incident opened closing with the cut-off
    as its plan: a stopped one is finished (with that cut-off) by a rerun of `close` or the sweep."""
    parse_role_arn(role_arn)
    now = rt.clock()
    cutoff = before or now
    if cutoff > now:
        raise UsageError("--before cannot be in the future", "omit --before to revoke everything issued until now")
    incident = Incident(
        incident_id=new_incident_id(now),
        mode=Mode.ROLE,
        status=IncidentStatus.CLOSING,
        requester=caller,
        reason=reason,
        targets=[role_arn],
        created_at=now,
        expires_at=now,
        role=RoleAccess(
            role_arn=role_arn,
            session_name="",
            source_identity=source_identity_for(caller.name),
            region=rt.factory.region_name(),
            duration_seconds=0,
            chained=False,
        ),
        closing=ClosePlan(started_at=now, revoke_before=cutoff),
    )
    open_record(rt, incident)
    try:
        closed = finish_close(rt, incident, caller, CloseRequest(restore_only=True, by="role revoke-sessions"))
    except UsageError as err:  # nothing to finish later (a role that does not exist): it failed
        _failed(rt, incident, err.message)
        raise
    return RevokeResult(
        incident_id=closed.incident_id,
        role_arn=role_arn,
        status=closed.status,
        revoked=closed.revoked,
        revoke_verified=closed.revoke_verified,
        also_revoked=closed.also_revoked,
        exit_code=closed.exit_code,
    )


def _failed(rt: Runtime, incident: Incident, reason: str) -> None:
    refresh(rt.store, incident)
    if incident.status is IncidentStatus.NEEDS_ATTENTION:
        try_to_record("the failed revocation", lambda: set_status(rt, incident, IncidentStatus.FAILED, reason))
