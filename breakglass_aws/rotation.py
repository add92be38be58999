"""Rotation of a break-glass user's credentials, the AWS side: read the state, plan the remaining
steps, perform one step. The secret in Secrets Manager is the source of truth, which makes a rerun
after a crash finish the job without rotating twice."""

from __future__ import annotations

import json
import secrets
import string
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from breakglass_aws.clock import isoformat
from breakglass_aws.errors import AwsFailure, UsageError

__all__ = [
    "PasswordPolicy",
    "RotationPlan",
    "RotationStep",
    "generate_password",
    "plan_rotation",
    "read_policy",
    "stored_key_id",
]

SYMBOLS = "!@#$%^&*()_+-=[]{}|'"
CREATE_ATTEMPTS = 6
TRANSIENT_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "ServiceUnavailable",
        "InternalFailure",
        "InternalError",
    }
)


def _transient(err: BaseException) -> bool:
    response = getattr(err, "response", None)
    if isinstance(response, dict):
        return response.get("Error", {}).get("Code") in TRANSIENT_CODES
    return type(err).__module__.startswith("botocore")  # connection errors, timeouts


MAX_KEYS = 2


class PasswordPolicy(BaseModel):
    model_config = ConfigDict(extra="ignore")
    minimum_length: int = 14
    require_symbols: bool = True
    require_numbers: bool = True
    require_uppercase: bool = True
    require_lowercase: bool = True


def generate_password(policy: PasswordPolicy, length: int = 32) -> str:
    """A random password meeting the policy: every required class present, at least `length` long."""
    size = min(max(length, policy.minimum_length, 8), 128)
    pools = [string.ascii_lowercase, string.ascii_uppercase, string.digits, SYMBOLS]
    chosen = [secrets.choice(pool) for pool in pools]
    alphabet = "".join(pools)
    chosen += [secrets.choice(alphabet) for _ in range(size - len(chosen))]
    secrets.SystemRandom().shuffle(chosen)
    return "".join(chosen)


def read_policy(iam: Any) -> PasswordPolicy:
    try:
        found = iam.get_account_password_policy()["PasswordPolicy"]
    except iam.exceptions.NoSuchEntityException:
        return PasswordPolicy()
    return PasswordPolicy(
        minimum_length=found.get("MinimumPasswordLength", 14),
        require_symbols=found.get("RequireSymbols", False),
        require_numbers=found.get("RequireNumbers", False),
        require_uppercase=found.get("RequireUppercaseCharacters", False),
        require_lowercase=found.get("RequireLowercaseCharacters", False),
    )


Action = Literal["delete-key", "deactivate-key", "create-key", "store-secret", "verify-key", "set-password"]


class RotationStep(BaseModel):
    model_config = ConfigDict(extra="forbid")
    action: Action
    user: str
    secret_id: str
    rotation_id: str
    key_id: str | None = None

    def describe(self) -> str:
        what = {
            "delete-key": "delete access key",
            "deactivate-key": "deactivate access key",
            "create-key": "create a new access key",
            "store-secret": "store the new key and password in",
            "verify-key": "verify the new key works",
            "set-password": "reset the console password",
        }[self.action]
        if self.action == "store-secret":
            return f"{what} {self.secret_id}"
        return f"{what} {self.key_id or ''} of {self.user}".replace("  ", " ")


class RotationPlan(BaseModel):
    model_config = ConfigDict(extra="forbid")
    user: str
    secret_id: str
    rotation_id: str
    keys: list[str]
    has_login_profile: bool
    already_stored: str | None
    steps: list[RotationStep]


@dataclass
class UserState:
    keys: list[dict[str, Any]]
    has_login_profile: bool
    stored: dict[str, Any] = field(default_factory=dict)


def read_state(iam: Any, sm: Any, user: str, secret_id: str) -> UserState:
    iam.get_user(UserName=user)
    try:
        sm.describe_secret(SecretId=secret_id)
    except sm.exceptions.ResourceNotFoundException:
        raise UsageError(
            f"secret {secret_id!r} not found", "create it (terraform control-plane module) or pass --secret-id"
        ) from None
    keys = sorted(iam.list_access_keys(UserName=user)["AccessKeyMetadata"], key=lambda k: k["CreateDate"])
    try:
        iam.get_login_profile(UserName=user)
        login = True
    except iam.exceptions.NoSuchEntityException:
        login = False
    return UserState(keys=keys, has_login_profile=login, stored=_stored(sm, secret_id))


def _stored(sm: Any, secret_id: str) -> dict[str, Any]:
    try:
        value = sm.get_secret_value(SecretId=secret_id).get("SecretString") or "{}"
    except sm.exceptions.ResourceNotFoundException:
        return {}
    try:
        parsed = json.loads(value)
    except json.JSONDecodeError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def stored_key_id(sm: Any, secret_id: str) -> str | None:
    value = _stored(sm, secret_id).get("access_key_id")
    return str(value) if value else None


