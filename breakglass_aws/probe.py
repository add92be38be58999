"""`check --outage-probe`: which break-glass paths work right now?"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ConfigDict

from breakglass_aws.aws import aws_errors
from breakglass_aws.errors import BreakglassError
from breakglass_aws.runtime import Runtime

__all__ = ["Probe", "ProbeReport", "probe"]


class Probe(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    ok: bool
    seconds: float
    detail: str


class ProbeReport(BaseModel):
    model_config = ConfigDict(extra="forbid")
    probes: list[Probe]
    paths: dict[str, bool]


def _run(name: str, call: Callable[[], Any]) -> Probe:
    start = time.perf_counter()
    try:
        with aws_errors():
            call()
    except BreakglassError as err:
        return Probe(name=name, ok=False, seconds=round(time.perf_counter() - start, 3), detail=err.message)
    return Probe(name=name, ok=True, seconds=round(time.perf_counter() - start, 3), detail="ok")


def probe(rt: Runtime) -> ProbeReport:
    region = rt.factory.region_name()
    probes = [
        _run(f"sts ({region}, regional)", lambda: rt.factory.client("sts").get_caller_identity()),
        _run("iam (us-east-1 control plane)", lambda: rt.factory.client("iam").list_account_aliases(MaxItems=1)),
        _run(
            "organizations (us-east-1 control plane)",
            lambda: rt.factory.client("organizations").describe_organization(),
        ),
        _run("incident store", lambda: rt.store.list_incidents(limit=1)),
    ]
    sts, iam, org, store = (p.ok for p in probes)
    paths = {
        "role assume (pre-staged role, regional STS)": sts,
        "scp detach / restore": sts and org,
        "revoke sessions / rotate credentials": sts and iam,
        "shared incident store": store,
    }
    return ProbeReport(probes=probes, paths=paths)
