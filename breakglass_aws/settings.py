"""Settings: command-line flag > environment (BREAKGLASS_*) > TOML file > default.

An unknown key anywhere (file or BREAKGLASS_* variable) is an error: in a security tool a typo
must never be silently ignored.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from collections.abc import Callable, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from breakglass_aws.errors import BreakglassError, ConfigError
from breakglass_aws.models import LockMode
from breakglass_aws.nesting import PARENT_ENV
from breakglass_aws.validate import (
    TableAddress,
    check_text,
    parse_duration,
    parse_store,
    validate_federation_url,
    validate_iam_name,
    validate_region,
)

__all__ = ["Settings", "default_config_path", "default_state_dir", "load_settings"]

ENV_PREFIX = "BREAKGLASS_"
META_ENV = {"BREAKGLASS_CONFIG", PARENT_ENV}


def _xdg(var: str, fallback: str, environ: Mapping[str, str] | None = None) -> Path:
    """A relative XDG_* value is ignored, as the XDG spec says: it would depend on the current directory."""
    value = (os.environ if environ is None else environ).get(var)
    return Path(value) if value and Path(value).is_absolute() else Path.home() / fallback


class _Invalid(ValueError):
    """A setting refused by one of the tool's validators: its message and hint are kept."""

    def __init__(self, error: BreakglassError) -> None:
        super().__init__(error.message)
        self.error = error


def _checked(check: Callable[..., object], *args: Any) -> None:
    try:
        check(*args)
    except BreakglassError as err:
        raise _Invalid(err) from err


def default_config_path(environ: Mapping[str, str] | None = None) -> Path:
    return _xdg("XDG_CONFIG_HOME", ".config", environ) / "breakglass" / "config.toml"


def default_state_dir() -> Path:
    return _xdg("XDG_STATE_HOME", ".local/state") / "breakglass"


