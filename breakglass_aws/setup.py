"""Build a Runtime from Settings: what the command line, the scheduled restore function and
library users share."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from breakglass_aws.anchor import AnchorStore, KmsSigner
from breakglass_aws.aws import ClientFactory, Hook
from breakglass_aws.clock import utcnow
from breakglass_aws.evidence.upload import parse_bucket_setting
from breakglass_aws.journal import open_store
from breakglass_aws.notify import SnsNotifier
from breakglass_aws.runtime import RoleDefaults, RotationDefaults, Runtime, ScheduleDefaults
from breakglass_aws.settings import Settings
from breakglass_aws.validate import parse_duration

__all__ = ["Injected", "build_runtime"]


@dataclass
class Injected:
    """What tests or an embedding program may inject."""

    hooks: Sequence[Hook] = ()
    clock: Callable[[], datetime] | None = None
    botocore_session: Any = None
    http_get: Callable[[str], str] | None = None
    progress: Callable[[str], None] = field(default=lambda _message: None)


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
            users=list(s.rotate_users), secret_prefix=s.secret_prefix, verify_timeout=s.verify_timeout
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
    )


def _anchors(factory: ClientFactory, s: Settings) -> AnchorStore | None:
    if not s.evidence_bucket:
        return None
    bucket, prefix = parse_bucket_setting(s.evidence_bucket)
    return AnchorStore(factory, bucket, prefix, s.evidence_lock_mode, s.evidence_retain_days)
