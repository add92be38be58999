"""Input validation that runs before any AWS call: ids, durations, regions, free text."""

from __future__ import annotations

import ipaddress
import re
import unicodedata
import urllib.parse
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path

from breakglass_aws.errors import ConfigError, UsageError

__all__ = [
    "StoreAddress",
    "TableAddress",
    "TargetKind",
    "check_text",
    "format_duration",
    "parse_bucket_setting",
    "parse_duration",
    "parse_s3_url",
    "parse_store",
    "parse_timestamp",
    "validate_federation_url",
    "validate_iam_name",
    "validate_incident_id",
    "validate_policy_id",
    "validate_reason",
    "validate_region",
    "validate_target",
    "validate_ticket",
]

# Every pattern is anchored at both ends (\A ... \Z: `$` would also match before a final newline)
# and ASCII-only ([0-9], re.ASCII: `\d` and `\w` would accept other scripts' digits and letters),
# so a caller using .match() is as strict as one using .fullmatch().
ACCOUNT_RE = re.compile(r"\A[0-9]{12}\Z")
OU_RE = re.compile(r"\Aou-[0-9a-z]{4,32}-[a-z0-9]{8,32}\Z")
ROOT_RE = re.compile(r"\Ar-[0-9a-z]{4,32}\Z")
POLICY_RE = re.compile(r"\Ap-[0-9a-zA-Z_]{8,128}\Z")
REGION_RE = re.compile(r"\A[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]{1,2}\Z")
INCIDENT_RE = re.compile(r"\Abg-[0-9]{8}-[0-9]{6}-[0-9a-f]{6}\Z")
DURATION_RE = re.compile(r"\A(?:([0-9]+)d)?(?:([0-9]+)h)?(?:([0-9]+)m)?(?:([0-9]+)s)?\Z")
TICKET_RE = re.compile(r"\A[A-Za-z0-9_.:/#@+-]{1,128}\Z")
IAM_NAME_RE = re.compile(r"\A[A-Za-z0-9_+=,.@-]{1,64}\Z")
TABLE_RE = re.compile(r"\A[A-Za-z0-9_.-]{3,255}\Z")
SCHEME_RE = re.compile(r"\A([A-Za-z][A-Za-z0-9+.-]*):")
MAX_REASON = 1024


class TargetKind(StrEnum):
    ACCOUNT = "account"
    OU = "ou"
    ROOT = "root"


def validate_target(target: str) -> TargetKind:
    """Classify an SCP target id or raise a usage error naming the accepted forms."""
    value = target.strip(" ")
    if ACCOUNT_RE.fullmatch(value):
        return TargetKind.ACCOUNT
    if OU_RE.fullmatch(value):
        return TargetKind.OU
    if ROOT_RE.fullmatch(value):
        return TargetKind.ROOT
    raise UsageError(
        f"invalid target {target!r}",
        "use a 12-digit account id, an OU id (ou-xxxx-xxxxxxxx) or a root id (r-xxxx)",
    )


def validate_policy_id(policy_id: str) -> str:
    if not POLICY_RE.fullmatch(policy_id):
        raise UsageError(
            f"invalid policy id {policy_id!r}",
            "policy ids look like p-abcd1234; list them with: aws organizations list-policies",
        )
    return policy_id


def validate_region(region: str) -> str:
    if not REGION_RE.fullmatch(region):
        raise UsageError(f"invalid region {region!r}", "use an AWS region name such as us-east-1 or eu-west-1")
    return region


def validate_incident_id(incident_id: str) -> str:
    if not INCIDENT_RE.fullmatch(incident_id):
        raise UsageError(
            f"invalid incident id {incident_id!r}",
            "incident ids look like bg-20260101-120000-a1b2c3; see: breakglass list",
        )
    return incident_id


def validate_reason(reason: str | None) -> str:
    text = check_text(reason or "", "--reason").strip()
    if not text:
        raise UsageError(
            "--reason is required and must not be empty", "say why, e.g. --reason 'INC-42 SCP blocks rollback'"
        )
    if len(text) > MAX_REASON:
        raise UsageError(
            f"--reason must be one line of at most {MAX_REASON} characters, got {len(text)}",
            "put the details in the ticket and reference it with --ticket",
        )
    return text


def validate_ticket(ticket: str | None) -> str | None:
    if ticket is None:
        return None
    check_text(ticket, "--ticket")
    if not TICKET_RE.fullmatch(ticket):
        raise UsageError(
            f"invalid ticket reference {ticket!r}",
            "use ASCII letters, digits and ._:/#@+- only, at most 128 characters (e.g. INC-1234)",
        )
    return ticket


