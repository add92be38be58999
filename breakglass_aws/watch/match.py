"""Out-of-band detection: every break-glass event (see `coverage`) that no incident explains."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict

from breakglass_aws.clock import isoformat
from breakglass_aws.models import Incident, IssuedSession, Mode
from breakglass_aws.role.revoke import POLICY_NAME as REVOKE_POLICY
from breakglass_aws.watch.coverage import COVERAGE, EventKind, Names, applies, concerns

__all__ = ["GLOBAL_REGION", "Sighting", "check_event", "lookups"]

GLOBAL_REGION = "us-east-1"
MARGIN = timedelta(minutes=5)
# The calls a rotation makes on a break-glass user (the others of user-credentials never are).
ROTATION_CALLS = frozenset({"CreateAccessKey", "UpdateAccessKey", "CreateLoginProfile", "UpdateLoginProfile"})
REVOCATION_CALLS = frozenset({"PutRolePolicy", "DeleteRolePolicy"})


class Sighting(BaseModel):
    """A use of the glass, or a change to its controls, that matches no incident."""

    model_config = ConfigDict(extra="forbid")
    event_id: str
    kind: str
    event_name: str
    time: str
    region: str
    account: str
    who: str
    detail: str


def lookups(regions: list[str]) -> list[tuple[str, list[str]]]:
    """(region, event names) to read: regional kinds in every region, global ones in us-east-1."""
    answer = []
    for region in sorted({GLOBAL_REGION, *regions}):
        wanted = {n for k in COVERAGE if k.regional or region == GLOBAL_REGION for n in k.event_names}
        answer.append((region, sorted(wanted)))
    return answer


def _record(event: dict[str, Any]) -> dict[str, Any]:
    raw = event.get("CloudTrailEvent") or "{}"
    try:
        parsed = json.loads(raw) if isinstance(raw, str) else raw
    except json.JSONDecodeError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _when(event: dict[str, Any]) -> datetime:
    value = event["EventTime"]
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def _open_window(incident: Incident, when: datetime, now: datetime) -> bool:
    """From its opening (or approval) until it closed, or now while it is open."""
    return incident.created_at - MARGIN <= when <= (incident.closed_at or now) + MARGIN


def _role_window(incident: Incident, when: datetime) -> bool:
    """A role incident assumes between its opening and its expiry (or an earlier close)."""
    end = incident.expires_at
    if incident.closed_at is not None:
        end = min(end, incident.closed_at)
    if incident.role is not None:
        end = max([end, *(s.issued_at for s in incident.role.sessions)])
    return incident.created_at - MARGIN <= when <= end + MARGIN


def _session_life(session: IssuedSession, when: datetime) -> bool:
    return session.issued_at - MARGIN <= when <= session.expiration + MARGIN


def _caller_key(record: dict[str, Any]) -> str | None:
    key = (record.get("userIdentity") or {}).get("accessKeyId")
    return str(key) if key else None


def _issued_key(record: dict[str, Any]) -> str | None:
    """The access key id an AssumeRole answer handed out (absent when the call failed)."""
    creds = (record.get("responseElements") or {}).get("credentials") or {}
    key = creds.get("accessKeyId") if isinstance(creds, dict) else None
    return str(key) if key else None


def _params(record: dict[str, Any]) -> dict[str, Any]:
    params = record.get("requestParameters") or {}
    return params if isinstance(params, dict) else {}


class Matcher:
    """Whether an incident explains an event: what the tool itself did, inside the incident's window."""

    def __init__(self, incidents: list[Incident], now: datetime) -> None:
        self.incidents, self.now = incidents, now
        self.roles = [i for i in incidents if i.mode is Mode.ROLE and i.role is not None]

    def with_issued_credentials(self, record: dict[str, Any], when: datetime) -> bool:
        """Made with credentials an incident was issued, while they were valid."""
        key = _caller_key(record)
        return key is not None and any(
            s.access_key_id == key and _session_life(s, when)
            for i in self.roles
            if i.role is not None
            for s in i.role.sessions
        )

    def assume(self, record: dict[str, Any], when: datetime) -> bool:
        """The tool's own AssumeRole for an incident: same role and session name, the incident's
        SourceIdentity, inside its window, and (when AWS answered) one of the keys it recorded."""
        params, issued = _params(record), _issued_key(record)
        for incident in self.roles:
            role = incident.role
            if role is None or not _role_window(incident, when):
                continue
            if params.get("roleArn") != role.role_arn or params.get("roleSessionName") != role.session_name:
                continue
            if role.source_identity and params.get("sourceIdentity") != role.source_identity:
                continue
            if issued is not None and issued not in {s.access_key_id for s in role.sessions}:
                continue
            return True
        return self.with_issued_credentials(record, when)

    def login(self, user: str, when: datetime) -> bool:
        return any(
            i.requester.arn.endswith(f":user/{user}") and _role_window(i, when)
            for i in self.incidents
            if i.mode is Mode.ROLE
        )

    def rotation(self, user: str, when: datetime) -> bool:
        """A key or password change the tool made: an incident rotating that user, in its window."""
        for incident in self.incidents:
            rotating = [t.removeprefix("user/") for t in incident.targets] if incident.mode is Mode.ROTATE else []
            closing = incident.closing.users if incident.closing is not None else []
            if user in (*rotating, *closing) and _open_window(incident, when, self.now):
                return True
        return False

    def revocation(self, policy_name: str, when: datetime) -> bool:
        """The revocation policy a role incident's close puts on the role (and a rerun rewrites)."""
        return policy_name == REVOKE_POLICY and any(
            i.closing is not None and i.closing.started_at - MARGIN <= when <= (i.closed_at or self.now) + MARGIN
            for i in self.roles
        )

    def assume_root(self, record: dict[str, Any], when: datetime) -> bool:
        """The tool's own AssumeRoot for a root-task incident: its account and task policy, by its
        requester, inside its window."""
        params = _params(record)
        policy = params.get("taskPolicyArn")
        policy_arn = policy.get("arn") if isinstance(policy, dict) else policy
        caller = (record.get("userIdentity") or {}).get("arn")
        return any(
            i.root is not None
            and str(params.get("targetPrincipal", "")).endswith(i.root.account)
            and policy_arn == i.root.task_policy_arn
            and (caller is None or caller == i.requester.arn)
            and _open_window(i, when, self.now)
            for i in self.incidents
            if i.mode is Mode.ROOT
        )

    def any_incident(self, when: datetime) -> bool:
        return any(_open_window(i, when, self.now) for i in self.incidents)

    def scp(self, params: dict[str, Any], when: datetime) -> bool:
        target, policy = params.get("targetId"), params.get("policyId")
        for incident in self.incidents:
            for snap in incident.scp:
                touched = {*snap.detach, "p-FullAWSAccess"}
                if snap.target == target and policy in touched and _open_window(incident, when, self.now):
                    return True
        return False


