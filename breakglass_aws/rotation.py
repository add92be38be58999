"""Rotation of a break-glass user's credentials, the AWS side: read the state, plan the remaining
steps, perform one step. The secret in Secrets Manager is the source of truth, which makes a rerun
after a crash finish the job without rotating twice."""

from __future__ import annotations

import functools
import json
import secrets
import string
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict

from breakglass_aws.clock import isoformat
from breakglass_aws.custody import CustodyPolicy, Sealed, StoredShare, seal_credentials, write_share_file, write_shares
from breakglass_aws.errors import AwsFailure, UsageError
from breakglass_aws.parallel import beside

if TYPE_CHECKING:
    from mypy_boto3_iam import IAMClient
    from mypy_boto3_iam.type_defs import AccessKeyMetadataTypeDef
    from mypy_boto3_secretsmanager import SecretsManagerClient

__all__ = [
    "PasswordPolicy",
    "RotationPlan",
    "RotationProof",
    "RotationStep",
    "check_target",
    "generate_password",
    "identifies_user",
    "plan_rotation",
    "prove_rotation",
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


def read_policy(iam: IAMClient) -> PasswordPolicy:
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


Action = Literal[
    "delete-key", "deactivate-key", "create-key", "store-secret", "store-shares", "verify-key", "set-password"
]


class RotationStep(BaseModel):
    model_config = ConfigDict(extra="forbid")
    action: Action
    user: str
    secret_id: str
    rotation_id: str
    key_id: str | None = None

    def key(self) -> str:
        """The access key a delete-key or deactivate-key step acts on."""
        if self.key_id is None:
            raise UsageError(f"the {self.action} step of {self.user} names no access key", "this plan is malformed")
        return self.key_id

    def describe(self) -> str:
        what = {
            "delete-key": "delete access key",
            "deactivate-key": "deactivate access key",
            "create-key": "create a new access key",
            "store-secret": "store the new key and password in",
            "store-shares": "write each custodian's encrypted share for",
            "verify-key": "verify the new key works",
            "set-password": "reset the console password",
        }[self.action]
        if self.action in ("store-secret", "store-shares"):
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

    def levels(self) -> list[list[RotationStep]]:
        """One step after the other, but for the new key's check and the new password, which go
        together: both only need the secret stored, and the old key stays until the check passed."""
        levels: list[list[RotationStep]] = []
        for step in self.steps:
            together_with_last = levels and {levels[-1][-1].action, step.action} == {"verify-key", "set-password"}
            if together_with_last:
                levels[-1].append(step)
            else:
                levels.append([step])
        return levels


@dataclass
class UserState:
    keys: list[AccessKeyMetadataTypeDef]
    has_login_profile: bool
    stored: dict[str, Any] = field(default_factory=dict)
    arn: str = ""


def check_target(iam: IAMClient, sm: SecretsManagerClient, user: str, secret_id: str) -> str:
    """Read-only: the user and its secret exist. Bad input fails here, before anything changes.
    Returns the user's ARN (what GetCallerIdentity with its new key must answer)."""
    secret = beside(functools.partial(secret_exists, sm, secret_id))  # in flight with GetUser
    try:
        arn = str(iam.get_user(UserName=user)["User"]["Arn"])
    except iam.exceptions.NoSuchEntityException:
        raise UsageError(
            f"IAM user {user!r} not found", "check the name (aws iam list-users) and the account you are in"
        ) from None
    if not secret.result():
        raise UsageError(
            f"secret {secret_id!r} not found", "create it (terraform control-plane module) or pass --secret-id"
        )
    return arn


def secret_exists(sm: SecretsManagerClient, secret_id: str) -> bool:
    try:
        sm.describe_secret(SecretId=secret_id)
    except sm.exceptions.ResourceNotFoundException:
        return False
    return True


def identifies_user(arn: str, user_arn: str, user: str) -> bool:
    """Does a GetCallerIdentity ARN name this IAM user? Same partition and account, the `iam`
    service, and a `user/[path/]NAME` resource (so moto's `sts::...:user/moto` placeholder for an
    unknown key, or another principal, does not pass)."""
    got, want = arn.split(":", 5), user_arn.split(":", 5)
    if len(got) != 6 or len(want) != 6 or got[0] != "arn":
        return False
    return (
        got[1] == want[1]
        and got[2] == "iam"
        and got[4] == want[4]
        and got[5].startswith("user/")
        and got[5].rsplit("/", 1)[-1] == user
    )


def read_state(iam: IAMClient, sm: SecretsManagerClient, user: str, secret_id: str) -> UserState:
    """Everything the plan needs, read together (the reads do not depend on each other)."""
    listed = beside(functools.partial(iam.list_access_keys, UserName=user))
    login = beside(functools.partial(_has_login_profile, iam, user))
    stored = beside(functools.partial(_stored, sm, secret_id))
    arn = check_target(iam, sm, user, secret_id)
    keys = sorted(listed.result()["AccessKeyMetadata"], key=lambda k: k["CreateDate"])
    return UserState(keys=keys, has_login_profile=login.result(), stored=stored.result(), arn=arn)


def _has_login_profile(iam: IAMClient, user: str) -> bool:
    try:
        iam.get_login_profile(UserName=user)
    except iam.exceptions.NoSuchEntityException:
        return False
    return True


def _stored(sm: SecretsManagerClient, secret_id: str) -> dict[str, Any]:
    try:
        value = sm.get_secret_value(SecretId=secret_id).get("SecretString") or "{}"
    except sm.exceptions.ResourceNotFoundException:
        return {}
    try:
        parsed = json.loads(value)
    except json.JSONDecodeError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def stored_key_id(sm: SecretsManagerClient, secret_id: str) -> str | None:
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
    custody: bool = False,
) -> RotationPlan:
    """The steps still to do. `created_before`: key ids this rotation created (from the journal);
    `finished`: actions already journaled as done. Under `custody` the new credentials live in
    memory only until the shares are written and the key verified: a rotation stopped before that
    starts over (its new key deleted), since nobody could open what it stored."""
    ids = [k["AccessKeyId"] for k in state.keys]
    stored_key = state.stored.get("access_key_id")
    done = state.stored.get("rotation_id") == rotation_id and stored_key in ids
    if custody:
        done = done and _custody_complete(finished, with_password and state.has_login_profile)
    base = {"user": user, "secret_id": secret_id, "rotation_id": rotation_id}
    steps: list[RotationStep] = []
    if not done:
        orphans = [k for k in created_before if k in ids]
        steps += [RotationStep(action="delete-key", key_id=k, **base) for k in orphans]
        remaining = [k for k in state.keys if k["AccessKeyId"] not in orphans]
        steps += _make_room(remaining, base, stored_key)
        steps += [RotationStep(action="create-key", **base), RotationStep(action="store-secret", **base)]
        steps += [RotationStep(action="store-shares", **base)] if custody else []
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


