"""What every lifecycle operation runs with (the client factory, the store, the clock, limits), and
how it is built from Settings: what the command line, the scheduled function and library users
share."""

from __future__ import annotations

import getpass
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from breakglass_aws.aws import ClientFactory, Hook, aws_errors
from breakglass_aws.clock import Clock, utcnow
from breakglass_aws.journal import open_store
from breakglass_aws.journal.anchor import AnchorStore, KmsSigner
from breakglass_aws.journal.base import Store
from breakglass_aws.models import Requester
from breakglass_aws.notify import Notifier, SnsNotifier
from breakglass_aws.settings import Settings
from breakglass_aws.validate import parse_bucket_setting, parse_duration, validate_federation_url

__all__ = [
    "Injected",
    "RoleDefaults",
    "RotationDefaults",
    "Runtime",
    "ScheduleDefaults",
    "build_runtime",
    "default_http_get",
    "local_user",
    "requester_of",
    "whoami",
]


def _silent(_: str) -> None:
    return None


def default_http_get(url: str) -> str:
    """GET over HTTPS (or plain http to a loopback address, for a local stub) with a short timeout.
    The endpoint is checked as a parsed URL and address, never by its text prefix."""
    import urllib.request

    endpoint, _, _ = url.partition("?")
    validate_federation_url(endpoint, "federation endpoint")
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - scheme and host checked above
        return str(response.read().decode())


@dataclass
class RoleDefaults:
    """Role-mode settings: the pre-staged role, MFA device, durations, console federation."""

    role_name: str = "BreakGlassAdmin"
    mfa_serial: str | None = None
    duration: timedelta = timedelta(hours=1)
    max_duration: timedelta = timedelta(hours=4)
    member_role_name: str = "OrganizationAccountAccessRole"
    federation_url: str = "https://signin.aws.amazon.com/federation"
    http_get: Callable[[str], str] = field(default=default_http_get)
    agent: bool = True
    agent_refresh: timedelta = timedelta(minutes=5)
    sts_regions: list[str] = field(default_factory=lambda: ["us-east-1", "us-west-2", "eu-west-1"])


@dataclass
class RotationDefaults:
    users: list[str] = field(default_factory=list)
    secret_prefix: str = "breakglass/"  # noqa: S105 - a name prefix
    verify_timeout: float = 60.0
    sleep: Callable[[float], None] = field(default=time.sleep)
    custody_threshold: int = 0  # k of the custodians below; 0: no custody (one secret)
    custodians: tuple[str, ...] = ()  # "name=age1..." as the settings validated them
    shares_out: Path | None = None  # each encrypted share also written here (an offline safe)

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
    pace: Callable[[float], None] = field(default=time.sleep)  # spacing of CloudTrail's paced reads


def whoami(rt: Runtime) -> Requester:
    """sts:GetCallerIdentity first: bad credentials fail early, and we record who is acting."""
    with aws_errors():
        ident = rt.factory.client("sts").get_caller_identity()
    return requester_of(rt, ident)


def requester_of(rt: Runtime, ident: Mapping[str, Any]) -> Requester:
    """The requester from a GetCallerIdentity answer, with the declared or local name."""
    name = rt.requester_name or local_user() or str(ident["Arn"]).rsplit("/", 1)[-1]
    return Requester(arn=ident["Arn"], account=ident["Account"], user_id=ident["UserId"], name=name)


def local_user() -> str | None:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return None


@dataclass
class Injected:
    """What tests or an embedding program may inject."""

    hooks: Sequence[Hook] = ()
    clock: Callable[[], datetime] | None = None
    botocore_session: Any = None
    http_get: Callable[[str], str] | None = None
    progress: Callable[[str], None] = field(default=lambda _message: None)
    pace: Callable[[float], None] | None = None


def build_runtime(s: Settings, injected: Injected | None = None) -> Runtime:
    inj = injected or Injected()
    clock = inj.clock or utcnow
    factory = ClientFactory(
        profile=s.profile,
        region=s.region,
        retry_mode=s.retry_mode,
        max_attempts=s.max_attempts,
        connect_timeout=s.connect_timeout,
        read_timeout=s.read_timeout,
        hooks=list(inj.hooks),
        botocore_session=None if s.profile else inj.botocore_session,
        control_plane_timeout=s.control_plane_timeout,
        control_plane_attempts=s.control_plane_attempts,
    )
    role = RoleDefaults(
        role_name=s.role_name,
        mfa_serial=s.mfa_serial,
        duration=parse_duration(s.role_duration),
        max_duration=parse_duration(s.max_role_duration),
        member_role_name=s.member_role_name,
        federation_url=s.federation_url,
        agent=s.agent,
        sts_regions=list(s.sts_regions),
        agent_refresh=parse_duration(s.agent_refresh),
        **({"http_get": inj.http_get} if inj.http_get else {}),
    )
    return Runtime(
        factory=factory,
        store=open_store(s.store_spec(), factory, clock, s.store_region),
        clock=clock,
        default_ttl=s.default_ttl_delta,
        max_ttl=s.max_ttl_delta,
        requester_name=s.requester_name,
        progress=inj.progress,
        role=role,
        evidence_dir=Path(s.evidence_dir).expanduser() if s.evidence_dir else s.store_path().parent / "evidence",
        evidence_on_close=s.evidence_dir is not None,
        notifier=SnsNotifier(factory, s.sns_topic_arn) if s.sns_topic_arn else None,
        rotation=RotationDefaults(
            users=list(s.rotate_users),
            secret_prefix=s.secret_prefix,
            verify_timeout=s.verify_timeout,
            custody_threshold=s.custody_threshold,
            custodians=tuple(s.custodians),
            shares_out=Path(s.custody_shares_out).expanduser() if s.custody_shares_out else None,
        ),
        schedule=ScheduleDefaults(
            function_arn=s.restore_function_arn,
            role_arn=s.scheduler_role_arn,
            group=s.schedule_group,
            dead_letter_arn=s.schedule_dead_letter_arn,
        ),
        store_region=s.store_region,
        anchors=_anchors(factory, s),
        signer=KmsSigner(factory, s.signing_key) if s.signing_key else None,
        pace=inj.pace or time.sleep,
    )


def _anchors(factory: ClientFactory, s: Settings) -> AnchorStore | None:
    if not s.evidence_bucket:
        return None
    bucket, prefix = parse_bucket_setting(s.evidence_bucket)
    return AnchorStore(factory, bucket, prefix, s.evidence_lock_mode, s.evidence_retain_days)
