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
    pace: Callable[[float], None] | None = None  # spacing of CloudTrail's paced reads


@dataclass
class CliState:
    profile: str | None = None
    region: str | None = None
    output: str | None = None
    config: Path | None = None
    verbosity: int = 0
    quiet: bool = False
    offline: bool = False
    overrides: CliOverrides = field(default_factory=CliOverrides)
    _settings: Settings | None = None
    _runtime: Runtime | None = None
    _shared_spec: str | None = None  # the shared store bypassed by --offline-store

    def settings(self) -> Settings:
        if self._settings is None:
            from breakglass_aws.settings import load_settings

            flags = {"profile": self.profile, "region": self.region, "output": self.output}
            loaded = load_settings(self.config, flags)
            if self.offline:
                loaded = self._offline(loaded)
            self._settings = loaded
        return self._settings

    def _offline(self, loaded: Settings) -> Settings:
        from breakglass_aws.errors import UsageError
        from breakglass_aws.journal.sync import offline_path
        from breakglass_aws.settings import default_state_dir

        if not loaded.store_spec().startswith("dynamodb://"):
            raise UsageError(
                "--offline-store is for a shared (DynamoDB) store; this one is already local",
                "leave out --offline-store",
            )
        path = offline_path(default_state_dir())
        typer.echo(
            f"OFFLINE STORE: the shared store is bypassed; incidents are kept in {path}. "
            "Run `breakglass sync` as soon as it is reachable.",
            err=True,
        )
        self._shared_spec = loaded.store_spec()
        return loaded.model_copy(update={"store": str(path)})

    def require_shared(self, what: str) -> None:
        from breakglass_aws.errors import UsageError

        if self.offline:
            raise UsageError(f"{what} needs the shared store", "leave out --offline-store")

    @property
    def json(self) -> bool:
        return self.settings().output == "json"

    def runtime(self) -> Runtime:
        if self._runtime is None:
            self._runtime = self._build_runtime()
        return self._runtime

    def _build_runtime(self) -> Runtime:
        from breakglass_aws.runtime import Injected, build_runtime

        o = self.overrides
        injected = Injected(
            hooks=list(o.hooks),
            clock=o.clock,
            botocore_session=o.botocore_session,
            http_get=o.http_get,
            progress=self.progress,
            pace=o.pace,
        )
        rt = build_runtime(self.settings(), injected)
        rt.shared_store_spec = self._shared_spec
        return rt

    def progress(self, message: str) -> None:
        from breakglass_aws.clock import zulu

        if not self.quiet:
            typer.echo(zulu(message), err=True)


def state(ctx: typer.Context) -> CliState:
    obj = ctx.find_root().obj
    if not isinstance(obj, CliState):
        raise TypeError("a breakglass command runs under the breakglass root command (its callback sets the state)")
    return obj
