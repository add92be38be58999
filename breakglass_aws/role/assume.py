"""Role mode, the AWS side: build the AssumeRole request, assume, format credentials, build the
console sign-in URL. Never writes the journal; the lifecycle does, without secrets."""

from __future__ import annotations

import json
import re
import unicodedata
import urllib.parse
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, SecretStr

from breakglass_aws.clock import isoformat
from breakglass_aws.errors import UsageError
from breakglass_aws.nesting import PARENT_ENV
from breakglass_aws.validate import check_text, validate_federation_url

if TYPE_CHECKING:
    from mypy_boto3_sts import STSClient

__all__ = [
    "CHAINED_MAX",
    "AssumeRequest",
    "Credentials",
    "console_url",
    "credential_process_json",
    "env_exports",
    "is_chained",
    "parse_role_arn",
    "role_arn_for",
    "source_identity_for",
    "tag_value_for",
]

ROLE_ARN_RE = re.compile(
    r"\Aarn:(aws|aws-us-gov|aws-cn):iam::([0-9]{12}):role/((?:[\w+=,.@-]+/)*)([\w+=,.@-]{1,64})\Z", re.ASCII
)
ROLE_NAME_RE = re.compile(r"\A[\w+=,.@-]{1,64}\Z", re.ASCII)
MFA_SERIAL_RE = re.compile(
    r"\A(arn:(aws|aws-us-gov|aws-cn):iam::[0-9]{12}:mfa/[\w+=,.@/-]+|GA[A-Z0-9]{8,})\Z", re.ASCII
)
TOKEN_CODE_RE = re.compile(r"\A[0-9]{6}\Z")
SOURCE_IDENTITY_BAD = re.compile(r"[^\w=,.@-]", re.ASCII)
TAG_VALUE_BAD = re.compile(r"[^\w .:/=+@-]", re.ASCII)
TAG_VALUE_MAX = 256
CHAINED_MAX = timedelta(hours=1)
MIN_DURATION = timedelta(minutes=15)
MAX_DURATION = timedelta(hours=12)
FEDERATION_URL = "https://signin.aws.amazon.com/federation"
CONSOLE_URL = "https://console.aws.amazon.com/"


