"""Per-invocation state of the command line: global flags, lazily built runtime, test overrides."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from breakglass_aws.runtime import Runtime
    from breakglass_aws.settings import Settings

__all__ = ["CliOverrides", "CliState"]


@dataclass
class CliOverrides:
    """What a test (or an embedding program) may inject: botocore event hooks and a clock."""

    hooks: list[tuple[str, Callable[..., Any]]] = field(default_factory=list)
    clock: Callable[[], datetime] | None = None
    botocore_session: Any = None
    http_get: Callable[[str], str] | None = None


@dataclass
class CliState:
    profile: str | None = None
    region: str | None = None
    output: str | None = None
    config: Path | None = None
    verbosity: int = 0
    quiet: bool = False
    overrides: CliOverrides = field(default_factory=CliOverrides)
    _settings: Settings | None = None
    _runtime: Runtime | None = None

    def settings(self) -> Settings:
        if self._settings is None:
            from breakglass_aws.settings import load_settings

            flags = {"profile": self.profile, "region": self.region, "output": self.output}
            self._settings = load_settings(self.config, flags)
        return self._settings

    @property
    def json(self) -> bool:
        return self.settings().output == "json"

    def runtime(self) -> Runtime:
        if self._runtime is None:
            self._runtime = self._build_runtime()
        return self._runtime

    def _build_runtime(self) -> Runtime:
        from breakglass_aws.aws import ClientFactory
        from breakglass_aws.clock import utcnow
        from breakglass_aws.journal import open_store
        from breakglass_aws.notify import SnsNotifier
        from breakglass_aws.runtime import RoleDefaults, RotationDefaults, Runtime
        from breakglass_aws.validate import parse_duration

        s = self.settings()
        clock = self.overrides.clock or utcnow
        factory = ClientFactory(
            profile=s.profile,
            region=s.region,
            retry_mode=s.retry_mode,
            max_attempts=s.max_attempts,
            connect_timeout=s.connect_timeout,
            read_timeout=s.read_timeout,
            hooks=list(self.overrides.hooks),
            botocore_session=None if s.profile else self.overrides.botocore_session,
        )
        return Runtime(
            factory=factory,
            store=open_store(s.store_spec(), factory, clock),
            clock=clock,
            default_ttl=s.default_ttl_delta,
            max_ttl=s.max_ttl_delta,
            requester_name=s.requester_name,
            progress=self.progress,
            role=RoleDefaults(
                role_name=s.role_name,
                mfa_serial=s.mfa_serial,
                duration=parse_duration(s.role_duration),
                max_duration=parse_duration(s.max_role_duration),
                member_role_name=s.member_role_name,
                federation_url=s.federation_url,
                **({"http_get": self.overrides.http_get} if self.overrides.http_get else {}),
            ),
            evidence_dir=Path(s.evidence_dir).expanduser() if s.evidence_dir else s.store_path().parent / "evidence",
            evidence_on_close=s.evidence_dir is not None,
            notifier=SnsNotifier(factory, s.sns_topic_arn) if s.sns_topic_arn else None,
            rotation=RotationDefaults(
                users=list(s.rotate_users), secret_prefix=s.secret_prefix, verify_timeout=s.verify_timeout
            ),
        )

    def progress(self, message: str) -> None:
        if not self.quiet:
            typer.echo(message, err=True)


def state(ctx: typer.Context) -> CliState:
    obj = ctx.find_root().obj
    assert isinstance(obj, CliState)  # noqa: S101 - set by the root callback
    return obj