def validate_iam_name(name: str, what: str) -> str:
    """An IAM role or user name: ASCII letters, digits and +=,.@_-, 1 to 64 characters."""
    check_text(name, what)
    if not IAM_NAME_RE.fullmatch(name):
        raise UsageError(
            f"invalid {what} {name!r}", "IAM names use ASCII letters, digits and +=,.@_- only, at most 64 characters"
        )
    return name


# --- free text: reason, ticket, comment, names ------------------------------------------------

# Characters no recorded text may hold: C0/C1 controls and DEL (Cc), invisible formatting such as
# bidi overrides and isolates, zero-width characters and the BOM (Cf), lone surrogates left by
# bytes that were not UTF-8 (Cs), and line/paragraph separators (Zl, Zp). They hide or reorder
# what a reviewer reads in the journal, a notification or a terminal.
REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
ZERO_WIDTH_JOINER = "\u200d"
EMOJI_TAGS = range(0xE0020, 0xE0080)  # subdivision flags: U+1F3F4 followed by tag letters
BLACK_FLAG = "\U0001f3f4"
CONTROL_NAMES = {
    0x00: "NULL",
    0x07: "BELL",
    0x08: "BACKSPACE",
    0x09: "CHARACTER TABULATION",
    0x0A: "LINE FEED",
    0x0B: "LINE TABULATION",
    0x0C: "FORM FEED",
    0x0D: "CARRIAGE RETURN",
    0x1B: "ESCAPE",
    0x7F: "DELETE",
    0x85: "NEXT LINE",
    0x9B: "CONTROL SEQUENCE INTRODUCER",
    0x9D: "OPERATING SYSTEM COMMAND",
}


def check_text(value: str, what: str) -> str:
    """Refuse a control, invisible formatting or line-separator character, naming where it is.

    Letters and symbols of any script (accents, CJK, emoji, joined emoji) are kept."""
    position = first_refused(value)
    if position is None:
        return value
    char = value[position]
    name = unicodedata.name(char, None) or CONTROL_NAMES.get(ord(char))
    described = f"U+{ord(char):04X}" + (f" ({name})" if name else "")
    kind = "an invalid character" if unicodedata.category(char) == "Cs" else "a control character"
    raise UsageError(
        f"{what} contains {kind} {described} at position {position + 1}",
        f"{what} must be one line of visible text: retype it (text pasted from a chat or a web page "
        "can carry invisible characters)",
    )


def first_refused(value: str) -> int | None:
    """Index of the first character `check_text` refuses, or None."""
    for index, char in enumerate(value):
        if unicodedata.category(char) in REFUSED_CATEGORIES and not _part_of_emoji(value, index):
            return index
    return None


def _part_of_emoji(text: str, index: int) -> bool:
    """A zero-width joiner between two pictographs (👩‍💻, 🏳️‍🌈) or the tag letters of a
    subdivision flag belong to one emoji: they hide nothing."""
    char = text[index]
    if ord(char) in EMOJI_TAGS:
        start = index
        while start > 0 and ord(text[start - 1]) in EMOJI_TAGS:
            start -= 1
        return start > 0 and text[start - 1] == BLACK_FLAG
    if char != ZERO_WIDTH_JOINER or index == 0 or index + 1 >= len(text):
        return False
    before = text[index - 2] if text[index - 1] == "\ufe0f" and index >= 2 else text[index - 1]
    return _pictograph(before, modifier_ok=True) and _pictograph(text[index + 1])


def _pictograph(char: str, modifier_ok: bool = False) -> bool:
    category = unicodedata.category(char)
    return ord(char) > 0x7F and (category == "So" or (modifier_ok and 0x1F3FB <= ord(char) <= 0x1F3FF))


# --- the store setting ------------------------------------------------------------------------

STORE_FORMS = (
    'use store = "dynamodb://TABLE", "dynamodb://TABLE?region=R", "sqlite:///ABSOLUTE/PATH" or an '
    'absolute path such as "/var/lib/breakglass/journal.sqlite3" or "~/.local/state/breakglass/journal.sqlite3"'
)


@dataclass(frozen=True)
class TableAddress:
    """The shared DynamoDB table of a `store` setting (its region pinned or not)."""

    table: str
    region: str | None = None


StoreAddress = TableAddress | Path  # a parsed `store` setting: the shared table, or a SQLite file