class Credentials(BaseModel):
    """Temporary credentials. The secret parts are SecretStr: they never print by accident."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    access_key_id: str
    secret_access_key: SecretStr
    session_token: SecretStr
    expiration: datetime


class AssumeRequest(BaseModel):
    """Everything sent to AssumeRole except the MFA code (which is never stored)."""

    model_config = ConfigDict(extra="forbid")
    role_arn: str
    session_name: str
    source_identity: str
    duration_seconds: int
    tags: dict[str, str]
    mfa_serial: str | None
    chained: bool
    region: str
    notices: list[str] = []


def parse_role_arn(arn: str) -> tuple[str, str]:
    """(account, role name) of a role ARN, or a usage error."""
    match = ROLE_ARN_RE.fullmatch(arn.strip(" "))
    if not match:
        raise UsageError(f"invalid role ARN {arn!r}", "use arn:aws:iam::123456789012:role/BreakGlassAdmin")
    return match.group(2), match.group(4)


def role_arn_for(account: str, role_name: str) -> str:
    check_text(role_name, "the role name")
    if not ROLE_NAME_RE.fullmatch(role_name):
        raise UsageError(f"invalid role name {role_name!r}", "role names use letters, digits and +=,.@_- only")
    return f"arn:aws:iam::{account}:role/{role_name}"


def validate_mfa_serial(serial: str) -> str:
    if not MFA_SERIAL_RE.fullmatch(serial):
        raise UsageError(f"invalid MFA serial {serial!r}", "use the device ARN: arn:aws:iam::123456789012:mfa/alice")
    return serial


def validate_token_code(code: str) -> str:
    if not TOKEN_CODE_RE.fullmatch(code or ""):
        raise UsageError("the MFA code must be exactly 6 digits", "read the current code from the MFA device")
    return code


def validate_duration(duration: timedelta) -> timedelta:
    if not MIN_DURATION <= duration <= MAX_DURATION:
        raise UsageError(
            f"--duration must be between 15m and 12h, got {int(duration.total_seconds())}s",
            "AWS sessions last 900 s to 12 h",
        )
    return duration


_NO_DECOMPOSITION = str.maketrans(
    {"Ł": "L", "ł": "l", "Ø": "O", "ø": "o", "Đ": "D", "đ": "d", "ß": "ss", "Æ": "AE", "æ": "ae"}
    | {"Œ": "OE", "œ": "oe", "Þ": "Th", "þ": "th", "Ð": "D", "ð": "d", "\u0131": "i"}
)


def ascii_fold(text: str) -> str:
    """Accents dropped ("José Müller" -> "Jose Muller", "Łukasz" -> "Lukasz"), other non-ASCII
    characters removed."""
    folded = unicodedata.normalize("NFKD", text.translate(_NO_DECOMPOSITION))
    return folded.encode("ascii", "ignore").decode()


def source_identity_for(name: str) -> str:
    """SourceIdentity allows ASCII letters, digits and _=,.@- only, 2 to 64 characters."""
    clean = SOURCE_IDENTITY_BAD.sub("-", ascii_fold(name).strip())[:64].strip("-") or "breakglass"
    return clean if len(clean) >= 2 else f"{clean}-bg"


def tag_value_for(text: str) -> str:
    """A session tag value: ASCII letters, digits, spaces and _.:/=+-@ only, at most 256."""
    return TAG_VALUE_BAD.sub("-", ascii_fold(text))[:TAG_VALUE_MAX] or "none"


def is_chained(caller_arn: str) -> bool:
    """Credentials of an assumed role: assuming another role from them is role chaining."""
    return ":assumed-role/" in caller_arn


def session_duration(wanted: timedelta, configured_max: timedelta, chained: bool) -> tuple[int, list[str]]:
    notices = []
    duration = wanted
    if duration > configured_max:
        notices.append(f"duration capped at the configured maximum {int(configured_max.total_seconds())}s")
        duration = configured_max
    if chained and duration > CHAINED_MAX:
        notices.append("role chaining (your credentials are an assumed role): duration capped at 1 hour")
        duration = CHAINED_MAX
    return int(duration.total_seconds()), notices


def assume(sts: STSClient, request: AssumeRequest, token_code: str | None) -> Credentials:
    params: dict[str, Any] = {
        "RoleArn": request.role_arn,
        "RoleSessionName": request.session_name,
        "SourceIdentity": request.source_identity,
        "DurationSeconds": request.duration_seconds,
        "Tags": [{"Key": k, "Value": v} for k, v in request.tags.items()],
    }
    if request.mfa_serial:
        params["SerialNumber"] = request.mfa_serial
        params["TokenCode"] = token_code
    answer = sts.assume_role(**params)["Credentials"]
    return Credentials(
        access_key_id=answer["AccessKeyId"],
        secret_access_key=SecretStr(answer["SecretAccessKey"]),
        session_token=SecretStr(answer["SessionToken"]),
        expiration=answer["Expiration"],
    )


def env_exports(creds: Credentials, region: str) -> str:
    values = {
        "AWS_ACCESS_KEY_ID": creds.access_key_id,
        "AWS_SECRET_ACCESS_KEY": creds.secret_access_key.get_secret_value(),
        "AWS_SESSION_TOKEN": creds.session_token.get_secret_value(),
        "AWS_CREDENTIAL_EXPIRATION": isoformat(creds.expiration),
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
    }
    return "\n".join(f"export {k}='{v}'" for k, v in values.items())


def child_environment(creds: Credentials, region: str, base: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in base.items() if k not in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", PARENT_ENV)}
    for line in env_exports(creds, region).splitlines():
        key, value = line.removeprefix("export ").split("=", 1)
        env[key] = value.strip("'")
    return env


def credential_process_json(creds: Credentials) -> str:
    return json.dumps(
        {
            "Version": 1,
            "AccessKeyId": creds.access_key_id,
            "SecretAccessKey": creds.secret_access_key.get_secret_value(),
            "SessionToken": creds.session_token.get_secret_value(),
            "Expiration": isoformat(creds.expiration),
        }
    )


def credentials_json(creds: Credentials, extra: dict[str, Any]) -> str:
    return json.dumps(
        {
            **extra,
            "AccessKeyId": creds.access_key_id,
            "SecretAccessKey": creds.secret_access_key.get_secret_value(),
            "SessionToken": creds.session_token.get_secret_value(),
            "Expiration": isoformat(creds.expiration),
        },
        indent=2,
    )


HttpGet = Callable[[str], str]


def console_url(
    creds: Credentials, http_get: HttpGet, session_seconds: int | None, federation_url: str = FEDERATION_URL
) -> str:
    """The federation flow: getSigninToken, then a login URL. SessionDuration is omitted for
    credentials obtained by role chaining (pass session_seconds=None). The endpoint is https, or
    plain http to a loopback address: the request carries the session's secret key."""
    validate_federation_url(federation_url)
    session = json.dumps(
        {
            "sessionId": creds.access_key_id,
            "sessionKey": creds.secret_access_key.get_secret_value(),
            "sessionToken": creds.session_token.get_secret_value(),
        }
    )
    query = {"Action": "getSigninToken", "Session": session}
    if session_seconds is not None:
        query["SessionDuration"] = str(min(max(session_seconds, 900), 43200))
    answer = json.loads(http_get(f"{federation_url}?{urllib.parse.urlencode(query)}"))
    login = {
        "Action": "login",
        "Issuer": "breakglass-aws",
        "Destination": CONSOLE_URL,
        "SigninToken": answer["SigninToken"],
    }
    return f"{federation_url}?{urllib.parse.urlencode(login)}"