def _custody_complete(finished: set[str], password: bool) -> bool:
    return {"store-shares", "verify-key", *(["set-password"] if password else [])} <= finished


def _deleted(steps: list[RotationStep]) -> set[str]:
    return {s.key_id for s in steps if s.action == "delete-key" and s.key_id}


def _make_room(
    keys: list[AccessKeyMetadataTypeDef], base: dict[str, str], stored_key: object = None
) -> list[RotationStep]:
    """The 2-key limit: remove an inactive key first, then the oldest active one that is not the
    key in the secret (the break-glass key in use stays until its successor is verified)."""
    if len(keys) < MAX_KEYS:
        return []
    # stable sort: not-in-the-secret before in-the-secret, inactive before active, oldest first
    victim = sorted(keys, key=lambda k: (k["AccessKeyId"] == stored_key, k["Status"] == "Active"))[0]
    steps = (
        []
        if victim["Status"] != "Active"
        else [RotationStep(action="deactivate-key", key_id=victim["AccessKeyId"], **base)]
    )
    return [*steps, RotationStep(action="delete-key", key_id=victim["AccessKeyId"], **base)]


class RotationProof(BaseModel):
    """What was read back after the rotation: key ids only, never secrets."""

    model_config = ConfigDict(extra="forbid")
    active_key_id: str
    secret_key_id: str
    old_keys_gone: list[str]


