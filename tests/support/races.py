"""Engineers racing on one store: another command run in the gap before a store call, a detach, a blocked target."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from breakglass_aws.incident.scp import open_scp_incident, plan_scp_detach
from breakglass_aws.models import FULL_AWS_ACCESS
from breakglass_aws.runtime import Runtime, whoami


class Interleave:
    """The store, with `hook` run once, just before the first call of `method`: the other
    engineer's command runs in that gap."""

    def __init__(self, store: Any, method: str, hook: Callable[[], None]) -> None:
        self._store, self._method, self._hook = store, method, hook

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._store, name)
        hook = self._hook
        if name != self._method or hook is None:
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            self._hook = None
            hook()
            return attr(*args, **kwargs)

        return call


def detach(rt: Runtime, org, policies: list[str], join: bool = False) -> str:
    plan = plan_scp_detach(rt, org.account, policies, join=join)
    return open_scp_incident(rt, plan, whoami(rt), "outage", None, timedelta(hours=1), join=join).incident_id


def blocked_by(org, count: int) -> list[str]:
    policies = [org.new_policy(f"Deny{n}") for n in range(count)]
    for p in policies:
        org.attach(p, org.account)
    org.detach(FULL_AWS_ACCESS, org.account)
    return policies