class Settings(BaseModel):
    """Every setting the tool reads. Field names are the TOML keys and the env suffixes."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    profile: str | None = None
    region: str | None = None
    output: Literal["text", "json"] = "text"
    store: str | None = Field(
        default=None,
        description="dynamodb://TABLE[?region=R], sqlite:///PATH or an absolute SQLite file path (default: state dir)",
    )
    store_region: str | None = Field(
        default=None, description="region of a dynamodb:// store (default: the profile's region, not --region)"
    )
    default_ttl: str = "1h"
    max_ttl: str = "24h"
    retry_mode: Literal["standard", "adaptive"] = "standard"
    max_attempts: int = Field(default=5, ge=1, le=20)
    connect_timeout: float = Field(default=5.0, gt=0, le=120)
    read_timeout: float = Field(default=30.0, gt=0, le=600)
    control_plane_timeout: float = Field(default=4.0, gt=0, le=60)
    control_plane_attempts: int = Field(default=3, ge=1, le=10)
    requester_name: str | None = None
    role_name: str = "BreakGlassAdmin"
    mfa_serial: str | None = None
    role_duration: str = "1h"
    max_role_duration: str = "4h"
    sts_regions: list[str] = Field(
        default_factory=lambda: ["us-east-1", "us-west-2", "eu-west-1"],
        description="role assume tries these STS endpoints, in order, when its region's does not answer",
    )
    agent: bool = Field(
        default=True, description="serve an open role incident's credentials to later `role assume` runs"
    )
    agent_refresh: str = Field(default="5m", description="this long before expiry, the next run opens a new incident")
    member_role_name: str = "OrganizationAccountAccessRole"
    federation_url: str = "https://signin.aws.amazon.com/federation"
    rotate_users: list[str] = Field(default_factory=list, description="break-glass IAM users rotated on close")
    secret_prefix: str = "breakglass/"  # noqa: S105 - a name prefix
    verify_timeout: float = Field(default=60.0, ge=0, le=600)
    evidence_dir: str | None = Field(default=None, description="bundles go here; set it to collect on close")
    evidence_margin: str = "5m"
    evidence_delay: str = "15m"
    evidence_rate: float = Field(default=2.0, gt=0, le=2.0)
    evidence_regions: list[str] = Field(
        default_factory=list, description="regions searched for evidence besides us-east-1 and the incident's"
    )
    sns_topic_arn: str | None = None
    evidence_bucket: str | None = Field(
        default=None, description="BUCKET or s3://BUCKET/PREFIX with Object Lock: journal heads are anchored there"
    )
    evidence_lock_mode: LockMode = "GOVERNANCE"
    evidence_retain_days: int = Field(default=365, ge=1, le=36500)
    signing_key: str | None = Field(
        default=None, description="KMS key (ECC_NIST_P256, SIGN_VERIFY) signing the head at close and bundles"
    )
    approvals_required: int = Field(default=0, ge=0, le=5)
    alert_regions: list[str] = Field(
        default_factory=list,
        description="regions besides us-east-1 where break-glass use is watched and alert rules are checked",
    )
    alert_rule_prefix: str = Field(
        default="breakglass", description="name prefix of the EventBridge alert rules (terraform name_prefix)"
    )
    restore_workers: int = Field(default=4, ge=1, le=32)
    max_rps: float | None = Field(default=None, gt=0, le=1000)
    restore_function_arn: str | None = None
    scheduler_role_arn: str | None = None
    schedule_group: str = "breakglass"
    schedule_dead_letter_arn: str | None = Field(
        default=None, description="SQS queue receiving the per-incident schedules' failed invocations"
    )
    rotation_interval: str = "90d"
    custody_threshold: int = Field(
        default=0, ge=0, le=16, description="k: custodians needed to open the glass (0: no custody, one secret)"
    )
    custodians: list[str] = Field(
        default_factory=list, description='custodians of the glass, "name=age1..." (an age X25519 recipient)'
    )
    custody_shares_out: str | None = Field(
        default=None, description="also write each custodian's encrypted share to this folder (an offline safe)"
    )
    drill_interval: str = "92d"
    approval_wait_seconds: float = Field(default=1800.0, gt=0, le=86400)

    @field_validator("region", "store_region")
    @classmethod
    def _region(cls, value: str | None) -> str | None:
        if value is not None:
            _checked(validate_region, value)
        return value

    @field_validator("alert_regions", "evidence_regions", "sts_regions")
    @classmethod
    def _regions(cls, value: list[str]) -> list[str]:
        for region in value:
            _checked(validate_region, region)
        return value

    @field_validator("store")
    @classmethod
    def _store(cls, value: str | None) -> str | None:
        if value:  # empty means the default, as when unset
            _checked(parse_store, value)
        return value

    @field_validator("evidence_bucket")
    @classmethod
    def _evidence_bucket(cls, value: str | None) -> str | None:
        if value is not None:
            from breakglass_aws.validate import parse_bucket_setting

            _checked(parse_bucket_setting, value)
        return value

    @field_validator("federation_url")
    @classmethod
    def _federation_url(cls, value: str) -> str:
        _checked(validate_federation_url, value)
        return value

    @field_validator("requester_name")
    @classmethod
    def _requester_name(cls, value: str | None) -> str | None:
        if value is not None:
            _checked(check_text, value, "requester_name")
        return value

    @field_validator("role_name", "member_role_name")
    @classmethod
    def _role_name(cls, value: str) -> str:
        _checked(validate_iam_name, value, "role name")
        return value

    @field_validator("rotate_users")
    @classmethod
    def _users(cls, value: list[str]) -> list[str]:
        for user in value:
            _checked(validate_iam_name, user, "IAM user name")
        return value

    @field_validator(
        "default_ttl",
        "max_ttl",
        "role_duration",
        "max_role_duration",
        "agent_refresh",
        "evidence_margin",
        "evidence_delay",
        "rotation_interval",
        "drill_interval",
    )
    @classmethod
    def _duration(cls, value: str) -> str:
        _checked(parse_duration, value)
        return value

    @field_validator("custodians")
    @classmethod
    def _custodians(cls, value: list[str]) -> list[str]:
        names = [_checked_custodian(entry) for entry in value]
        if len(set(names)) != len(names):
            raise ValueError("custodians: a name appears twice")
        return value

    @model_validator(mode="after")
    def _custody(self) -> Settings:
        k, n = self.custody_threshold, len(self.custodians)
        if (k or n) and not 2 <= k <= n:
            raise ValueError(
                f"custody needs 2 <= custody_threshold <= the number of custodians (got {k} of {n}); "
                "set both, or neither for no custody"
            )
        return self

    @property
    def default_ttl_delta(self) -> timedelta:
        return parse_duration(self.default_ttl)

    @property
    def max_ttl_delta(self) -> timedelta:
        return parse_duration(self.max_ttl)

    def store_spec(self) -> str:
        """`dynamodb://TABLE[?region=R]` or the SQLite file's absolute path."""
        if self.store and isinstance(parse_store(self.store), TableAddress):
            return self.store
        return str(self.store_path())

    def store_path(self) -> Path:
        """The SQLite file (the default one for a dynamodb:// store: evidence goes beside it)."""
        address = parse_store(self.store) if self.store else None
        if isinstance(address, Path):
            return address
        return default_state_dir() / "journal.sqlite3"