def prove_rotation(
    iam: IAMClient, sm: SecretsManagerClient, user: str, secret_id: str, old_keys: list[str]
) -> RotationProof:
    """The old keys are gone from ListAccessKeys, and exactly one key is left, active, and the
    one in the secret's AWSCURRENT version. Raises AwsFailure naming what is wrong."""
    stored = beside(functools.partial(stored_key_id, sm, secret_id))  # in flight with the listing
    listed = {k["AccessKeyId"]: k["Status"] for k in iam.list_access_keys(UserName=user)["AccessKeyMetadata"]}
    current = stored.result()
    left = sorted(k for k in old_keys if k in listed and k != current)
    active = sorted(k for k, status in listed.items() if status == "Active")
    problems = []
    if left:
        problems.append(f"old key(s) still present: {', '.join(left)}")
    if active != [current] or len(listed) != 1:
        problems.append(
            f"keys of {user}: {', '.join(f'{k} ({v})' for k, v in sorted(listed.items())) or 'none'}; "
            f"the secret {secret_id} holds {current or 'no key'}"
        )
    if problems or current is None:
        raise AwsFailure(
            f"rotation of {user} does not check out: {'; '.join(problems) or 'no key in the secret'}",
            "rerun the same command: it finishes the rotation and never rotates twice",
            fix="nothing by hand: a rerun finishes the rotation",
            resumable=True,
        )
    return RotationProof(active_key_id=current, secret_key_id=current, old_keys_gone=sorted(set(old_keys) - {current}))


