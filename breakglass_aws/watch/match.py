"""Out-of-band detection: uses of break-glass principals and SCP changes that match no incident."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict

from breakglass_aws.clock import isoformat
from breakglass_aws.evidence.source import EvidenceSource
from breakglass_aws.models import Incident, IssuedSession, Mode

__all__ = ["Sighting", "scan"]

GLOBAL_REGION = "us-east-1"
SCP_EVENTS = ("AttachPolicy", "DetachPolicy", "UpdatePolicy")
MARGIN = timedelta(minutes=5)


class Sighting(BaseModel):
    """A use of the glass, or an SCP change, that matches no incident."""

    model_config = ConfigDict(extra="forbid")
    event_id: str
    kind: str
    event_name: str
    time: str
    region: str
    who: str
    detail: str


def _record(event: dict[str, Any]) -> dict[str, Any]:
    raw = event.get("CloudTrailEvent") or "{}"
    parsed = json.loads(raw) if isinstance(raw, str) else raw
    return parsed if isinstance(parsed, dict) else {}


def _when(event: dict[str, Any]) -> datetime:
    value = event["EventTime"]
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def _scp_window(incident: Incident, when: datetime, now: datetime) -> bool:
    """An SCP incident detaches after it opens (or is approved) and restores when it closes."""
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


class _Matcher:
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
        params = record.get("requestParameters") or {}
        issued = _issued_key(record)
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

    def scp(self, params: dict[str, Any], when: datetime) -> bool:
        target, policy = params.get("targetId"), params.get("policyId")
        for incident in self.incidents:
            for snap in incident.scp:
                touched = {*snap.detach, "p-FullAWSAccess"}
                if snap.target == target and policy in touched and _scp_window(incident, when, self.now):
                    return True
        return False


def _finding(event: dict[str, Any], region: str, kind: str, who: str, detail: str) -> Sighting:
    return Sighting(
        event_id=str(event["EventId"]),
        kind=kind,
        event_name=str(event["EventName"]),
        time=isoformat(_when(event)),
        region=region,
        who=who,
        detail=detail,
    )


def _check(event: dict[str, Any], region: str, role_name: str, users: set[str], match: _Matcher) -> Sighting | None:
    record, name, when = _record(event), event.get("EventName"), _when(event)
    params = record.get("requestParameters") or {}
    who = str((record.get("userIdentity") or {}).get("arn") or event.get("Username") or "?")
    if name == "AssumeRole":
        arn = str(params.get("roleArn", ""))
        if arn.rsplit("/", 1)[-1] == role_name and not match.assume(record, when):
            return _finding(
                event,
                region,
                "assume-role",
                who,
                f"{arn} assumed as session {params.get('roleSessionName')} outside any incident",
            )
        return None
    if name == "ConsoleLogin":
        user = str(event.get("Username") or (record.get("userIdentity") or {}).get("userName") or "")
        if user in users and not match.login(user, when):
            return _finding(event, region, "console-login", who, f"break-glass user {user} signed in to the console")
        return None
    if name in SCP_EVENTS and not (name != "UpdatePolicy" and match.scp(params, when)):
        detail = f"{name} {params.get('policyId')}" + (f" on {params['targetId']}" if params.get("targetId") else "")
        return _finding(event, region, "scp-change", who, f"{detail} made outside breakglass")
    return None


def scan(
    source: EvidenceSource,
    incidents: list[Incident],
    now: datetime,
    since: timedelta,
    role_name: str,
    users: list[str],
    regions: list[str],
) -> list[Sighting]:
    """Every break-glass use or SCP change in the period that no incident explains."""
    match = _Matcher(incidents, now)
    queries = [(r, ("EventName", "AssumeRole")) for r in sorted({GLOBAL_REGION, *regions})]
    queries += [(GLOBAL_REGION, ("EventName", n)) for n in ("ConsoleLogin", *SCP_EVENTS)]
    seen: set[str] = set()
    findings = []
    for region, attribute in queries:
        for event in source.lookup(region, attribute, now - since, now):
            if event["EventId"] in seen:
                continue
            seen.add(str(event["EventId"]))
            found = _check(event, region, role_name, set(users), match)
            if found is not None:
                findings.append(found)
    return sorted(findings, key=lambda f: f.time)
