"""Root-task input, checked before any AWS call: bucket names (S3's rules), queue URLs, and the
corrected policy a `--replace-with` file holds."""

from __future__ import annotations

import hashlib
import ipaddress
import json
import re
from pathlib import Path
from typing import Any

from breakglass_aws.errors import UsageError
from breakglass_aws.validate import ACCOUNT_RE, REGION_RE, check_text

__all__ = [
    "MAX_POLICY_BYTES",
    "canonical_sha256",
    "parse_queue_url",
    "read_policy_file",
    "same_policy",
    "validate_account",
    "validate_bucket",
]

MAX_POLICY_BYTES = {"bucket": 20 * 1024, "queue": 8 * 1024}  # S3: 20 KB; SQS: 8,192 bytes
BUCKET_RE = re.compile(r"\A[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]\Z")
BUCKET_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
BUCKET_RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")
QUEUE_URL_RE = re.compile(r"\Ahttps://sqs\.([a-z0-9-]+)\.amazonaws\.com/([0-9]{12})/([A-Za-z0-9_-]{1,80}(?:\.fifo)?)\Z")
QUEUE_NAME_MAX = 80


def validate_account(account: str) -> str:
    if not ACCOUNT_RE.fullmatch(account or ""):
        raise UsageError(f"invalid account id {account!r}", "use the member account's 12-digit id")
    return account


def validate_bucket(name: str) -> str:
    """An S3 general purpose bucket name: 3-63 lowercase letters, digits, dots and hyphens,
    starting and ending with a letter or digit, no `..`, not an IP address, no reserved affix."""
    check_text(name, "--bucket")
    hint = "bucket names are 3-63 lowercase letters, digits, dots and hyphens, e.g. my-app-data"
    if not BUCKET_RE.fullmatch(name) or ".." in name or ".-" in name or "-." in name:
        raise UsageError(f"invalid bucket name {name!r}", hint)
    if _is_ip(name) or name.startswith(BUCKET_RESERVED_PREFIXES) or name.endswith(BUCKET_RESERVED_SUFFIXES):
        raise UsageError(f"invalid bucket name {name!r}: S3 reserves this form", hint)
    return name


def _is_ip(name: str) -> bool:
    try:
        ipaddress.IPv4Address(name)
    except ValueError:
        return False
    return True


def parse_queue_url(url: str, account: str) -> tuple[str, str]:
    """(region, queue name) of https://sqs.REGION.amazonaws.com/ACCOUNT/NAME, whose account must
    be --account."""
    check_text(url, "--queue-url")
    hint = "use the queue URL, e.g. https://sqs.eu-west-1.amazonaws.com/111122223333/orders"
    match = QUEUE_URL_RE.fullmatch(url)
    if not match or len(match.group(3)) > QUEUE_NAME_MAX or not REGION_RE.fullmatch(match.group(1)):
        raise UsageError(f"invalid queue URL {url!r}", hint)
    if match.group(2) != account:
        raise UsageError(
            f"the queue URL is in account {match.group(2)}, not --account {account}",
            "give the account that owns the queue (the 12 digits in its URL)",
        )
    return match.group(1), match.group(3)


def read_policy_file(path: Path, kind: str) -> str:
    """The corrected policy: a readable file of at most the service's size limit, holding a JSON
    object with a Statement. Returned as written (AWS keeps the text it is given)."""
    limit = MAX_POLICY_BYTES[kind]
    try:
        data = path.read_bytes()
    except OSError as err:
        raise UsageError(
            f"cannot read --replace-with {path}: {err.strerror or err}", "give a readable policy file"
        ) from None
    if len(data) > limit:
        raise UsageError(
            f"--replace-with {path} is {len(data)} bytes: a {kind} policy holds at most {limit}",
            "shorten the policy (or delete the policy instead: leave out --replace-with)",
        )
    try:
        text = data.decode("utf-8")
        document = json.loads(text)
    except (UnicodeDecodeError, ValueError) as err:
        raise UsageError(
            f"--replace-with {path} is not valid JSON: {_first_line(err)}", "fix the policy file"
        ) from None
    if not isinstance(document, dict) or not isinstance(document.get("Statement"), list | dict):
        raise UsageError(
            f"--replace-with {path} is not a policy: a JSON object with a Statement is expected",
            'write {"Version": "2012-10-17", "Statement": [...]}',
        )
    if not document["Statement"]:
        raise UsageError(
            f"--replace-with {path} has no statement: AWS refuses an empty policy",
            "to remove the policy, leave out --replace-with (the policy is deleted)",
        )
    return text


def _first_line(err: Exception) -> str:
    return str(err).splitlines()[0] if str(err) else type(err).__name__


def _canonical(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def canonical_sha256(text: str) -> str:
    """The SHA-256 of a policy as JSON with sorted keys and no spacing (AWS may return the text it
    was given reformatted), or of the text itself if it is not JSON."""
    value = _canonical(text)
    shown = value if isinstance(value, str) else json.dumps(value, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(shown.encode()).hexdigest()


def same_policy(current: str | None, wanted: str | None) -> bool:
    if current is None or wanted is None:
        return current is wanted
    return canonical_sha256(current) == canonical_sha256(wanted)