@dataclass
class Performer:
    """Performs rotation steps; holds the new secret key in memory between create and store only."""

    iam: IAMClient
    sm: SecretsManagerClient
    verify: Callable[[str, str], str]
    policy: PasswordPolicy
    clock: Callable[[], datetime]
    incident_id: str
    iam_once: IAMClient | None = None
    sleep: Callable[[float], None] = time.sleep
    new_password: bool = True  # a set-password step is planned: store a fresh password
    keep_password: str | None = field(default=None, repr=False)  # else the secret keeps this one
    user_arn: str = ""  # what GetCallerIdentity with the new key must identify
    known_keys: set[str] | None = None  # the user's keys as this rotation just read them
    custody: CustodyPolicy | None = None  # seal the credentials for k of n custodians
    shares_base: str = ""  # the per-custodian secrets are {shares_base}/custody/{name}
    shares_out: Path | None = None  # and each encrypted share also goes to a file here
    _pending: dict[str, str] = field(default_factory=dict, repr=False)
    _sealed: Sealed | None = field(default=None, repr=False)

    def __call__(self, step: RotationStep) -> dict[str, Any] | None:
        handler = getattr(self, "_" + step.action.replace("-", "_"))
        result: dict[str, Any] | None = handler(step)
        return result

    def _delete_key(self, step: RotationStep) -> None:
        try:
            self.iam.delete_access_key(UserName=step.user, AccessKeyId=step.key())
        except self.iam.exceptions.NoSuchEntityException:
            return

    def _deactivate_key(self, step: RotationStep) -> None:
        self.iam.update_access_key(UserName=step.user, AccessKeyId=step.key(), Status="Inactive")

    def _create_key(self, step: RotationStep) -> dict[str, Any]:
        """CreateAccessKey is not idempotent: it is sent once per attempt (no botocore retry), and
        after a failed attempt any key it may still have created, whose secret we never saw, is
        deleted before trying again."""
        for attempt in range(CREATE_ATTEMPTS):
            # the keys before the attempt: as this rotation read them just before its first one
            before = self.known_keys if attempt == 0 and self.known_keys is not None else self._key_ids(step.user)
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
        raise AwsFailure("CreateAccessKey kept failing", fix="check IAM's health", resumable=True)

    def _key_ids(self, user: str) -> set[str]:
        return {k["AccessKeyId"] for k in self.iam.list_access_keys(UserName=user)["AccessKeyMetadata"]}

    def _store_secret(self, step: RotationStep) -> dict[str, Any]:
        if not self._pending:
            raise AwsFailure(
                "the new key's secret is not in memory",
                fix="nothing by hand: the unstored key is replaced",
                resumable=True,
            )
        value: dict[str, Any] = {
            "user": step.user,
            "access_key_id": self._pending["id"],
            "rotated_at": isoformat(self.clock()),
            "incident": self.incident_id,
            "rotation_id": step.rotation_id,
        }
        # the password in the secret must be the console's: fresh only when it is about to be set
        password = generate_password(self.policy) if self.new_password else self.keep_password
        if self.custody is not None:
            value["custody"] = self._seal(self.custody, step, password).document.model_dump(mode="json")
        else:
            value["secret_access_key"] = self._pending["secret"]
            value.update({"password": password} if password else {})
        answer = self.sm.put_secret_value(SecretId=step.secret_id, SecretString=json.dumps(value))
        if self.custody is None:
            self._pending = {}
        return {"access_key_id": value["access_key_id"], "version_id": answer.get("VersionId")}

    def _seal(self, custody: CustodyPolicy, step: RotationStep, password: str | None) -> Sealed:
        """The credentials sealed for the custodians; kept in memory (never stored in the clear)
        for the key's check and the console password, which come after the shares."""
        plain = {"access_key_id": self._pending["id"], "secret_access_key": self._pending["secret"]}
        if password:
            plain["password"] = self._pending["password"] = password
        self._sealed = seal_credentials(custody, step.user, step.rotation_id, plain)
        return self._sealed

    def _store_shares(self, step: RotationStep) -> dict[str, Any]:
        if self._sealed is None:
            raise AwsFailure(
                "the new shares are not in memory",
                fix="nothing by hand: the rotation starts over with a new key",
                resumable=True,
            )
        shares = [StoredShare(step.user, step.rotation_id, n, data) for n, data in self._sealed.shares.items()]
        write_shares(self.sm, self.shares_base, shares)
        if self.shares_out is not None:
            for share in shares:
                write_share_file(self.shares_out, share)
        doc = self._sealed.document
        return {"threshold": doc.threshold, "fingerprints": doc.fingerprints()}

    def _new_credentials(self, step: RotationStep) -> dict[str, Any]:
        """The new key (and password) to check or set: from memory under custody, else the secret."""
        if self.custody is None:
            return _stored(self.sm, step.secret_id)
        if not self._pending:
            raise AwsFailure(
                "the new key's secret is not in memory",
                fix="nothing by hand: the rotation starts over with a new key",
                resumable=True,
            )
        held = {"access_key_id": self._pending["id"], "secret_access_key": self._pending["secret"]}
        return {**held, **({"password": self._pending["password"]} if "password" in self._pending else {})}

    def _verify_key(self, step: RotationStep) -> dict[str, Any]:
        stored = self._new_credentials(step)
        arn = self.verify(str(stored["access_key_id"]), str(stored["secret_access_key"]))
        if self.user_arn and not identifies_user(arn, self.user_arn, step.user):
            raise AwsFailure(
                f"the new key {stored['access_key_id']} answers as {arn}, not as {self.user_arn}",
                fix="the old key was kept; check the secret and the account",
                resumable=True,
            )
        return {"access_key_id": stored["access_key_id"], "arn": arn}

    def _set_password(self, step: RotationStep) -> None:
        stored = self._new_credentials(step)
        self.iam.update_login_profile(UserName=step.user, Password=stored["password"], PasswordResetRequired=False)