CUSTODIAN_RE = re.compile(r"\A([a-z][a-z0-9_-]{0,31})=(age1[02-9ac-hj-np-z]{58})\Z")


def _checked_custodian(entry: str) -> str:
    """`name=age1...`: a lowercase name (it names a secret) and an age X25519 recipient."""
    match = CUSTODIAN_RE.match(entry.strip())
    if not match:
        raise ValueError(f"custodian {entry[:40]!r} is not name=age1... (a lowercase name, an age X25519 public key)")
    return match.group(1)


def _read_file(path: Path, explicit: bool) -> dict[str, Any]:
    if not path.exists():
        if explicit:
            raise ConfigError(f"config file {path} does not exist", "check the --config path")
        return {}
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"config file {path} is not valid TOML: {err}", "fix the file's syntax") from err
    except UnicodeDecodeError as err:
        raise ConfigError(f"config file {path} is not UTF-8 text", "save it as UTF-8 TOML") from err
    except OSError as err:
        raise ConfigError(f"cannot read config file {path}: {err.strerror}", "check its permissions") from err


def _read_env(environ: Mapping[str, str]) -> dict[str, Any]:
    fields = set(Settings.model_fields)
    values: dict[str, Any] = {}
    for key, value in environ.items():
        if not key.startswith(ENV_PREFIX) or key in META_ENV:
            continue
        name = key[len(ENV_PREFIX) :].lower()
        name = RENAMED.get(name, name)
        if name not in fields:
            raise ConfigError(
                f"unknown environment variable {key}",
                f"known settings: {', '.join(sorted(fields))}",
            )
        values[name] = _list_value(value) if name in LIST_FIELDS else value
    return values


LIST_FIELDS = frozenset({"rotate_users", "alert_regions", "evidence_regions", "custodians"})
# Settings renamed since they were first published: the old name still works.
RENAMED = {"watch_regions": "alert_regions"}


def _renamed(values: dict[str, Any]) -> dict[str, Any]:
    return {RENAMED.get(key, key): value for key, value in values.items()}


def _list_value(value: str) -> list[str]:
    """A list from the environment: JSON (["a", "b"]) or comma-separated (a,b)."""
    text = value.strip()
    if text.startswith("["):
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError as err:
            raise ConfigError(f"invalid list in the environment: {value!r}", 'use a,b or ["a", "b"]') from err
        return [str(v) for v in parsed]
    return [part.strip() for part in text.split(",") if part.strip()]


def _describe(err: ValidationError, source: str) -> ConfigError:
    first = err.errors()[0]
    key = ".".join(str(part) for part in first["loc"]) or "?"
    if first["type"] == "extra_forbidden":
        known = ", ".join(sorted(Settings.model_fields))
        return ConfigError(f"{source}: unknown key {key!r}", f"known keys: {known}")
    cause = (first.get("ctx") or {}).get("error")
    if isinstance(cause, _Invalid):
        message, hint = cause.error.message, cause.error.remediation
        return ConfigError(f"{source}: invalid value for {key!r}: {message}", hint or "fix that setting")
    return ConfigError(f"{source}: invalid value for {key!r}: {first['msg']}", "fix that setting")


def load_settings(
    config_path: Path | None = None,
    flags: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Merge default < file < environment < flags and validate the result."""
    env = os.environ if environ is None else environ
    explicit = config_path is not None or "BREAKGLASS_CONFIG" in env
    path = config_path or Path(env.get("BREAKGLASS_CONFIG") or default_config_path(env))
    file_values = _renamed(_read_file(path, explicit))
    try:
        Settings(**file_values)
    except ValidationError as err:
        raise _describe(err, str(path)) from None
    env_values = _read_env(env)
    merged = {**file_values, **env_values, **{k: v for k, v in (flags or {}).items() if v is not None}}
    try:
        return Settings(**merged)
    except ValidationError as err:
        raise _describe(err, "settings") from None
