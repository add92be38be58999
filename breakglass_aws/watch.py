"""Out-of-band detection: uses of break-glass principals and SCP changes that match no incident."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict

from breakglass_aws.clock import isoformat
from breakglass_aws.evidence.source import EvidenceSource
from breakglass_aws.models import Incident, Mode

__all__ = ["Finding", "scan"]

GLOBAL_REGION = "us-east-1"
SCP_EVENTS = ("AttachPolicy", "DetachPolicy", "UpdatePolicy")
MARGIN = timedelta(minutes=5)


class Finding(BaseModel):
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


def _in_window(incident: Incident, when: datetime, now: datetime) -> bool:
    return incident.created_at - MARGIN <= when <= (incident.closed_at or now) + MARGIN


class _Matcher:
    def __init__(self, incidents: list[Incident], now: datetime) -> None:
        self.incidents, self.now = incidents, now

    def assume(self, params: dict[str, Any]) -> bool:
        session = params.get("roleSessionName")
        return any(
            i.role is not None and i.role.session_name == session and i.role.role_arn == params.get("roleArn")
            for i in self.incidents
            if i.mode is Mode.ROLE
        )

    def login(self, user: str, when: datetime) -> bool:
        return any(
            i.requester.arn.endswith(f":user/{user}") and _in_window(i, when, self.now)
            for i in self.incidents
            if i.mode is Mode.ROLE
        )

    def scp(self, params: dict[str, Any], when: datetime) -> bool:
        target, policy = params.get("targetId"), params.get("policyId")
        for incident in self.incidents:
            for snap in incident.scp:
                touched = {*snap.detach, "p-FullAWSAccess"}
                if snap.target == target and policy in touched and _in_window(incident, when, self.now):
                    return True
        return False


def _finding(event: dict[str, Any], region: str, kind: str, who: str, detail: str) -> Finding:
    return Finding(
        event_id=str(event["EventId"]),
        kind=kind,
        event_name=str(event["EventName"]),
        time=isoformat(_when(event)),
        region=region,
        who=who,
        detail=detail,
    )


def _check(event: dict[str, Any], region: str, role_name: str, users: set[str], match: _Matcher) -> Finding | None:
    record, name, when = _record(event), event.get("EventName"), _when(event)
    params = record.get("requestParameters") or {}
    who = str((record.get("userIdentity") or {}).get("arn") or event.get("Username") or "?")
    if name == "AssumeRole":
        arn = str(params.get("roleArn", ""))
        if arn.rsplit("/", 1)[-1] == role_name and not match.assume(params):
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
) -> list[Finding]:
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
