"""Evidence bundles for the report tests: a closed role incident journaled in SQLite (its
transitions, the revocation, a rotation), collected through the EvidenceSource interface from
events seeded at fixed moments, so every count and time in the report is known."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from breakglass_aws.aws import ClientFactory
from breakglass_aws.incident.evidence import EvidenceOptions, collect_evidence
from breakglass_aws.journal import SqliteStore
from breakglass_aws.models import Incident, IncidentStatus, IssuedSession, Mode, Requester, RoleAccess
from breakglass_aws.runtime import Runtime

ACCOUNT = "123456789012"
OPENED = datetime(2026, 3, 1, 3, 0, tzinfo=UTC)
CLOSED = OPENED + timedelta(minutes=30)
INCIDENT_ID = "bg-20260301-030000-a1b2c3"
SESSION = f"breakglass-{INCIDENT_ID}"
KEY = "ASIASESSIONKEY000001"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/BreakGlassAdmin"
REQUESTER = "alice"
SECRET = "breakglass/breakglass-1"


def at(minutes: float) -> datetime:
    return OPENED + timedelta(minutes=minutes)


def incident(reason: str = "IdP down", ticket: str = "INC-42") -> Incident:
    return Incident(
        incident_id=INCIDENT_ID,
        mode=Mode.ROLE,
        status=IncidentStatus.CLOSED,
        status_reason="closed",
        requester=Requester(
            arn=f"arn:aws:iam::{ACCOUNT}:user/{REQUESTER}", account=ACCOUNT, user_id="AIDAALICE", name=REQUESTER
        ),
        reason=reason,
        ticket=ticket,
        targets=[ROLE_ARN],
        created_at=OPENED,
        expires_at=OPENED + timedelta(hours=1),
        closed_at=CLOSED,
        role=RoleAccess(
            role_arn=ROLE_ARN,
            session_name=SESSION,
            source_identity=REQUESTER,
            region="eu-west-1",
            duration_seconds=3600,
            chained=False,
            sessions=[IssuedSession(access_key_id=KEY, expiration=at(60), issued_at=at(0))],
            revoked_before=CLOSED,
        ),
    )


def _step(action: str, **fields: Any) -> dict[str, Any]:
    return {"action": action, **fields}


def journal(store: SqliteStore, record: Incident, moments: list[datetime]) -> None:
    """What opening, closing (revoke, rotate) and restoring write, each part at its own moment."""
    rotation = {"user": "breakglass-1", "secret_id": SECRET, "rotation_id": f"{INCIDENT_ID}:breakglass-1"}
    revoke = _step("revoke-sessions", role_name="BreakGlassAdmin", role_arn=ROLE_ARN, cutoff="2026-03-01T03:30:00Z")
    moments.append(OPENED)
    opened = record.model_copy(update={"status": IncidentStatus.ACTIVE, "closed_at": None})
    store.create_incident(opened, entries=[("opened", {"incident": opened.public()})])
    store.append_many(
        INCIDENT_ID,
        [
            ("outcome", {"ok": True, "step": _step("assume-role", role_arn=ROLE_ARN, session_name=SESSION)}),
            ("activated", {"expires_at": "2026-03-01T04:00:00Z"}),
        ],
    )
    moments.append(CLOSED)
    store.append_many(
        INCIDENT_ID,
        [
            ("status:closing", {"reason": "closing"}),
            ("outcome", {"ok": True, "step": revoke}),
            (
                "verified",
                {"cutoff": "2026-03-01T03:30:00Z", "policy_name": "AWSRevokeOlderSessions", "role_arn": ROLE_ARN},
            ),
            ("intent", {"step": _step("create-key", key_id=None, **rotation)}),
            ("outcome", {"ok": True, "step": _step("create-key", key_id=None, **rotation)}),
            ("outcome", {"ok": True, "step": _step("delete-key", key_id="AKIAOLDKEY0000000001", **rotation)}),
            (
                "verified",
                {
                    "active_key_id": "AKIANEWKEY0000000001",
                    "old_keys_gone": ["AKIAOLDKEY0000000001"],
                    "rotation_id": f"{INCIDENT_ID}:breakglass-1",
                    "secret_key_id": "AKIANEWKEY0000000001",
                },
            ),
            ("close-step", {"name": "revoke"}),
            ("status:closed", {"reason": "closed"}),
        ],
    )
    store.save_incident(record)


def event(
    n: int,
    name: str,
    when: datetime,
    source: str = "s3",
    *,
    username: str = SESSION,
    key: str | None = KEY,
    read_only: bool | None = None,
    error: str | None = None,
    params: dict[str, Any] | None = None,
    region: str = "us-east-1",
    message: str | None = None,
) -> dict[str, Any]:
    """A LookupEvents record (EventTime a datetime, as the SDK gives it) with its CloudTrailEvent."""
    detail: dict[str, Any] = {
        "eventName": name,
        "eventSource": f"{source}.amazonaws.com",
        "requestParameters": params or {},
        "userIdentity": {"accessKeyId": key, "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/BreakGlassAdmin/{username}"},
    }
    if error:
        detail["errorCode"] = error
    if message:
        detail["errorMessage"] = message
    record = {
        "EventId": f"evt-{n:06d}",
        "EventName": name,
        "EventSource": f"{source}.amazonaws.com",
        "EventTime": when,
        "Username": username,
        "AccessKeyId": key,
        "CloudTrailEvent": json.dumps(detail),
        "region": region,
    }
    if read_only is not None:
        record["ReadOnly"] = "true" if read_only else "false"
    return record


class Seeded:
    """The EvidenceSource interface over seeded events: those matching the lookup attribute."""

    def __init__(self, events: list[dict[str, Any]]) -> None:
        self.events = events

    def lookup(self, region: str, attribute: tuple[str, str], start: datetime, end: datetime) -> Any:
        key, value = attribute
        for item in self.events:
            if item["region"] == region and item.get(key) == value and start <= item["EventTime"] <= end:
                yield {k: v for k, v in item.items() if k != "region"}


def seeded_events() -> list[dict[str, Any]]:
    """61 events: 57 with the break-glass credentials, 3 by the requester (the tool), 1 by another principal."""
    found = [event(n, "GetObject", at(1 + n / 10), read_only=True, params={"bucketName": "data"}) for n in range(40)]
    found += [event(100 + n, "RunInstances", at(5), "ec2", read_only=False) for n in range(7)]
    found += [event(200 + n, "TerminateInstances", at(6), "ec2", read_only=False) for n in range(2)]
    found.append(event(202, "TerminateInstances", at(6), "ec2", read_only=False, error="Client.UnauthorizedOperation"))
    found += [event(300 + n, "PutUserPolicy", at(8), "iam", params={"userName": "someone"}) for n in range(2)]
    found.append(event(400, "StopLogging", at(9), "cloudtrail", params={"name": "org-trail"}))
    found.append(event(500, "GetSecretValue", at(10), "secretsmanager", read_only=True, params={"secretId": SECRET}))
    found.append(
        event(
            600,
            "DeleteRolePolicy",
            at(35),
            "iam",
            params={"roleName": "BreakGlassAdmin", "policyName": "AWSRevokeOlderSessions"},
            error="AccessDenied",
            message="not authorized: explicit deny",
        )
    )
    found.append(event(700, "ListBuckets", at(-2), read_only=True))
    found.append(event(800, "Decrypt", at(12), "kms", read_only=True, error="ThrottlingException"))
    tool = {"username": REQUESTER, "key": None}
    found.append(event(900, "PutRolePolicy", at(30), "iam", **tool, params={"roleName": "BreakGlassAdmin"}))
    found.append(event(901, "CreateAccessKey", at(30), "iam", **tool, params={"userName": "breakglass-1"}))
    found.append(event(902, "GetCallerIdentity", at(0), "sts", **tool, read_only=True))
    found.append(event(903, "DeleteRolePolicy", at(10), "iam", username="mallory", key=None))
    return found


# attacker-controlled text, as the escaping tests put it into event fields
SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
BIDI = "\u202e\u202a\u202b\u202c\u202d\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
INVISIBLE = "\u200b\u2028\u2029\ufeff\x00\x1b"
MARKUP = "a|b `code` *em* _u_ [x](http://evil.example/) ![i](x) www.evil.example &amp; <b>"


def hostile_events() -> list[dict[str, Any]]:
    """Four calls with the break-glass credentials whose every shown field is hostile."""
    fields: dict[str, Any] = {
        "params": {"bucketName": SCRIPT, "key": IMG + BIDI, "note": MARKUP, "zero": INVISIBLE},
        "message": f"{SCRIPT} {IMG} {BIDI}gnp.exe {INVISIBLE} {MARKUP}",
    }
    return [
        event(1, SCRIPT, at(1), "s3", read_only=False, **fields),
        event(2, IMG, at(2), IMG, read_only=False, error="AccessDenied" + SCRIPT, **fields),
        event(3, "Get\u202eObject" + MARKUP, at(3), "s3\u2066" + SCRIPT, read_only=True, **fields),
        event(4, "DeleteTrail", at(40), "cloudtrail", error=IMG + BIDI, **fields),
    ]


def make_bundle(
    tmp_path: Path,
    events: list[dict[str, Any]],
    record: Incident | None = None,
    entries: list[tuple[str, dict[str, Any]]] | None = None,
) -> Path:
    """Journal the incident (the role incident's journal, or `entries`), then collect its bundle
    an hour after the opening (final)."""
    moments: list[datetime] = [OPENED]
    store = SqliteStore(tmp_path / "journal.sqlite3", lambda: moments[-1])
    if entries is None:
        journal(store, record or incident(), moments)
    else:
        store.create_incident(record or incident(), entries=entries)
    rt = Runtime(factory=ClientFactory(), store=store, clock=lambda: at(60))
    folder = tmp_path / "evidence" / INCIDENT_ID
    collect_evidence(rt, INCIDENT_ID, folder, EvidenceOptions(), source=Seeded(events))
    return folder


class Page(HTMLParser):
    """The parts of a report the tests read: tags with their attributes, the text, the tables with
    an id (rows of cells) and the label/value tables in order (dicts)."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.tables: dict[str, list[list[str]]] = {}
        self.facts: list[dict[str, str]] = []
        self.sections: list[str] = []
        self._rows: list[list[str]] | None = None
        self._cell: list[str] | None = None
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        self.tags.append((tag, attributes))
        if tag == "section":
            self.sections.append(str(attributes.get("id")))
        elif tag == "table":
            self._rows = []
            if attributes.get("id"):
                self.tables[str(attributes["id"])] = self._rows
        elif tag == "tr" and self._rows is not None:
            self._rows.append([])
        elif tag in ("td", "th") and self._rows is not None:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._rows is not None and self._cell is not None:
            self._rows[-1].append("".join(self._cell))
            self._cell = None
        elif tag == "table" and self._rows is not None:
            if not any(rows is self._rows for rows in self.tables.values()):
                self.facts.append({row[0]: row[1] for row in self._rows if len(row) == 2})
            self._rows = None

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)

    def rows(self, table: str) -> list[list[str]]:
        """The body rows (the header row left out)."""
        return self.tables[table][1:]

    def all_text(self) -> str:
        return "".join(self.text)