def parse_store(spec: str | Path) -> StoreAddress:
    """Strictly one of `dynamodb://TABLE`, `dynamodb://TABLE?region=R`, `sqlite:///ABSOLUTE/PATH`,
    or an absolute path (or one starting with ~). Anything else would silently become a SQLite
    file named after it in whatever the current directory is: the team's lock bypassed."""
    text = str(spec)
    if text != text.strip() or first_refused(text) is not None:
        clean = text.strip()
        guess = clean if clean and first_refused(clean) is None else None
        raise _store_error(text, "it has surrounding spaces or a control character", guess)
    scheme = SCHEME_RE.match(text)
    if scheme is None:
        return _absolute(text)
    name, rest = scheme.group(1), text[scheme.end() :]
    if name == "dynamodb" and rest.startswith("//"):
        return _dynamodb_store(text, rest[2:])
    if name == "sqlite" and rest.startswith("//"):
        path = rest[2:]
        if not path.startswith("/") or "?" in path or "#" in path:
            raise _store_error(text, "sqlite:// takes an absolute path and nothing else (three slashes)")
        return Path(path)
    guess = f"dynamodb://{rest.lstrip('/')}" if name.lower().startswith(("dynamo", "ddb")) else None
    raise _store_error(text, f"unknown scheme {name + ':'!r}", guess)


def _absolute(text: str) -> Path:
    try:
        path = Path(text).expanduser() if text.startswith("~") else Path(text)
    except RuntimeError as err:  # ~user with no such user, or no home directory
        raise _store_error(text, "its home directory is unknown") from err
    if not path.is_absolute():
        guess = f"dynamodb://{text}" if TABLE_RE.fullmatch(text) and "." not in text else None
        raise _store_error(text, "a relative path would land in whatever the current directory is", guess)
    return path


def _dynamodb_store(text: str, rest: str) -> TableAddress:
    table, has_query, query = rest.partition("?")
    if not TABLE_RE.fullmatch(table):
        raise _store_error(text, "a DynamoDB table name is 3 to 255 of A-Z a-z 0-9 _ . -")
    if not has_query:
        return TableAddress(table)
    key, has_value, region = query.partition("=")
    if key != "region" or not has_value:
        raise _store_error(text, "the only option is ?region=REGION")
    if not REGION_RE.fullmatch(region):
        raise ConfigError(f"invalid store region {region!r}", "use a region name such as us-east-1")
    return TableAddress(table, region)


def _store_error(text: str, why: str, guess: str | None = None) -> ConfigError:
    hint = f"did you mean {guess!r}? " if guess else ""
    return ConfigError(f"invalid store {text!r}: {why}", hint + STORE_FORMS)


# --- the console federation endpoint ----------------------------------------------------------

FEDERATION_HINT = (
    "use https://signin.aws.amazon.com/federation; plain http only to a loopback address "
    "(127.0.0.1 to 127.255.255.254, or [::1]) for a local stub"
)


def validate_federation_url(url: str, what: str = "federation_url") -> str:
    """https://HOST[/PATH], or http:// to a loopback address given as an address: the sign-in
    request carries the session's secret key. `localhost` names, userinfo and lookalike hosts
    (http://127.0.0.1.example, http://127.0.0.1@example) are refused."""
    if url != url.strip() or first_refused(url) is not None:
        raise UsageError(f"invalid {what} {url!r}: it has spaces or control characters", FEDERATION_HINT)
    try:
        parts = urllib.parse.urlsplit(url)
        host, _ = parts.hostname, parts.port
    except ValueError as err:
        raise UsageError(f"invalid {what} {url!r}: {err}", FEDERATION_HINT) from err
    if parts.query or parts.fragment or not host:
        raise UsageError(f"invalid {what} {url!r}: it needs a host and takes no query or fragment", FEDERATION_HINT)
    if parts.scheme == "https":
        return url
    if parts.scheme == "http" and parts.username is None and _loopback(host):
        return url
    raise UsageError(
        f"refusing {what} {url!r}: the sign-in request carries the session's secret key, "
        "so it goes over https (or plain http to a loopback address)",
        FEDERATION_HINT,
    )


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


MAX_DURATION_SECONDS = 366 * 24 * 3600  # no emergency lasts longer; also keeps datetimes in range


def parse_duration(text: str, *, what: str = "duration") -> timedelta:
    """Parse '90m', '1h', '1h30m', '3600s', '2d' or a bare number of seconds."""
    value = text.strip(" ").lower()
    if value.isascii() and value.isdigit():
        seconds = int(value)
    else:
        match = DURATION_RE.fullmatch(value)
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


S3_URL = re.compile(r"\As3://([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:/([ -~]*))?\Z")  # printable ASCII prefix


def parse_s3_url(url: str) -> tuple[str, str]:
    match = S3_URL.fullmatch(url.strip(" "))
    if not match:
        raise UsageError(f"invalid S3 URL {url!r}", "use s3://bucket/prefix")
    return match.group(1), (match.group(2) or "").strip("/")


def parse_bucket_setting(value: str) -> tuple[str, str]:
    """The evidence_bucket setting: `s3://BUCKET[/PREFIX]`, or a bare bucket name (as the
    control-plane module's `evidence_bucket` output gives it)."""
    return parse_s3_url(value if value.startswith("s3://") else f"s3://{value}")