def plan_rotation(
    state: UserState,
    user: str,
    secret_id: str,
    rotation_id: str,
    created_before: list[str],
    finished: set[str],
    with_password: bool,
) -> RotationPlan:
    """The steps still to do. `created_before`: key ids this rotation created (from the journal);
    `finished`: actions already journaled as done."""
    ids = [k["AccessKeyId"] for k in state.keys]
    stored_key = state.stored.get("access_key_id")
    done = state.stored.get("rotation_id") == rotation_id and stored_key in ids
    base = {"user": user, "secret_id": secret_id, "rotation_id": rotation_id}
    steps: list[RotationStep] = []
    if not done:
        orphans = [k for k in created_before if k in ids]
        steps += [RotationStep(action="delete-key", key_id=k, **base) for k in orphans]
        remaining = [k for k in state.keys if k["AccessKeyId"] not in orphans]
        steps += _make_room(remaining, base)
        steps += [RotationStep(action="create-key", **base), RotationStep(action="store-secret", **base)]
        keep = None
    else:
        keep = stored_key
    if "verify-key" not in finished or not done:
        steps.append(RotationStep(action="verify-key", **base))
    if with_password and state.has_login_profile and ("set-password" not in finished or not done):
        steps.append(RotationStep(action="set-password", **base))
    old = [k for k in state.keys if k["AccessKeyId"] != keep and k["AccessKeyId"] not in _deleted(steps)]
    for key in old:
        if key["Status"] == "Active":
            steps.append(RotationStep(action="deactivate-key", key_id=key["AccessKeyId"], **base))
        steps.append(RotationStep(action="delete-key", key_id=key["AccessKeyId"], **base))
    return RotationPlan(
        user=user,
        secret_id=secret_id,
        rotation_id=rotation_id,
        keys=ids,
        has_login_profile=state.has_login_profile,
        already_stored=keep,
        steps=steps,
    )


def _deleted(steps: list[RotationStep]) -> set[str]:
    return {s.key_id for s in steps if s.action == "delete-key" and s.key_id}


def _make_room(keys: list[dict[str, Any]], base: dict[str, str]) -> list[RotationStep]:
    """The 2-key limit: remove inactive keys first, then the oldest active one if still full."""
    if len(keys) < MAX_KEYS:
        return []
    inactive = [k for k in keys if k["Status"] != "Active"]
    victim = inactive[0] if inactive else keys[0]
    steps = (
        []
        if victim["Status"] != "Active"
        else [RotationStep(action="deactivate-key", key_id=victim["AccessKeyId"], **base)]
    )
    return [*steps, RotationStep(action="delete-key", key_id=victim["AccessKeyId"], **base)]


@dataclass
class Performer:
    """Performs rotation steps; holds the new secret key in memory between create and store only."""

    iam: Any
    sm: Any
    verify: Callable[[str, str], str]
    policy: PasswordPolicy
    clock: Callable[[], datetime]
    incident_id: str
    iam_once: Any = None
    sleep: Callable[[float], None] = time.sleep
    _pending: dict[str, str] = field(default_factory=dict, repr=False)

    def __call__(self, step: RotationStep) -> dict[str, Any] | None:
        handler = getattr(self, "_" + step.action.replace("-", "_"))
        result: dict[str, Any] | None = handler(step)
        return result

    def _delete_key(self, step: RotationStep) -> None:
        try:
            self.iam.delete_access_key(UserName=step.user, AccessKeyId=step.key_id)
        except self.iam.exceptions.NoSuchEntityException:
            return

    def _deactivate_key(self, step: RotationStep) -> None:
        self.iam.update_access_key(UserName=step.user, AccessKeyId=step.key_id, Status="Inactive")

    def _create_key(self, step: RotationStep) -> dict[str, Any]:
        """CreateAccessKey is not idempotent: it is sent once per attempt (no botocore retry), and
        after a failed attempt any key it may still have created, whose secret we never saw, is
        deleted before trying again."""
        for attempt in range(CREATE_ATTEMPTS):
            before = self._key_ids(step.user)
            try:
                key = (self.iam_once or self.iam).create_access_key(UserName=step.user)["AccessKey"]
            except Exception as err:
                for orphan in self._key_ids(step.user) - before:
                    self._delete_key(step.model_copy(update={"key_id": orphan}))
                if attempt == CREATE_ATTEMPTS - 1 or not _transient(err):
                    raise
                self.sleep(0.5 * 2**attempt)
                continue
            self._pending = {"id": key["AccessKeyId"], "secret": key["SecretAccessKey"]}
            return {"access_key_id": key["AccessKeyId"]}
        raise AwsFailure("CreateAccessKey kept failing", "rerun: the rotation resumes")

    def _key_ids(self, user: str) -> set[str]:
        return {k["AccessKeyId"] for k in self.iam.list_access_keys(UserName=user)["AccessKeyMetadata"]}

    def _store_secret(self, step: RotationStep) -> dict[str, Any]:
        if not self._pending:
            raise AwsFailure("the new key's secret is not in memory", "rerun: the unstored key is replaced")
        value = {
            "user": step.user,
            "access_key_id": self._pending["id"],
            "secret_access_key": self._pending["secret"],
            "password": generate_password(self.policy),
            "rotated_at": isoformat(self.clock()),
            "incident": self.incident_id,
            "rotation_id": step.rotation_id,
        }
        answer = self.sm.put_secret_value(SecretId=step.secret_id, SecretString=json.dumps(value))
        self._pending = {}
        return {"access_key_id": value["access_key_id"], "version_id": answer.get("VersionId")}

    def _verify_key(self, step: RotationStep) -> dict[str, Any]:
        stored = _stored(self.sm, step.secret_id)
        arn = self.verify(str(stored["access_key_id"]), str(stored["secret_access_key"]))
        return {"access_key_id": stored["access_key_id"], "arn": arn}

    def _set_password(self, step: RotationStep) -> None:
        stored = _stored(self.sm, step.secret_id)
        self.iam.update_login_profile(UserName=step.user, Password=stored["password"], PasswordResetRequired=False)
