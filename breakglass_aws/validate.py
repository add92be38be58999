"""Input validation that runs before any AWS call: ids, durations, regions, free text."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from breakglass_aws.errors import UsageError

__all__ = [
    "TargetKind",
    "format_duration",
    "parse_duration",
    "parse_timestamp",
    "validate_incident_id",
    "validate_policy_id",
    "validate_reason",
    "validate_region",
    "validate_target",
    "validate_ticket",
]

ACCOUNT_RE = re.compile(r"^\d{12}$")
OU_RE = re.compile(r"^ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}$")
ROOT_RE = re.compile(r"^r-[0-9a-z]{4,32}$")
POLICY_RE = re.compile(r"^p-[0-9a-zA-Z_]{8,128}$")
REGION_RE = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d{1,2}$")
INCIDENT_RE = re.compile(r"^bg-\d{8}-\d{6}-[0-9a-f]{6}$")
DURATION_RE = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
TICKET_RE = re.compile(r"^[\w.:/#@+-]{1,128}$")
MAX_REASON = 1024


class TargetKind(StrEnum):
    ACCOUNT = "account"
    OU = "ou"
    ROOT = "root"


def validate_target(target: str) -> TargetKind:
    """Classify an SCP target id or raise a usage error naming the accepted forms."""
    value = target.strip()
    if ACCOUNT_RE.match(value):
        return TargetKind.ACCOUNT
    if OU_RE.match(value):
        return TargetKind.OU
    if ROOT_RE.match(value):
        return TargetKind.ROOT
    raise UsageError(
        f"invalid target {target!r}",
        "use a 12-digit account id, an OU id (ou-xxxx-xxxxxxxx) or a root id (r-xxxx)",
    )


def validate_policy_id(policy_id: str) -> str:
    if not POLICY_RE.match(policy_id):
        raise UsageError(
            f"invalid policy id {policy_id!r}",
            "policy ids look like p-abcd1234; list them with: aws organizations list-policies",
        )
    return policy_id


def validate_region(region: str) -> str:
    if not REGION_RE.match(region):
        raise UsageError(f"invalid region {region!r}", "use an AWS region name such as us-east-1 or eu-west-1")
    return region


def validate_incident_id(incident_id: str) -> str:
    if not INCIDENT_RE.match(incident_id):
        raise UsageError(
            f"invalid incident id {incident_id!r}",
            "incident ids look like bg-20260101-120000-a1b2c3; see: breakglass list",
        )
    return incident_id


def validate_reason(reason: str | None) -> str:
    text = (reason or "").strip()
    if not text:
        raise UsageError(
            "--reason is required and must not be empty", "say why, e.g. --reason 'INC-42 SCP blocks rollback'"
        )
    if len(text) > MAX_REASON or any(ord(c) < 32 for c in text):
        raise UsageError(
            "--reason must be one line of at most 1024 printable characters",
            "put the details in the ticket and reference it with --ticket",
        )
    return text


def validate_ticket(ticket: str | None) -> str | None:
    if ticket is None:
        return None
    if not TICKET_RE.match(ticket):
        raise UsageError(
            f"invalid ticket reference {ticket!r}",
            "use letters, digits and ._:/#@+- only, at most 128 characters (e.g. INC-1234)",
        )
    return ticket


MAX_DURATION_SECONDS = 366 * 24 * 3600  # no emergency lasts longer; also keeps datetimes in range


def parse_duration(text: str, *, what: str = "duration") -> timedelta:
    """Parse '90m', '1h', '1h30m', '3600s', '2d' or a bare number of seconds."""
    value = text.strip().lower()
    if value.isdigit():
        seconds = int(value)
    else:
        match = DURATION_RE.match(value)
        if not value or not match or not any(match.groups()):
            raise UsageError(f"invalid {what} {text!r}", "use a duration such as 30m, 1h, 1h30m or 2d")
        days, hours, minutes, secs = (int(g) if g else 0 for g in match.groups())
        seconds = ((days * 24 + hours) * 60 + minutes) * 60 + secs
    if seconds <= 0:
        raise UsageError(f"{what} must be positive, got {text!r}", "use a duration such as 30m or 1h")
    if seconds > MAX_DURATION_SECONDS:
        raise UsageError(f"{what} {text!r} is longer than a year", "use a duration such as 1h, 12h or 7d")
    return timedelta(seconds=seconds)


def parse_timestamp(text: str) -> datetime:
    """An ISO 8601 instant; naive values are taken as UTC."""
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError as err:
        raise UsageError(f"invalid timestamp {text!r}", "use ISO 8601, e.g. 2026-11-29T03:00:00Z") from err
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def format_duration(delta: timedelta) -> str:
    total = int(delta.total_seconds())
    sign = "-" if total < 0 else ""
    total = abs(total)
    hours, rem = divmod(total, 3600)
    minutes, seconds = divmod(rem, 60)
    parts = [
        f"{hours}h" if hours else "",
        f"{minutes}m" if minutes else "",
        f"{seconds}s" if seconds and not hours else "",
    ]
    return sign + ("".join(parts) or "0s")
