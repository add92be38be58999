"""What every lifecycle operation runs with: the client factory, the store, the clock, limits."""

from __future__ import annotations

import getpass
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from breakglass_aws.aws import ClientFactory, aws_errors
from breakglass_aws.clock import Clock, utcnow
from breakglass_aws.journal.base import Store
from breakglass_aws.models import Requester
from breakglass_aws.notify import Notifier

if TYPE_CHECKING:
    from breakglass_aws.anchor import AnchorStore, KmsSigner

__all__ = ["RoleDefaults", "RotationDefaults", "Runtime", "ScheduleDefaults", "whoami"]


def _silent(_: str) -> None:
    return None


def _default_http_get(url: str) -> str:
    from breakglass_aws.role import default_http_get

    return default_http_get(url)


@dataclass
class RoleDefaults:
    """Role-mode settings: the pre-staged role, MFA device, durations, console federation."""

    role_name: str = "BreakGlassAdmin"
    mfa_serial: str | None = None
    duration: timedelta = timedelta(hours=1)
    max_duration: timedelta = timedelta(hours=4)
    member_role_name: str = "OrganizationAccountAccessRole"
    federation_url: str = "https://signin.aws.amazon.com/federation"
    http_get: Callable[[str], str] = field(default=_default_http_get)


@dataclass
class RotationDefaults:
    users: list[str] = field(default_factory=list)
    secret_prefix: str = "breakglass/"  # noqa: S105 - a name prefix
    verify_timeout: float = 60.0
    sleep: Callable[[float], None] = field(default=time.sleep)

    def secret_for(self, user: str) -> str:
        return f"{self.secret_prefix}{user}"


@dataclass
class ScheduleDefaults:
    """The dead-man switch: a one-time EventBridge Scheduler schedule per incident."""

    function_arn: str | None = None
    role_arn: str | None = None
    group: str = "breakglass"
    dead_letter_arn: str | None = None  # SQS queue of invocations that failed after the retries

    @property
    def enabled(self) -> bool:
        return bool(self.function_arn and self.role_arn)


@dataclass
class Runtime:
    factory: ClientFactory
    store: Store
    clock: Clock = utcnow
    default_ttl: timedelta = timedelta(hours=1)
    max_ttl: timedelta = timedelta(hours=24)
    requester_name: str | None = None
    progress: Callable[[str], None] = field(default=_silent)
    role: RoleDefaults = field(default_factory=RoleDefaults)
    rotation: RotationDefaults = field(default_factory=RotationDefaults)
    evidence_dir: Path = field(default_factory=lambda: Path("evidence"))
    evidence_on_close: bool = False
    notifier: Notifier | None = None
    schedule: ScheduleDefaults = field(default_factory=ScheduleDefaults)
    shared_store_spec: str | None = None  # with --offline-store: the shared store that is bypassed
    store_region: str | None = None
    sleep: Callable[[float], None] = field(default=time.sleep)  # waiting for another closer
    anchors: AnchorStore | None = None  # journal heads under Object Lock (evidence_bucket)
    signer: KmsSigner | None = None  # signs the head at close and bundle manifests (signing_key)


def whoami(rt: Runtime) -> Requester:
    """sts:GetCallerIdentity first: bad credentials fail early, and we record who is acting."""
    with aws_errors():
        ident = rt.factory.client("sts").get_caller_identity()
    name = rt.requester_name or _local_user() or ident["Arn"].rsplit("/", 1)[-1]
    return Requester(arn=ident["Arn"], account=ident["Account"], user_id=ident["UserId"], name=name)


def _local_user() -> str | None:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return None