def _explained(kind: EventKind, name: str, record: dict[str, Any], when: datetime, match: Matcher) -> bool:
    params = _params(record)
    explains = {
        "assume-role": lambda: match.assume(record, when),
        "assume-root": lambda: match.assume_root(record, when),
        "console-login": lambda: match.login(str((record.get("userIdentity") or {}).get("userName")), when),
        "user-credentials": lambda: name in ROTATION_CALLS and match.rotation(str(params.get("userName")), when),
        "role-changed": lambda: name in REVOCATION_CALLS and match.revocation(str(params.get("policyName")), when),
        "secret-read": lambda: match.any_incident(when),
        "scp-change": lambda: name != "UpdatePolicy" and match.scp(params, when),
    }
    check = explains.get(kind.kind)
    return check is not None and check()


def _detail(kind: EventKind, name: str, params: dict[str, Any]) -> str:
    subject = next(
        (
            str(params[k])
            for k in ("roleArn", "roleName", "userName", "serialNumber", "secretId", "name", "rule")
            if params.get(k)
        ),
        "",
    )
    subject = subject or str(params.get("subscriptionArn") or params.get("policyId") or "")
    target = f" on {params['targetId']}" if params.get("targetId") else ""
    return f"{kind.description}: {name}{' ' + subject if subject else ''}{target}, outside any incident"


def _kinds(record: dict[str, Any], name: str, names: Names) -> list[EventKind]:
    source = record.get("eventSource")
    return [
        k for k in COVERAGE if name in k.event_names and (not source or k.event_source == source) and applies(k, names)
    ]


def _normalized(event: dict[str, Any], name: str) -> dict[str, Any]:
    """The record, with a sign-in's identity completed from the event's user name when the record
    lacks it (LookupEvents gives `Username` beside the record)."""
    record = _record(event)
    identity = record.get("userIdentity")
    identity = dict(identity) if isinstance(identity, dict) else {}
    if name == "ConsoleLogin" and event.get("Username"):
        identity.setdefault("userName", str(event["Username"]))
        identity.setdefault("type", "IAMUser")
    record["userIdentity"] = identity
    return record


def check_event(event: dict[str, Any], region: str, names: Names, match: Matcher) -> Sighting | None:
    """The finding an event makes, or None when it concerns nothing watched or an incident explains it."""
    name, when = str(event.get("EventName") or ""), _when(event)
    record = _normalized(event, name)
    for kind in _kinds(record, name, names):
        if not concerns(kind, record, names) or _explained(kind, name, record, when, match):
            continue
        identity = record.get("userIdentity") or {}
        return Sighting(
            event_id=str(event["EventId"]),
            kind=kind.kind,
            event_name=name,
            time=isoformat(when),
            region=str(record.get("awsRegion") or region),
            account=str(record.get("recipientAccountId") or identity.get("accountId") or "?"),
            who=str(identity.get("arn") or event.get("Username") or "?"),
            detail=_detail(kind, name, _params(record)),
        )
    return None
