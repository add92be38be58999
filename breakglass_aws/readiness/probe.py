"""`check --outage-probe`: which break-glass paths work right now?"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

from breakglass_aws.aws import ClientFactory, aws_errors
from breakglass_aws.errors import BreakglassError
from breakglass_aws.runtime import Runtime

if TYPE_CHECKING:
    from breakglass_aws.journal.base import Store

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


PROBE_TIMEOUT = 3.0


def probe(rt: Runtime) -> ProbeReport:
    """Every service at once, one try each with a short budget: a probe answers in seconds even
    when several services hang. The store probed is always the configured one (with
    --offline-store, the shared store that is being bypassed)."""
    region = rt.factory.region_name()
    factory = replace(
        rt.factory,
        max_attempts=1,
        control_plane_attempts=1,
        connect_timeout=min(rt.factory.connect_timeout, PROBE_TIMEOUT),
        read_timeout=min(rt.factory.read_timeout, PROBE_TIMEOUT),
        control_plane_timeout=min(rt.factory.control_plane_timeout, PROBE_TIMEOUT),
    )
    # clients are built here, one after another (building them is not thread-safe); calls run in parallel
    sts, iam, org = factory.client("sts"), factory.client("iam"), factory.client("organizations")
    store = _store_to_probe(rt, factory)
    calls: list[tuple[str, Callable[[], Any]]] = [
        (f"sts ({region}, regional)", sts.get_caller_identity),
        ("iam (us-east-1 control plane)", lambda: iam.list_account_aliases(MaxItems=1)),
        ("organizations (us-east-1 control plane)", org.describe_organization),
        ("incident store", lambda: store.list_incidents(limit=1)),
    ]
    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        probes = list(pool.map(lambda named: _run(*named), calls))
    sts_ok, iam_ok, org_ok, store_ok = (p.ok for p in probes)
    paths = {
        "role assume (pre-staged role, regional STS)": sts_ok,
        "scp detach / restore": sts_ok and org_ok,
        "revoke sessions / rotate credentials": sts_ok and iam_ok,
        # AssumeRoot is authorized by IAM's organization features: no path while us-east-1's IAM is down
        "root tasks (AssumeRoot: needs the IAM control plane, us-east-1)": sts_ok and iam_ok and org_ok,
        "shared incident store": store_ok,
    }
    return ProbeReport(probes=probes, paths=paths)


def _store_to_probe(rt: Runtime, factory: ClientFactory) -> Store:
    from breakglass_aws.journal import open_store
    from breakglass_aws.journal.dynamodb import DynamoStore

    if rt.shared_store_spec:
        return open_store(rt.shared_store_spec, factory, rt.clock, rt.store_region)
    if isinstance(rt.store, DynamoStore):
        return DynamoStore(factory, rt.store.table, rt.clock, rt.store.db.meta.region_name)
    return rt.store
