"""`drill`: rehearse the whole procedure against a sandbox account, timed, with evidence, and
recorded as a drill incident. It stops loudly at the first step that does not work."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict

from breakglass_aws.aws import aws_errors
from breakglass_aws.errors import BreakglassError, GuardRailError
from breakglass_aws.incident.close import close_incident
from breakglass_aws.incident.evidence import EvidenceOptions, collect_evidence
from breakglass_aws.incident.records import open_record
from breakglass_aws.incident.role import choose_role, open_role_incident
from breakglass_aws.incident.scp import open_scp_incident, plan_scp_detach
from breakglass_aws.incident.status import set_status
from breakglass_aws.models import Incident, IncidentStatus, Mode, Requester, new_incident_id
from breakglass_aws.role.assume import Credentials
from breakglass_aws.runtime import Runtime, whoami
from breakglass_aws.scp.plan import DetachPlan
from breakglass_aws.validate import validate_target

__all__ = ["DrillResult", "DrillStep", "run_drill"]

T = TypeVar("T")


class DrillStep(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    ok: bool
    seconds: float
    detail: str


class DrillResult(BaseModel):
    model_config = ConfigDict(extra="forbid")
    drill_id: str
    account: str
    scp_target: str | None = None
    steps: list[DrillStep]
    time_to_access_seconds: float | None = None
    time_to_restore_seconds: float | None = None
    evidence: list[str] = []
    # a bundle collected before CloudTrail's delivery delay is not final: when it becomes final, and
    # the command that collects it again then (waiting for the delivery)
    not_final: dict[str, str] = {}  # folder -> final_after
    finalize: list[str] = []
    ok: bool = False


class _Runner:
    def __init__(self, rt: Runtime, drill: Incident, result: DrillResult) -> None:
        self.rt, self.drill, self.result = rt, drill, result
        self.opened: list[str] = []  # incidents the drill opened: closed by it, or to close by hand

    def step(self, name: str, action: Callable[[], T], detail: Callable[[T], str]) -> T:
        self.rt.progress(f"drill: {name} ...")
        start = time.perf_counter()
        try:
            value = action()
        except Exception as err:  # every failure is recorded, expected or not
            message = err.message if isinstance(err, BreakglassError) else f"unexpected {type(err).__name__}: {err}"
            self._fail(name, time.perf_counter() - start, message)
            if not isinstance(err, BreakglassError):
                raise
            hint = err.remediation or "fix it and rehearse again"
            if self.opened:
                hint += "; then close what the drill opened: " + ", ".join(f"breakglass close {i}" for i in self.opened)
            failure = GuardRailError(f"drill failed at '{name}': {err.message}", hint)
            failure.exit_code = err.exit_code  # access denied (6), an AWS failure (7), a bug (1) stay so
            raise failure from err
        self._record(name, True, time.perf_counter() - start, detail(value))
        return value

    def _fail(self, name: str, seconds: float, message: str) -> None:
        try:
            self._record(name, False, seconds, message)
        finally:
            set_status(self.rt, self.drill, IncidentStatus.FAILED, f"{name} failed: {message}")

    def _record(self, name: str, ok: bool, seconds: float, detail: str) -> None:
        step = DrillStep(name=name, ok=ok, seconds=round(seconds, 3), detail=detail)
        self.result.steps.append(step)
        self.rt.store.append(self.drill.incident_id, "drill-step", step.model_dump())
        self.rt.progress(f"drill: {name}: {'ok' if ok else 'FAILED'} ({step.seconds}s) {detail}")


def _plan(rt: Runtime, account: str, scp_target: str) -> DetachPlan:
    """The detach plan for the drill; when the target holds nothing detachable, name the parent
    that holds the Deny SCPs."""
    try:
        return plan_scp_detach(rt, scp_target, [])
    except GuardRailError as err:
        if not err.message.startswith("nothing to detach"):
            raise
        holder = _parent_with_scps(rt, scp_target)
        where = (
            f"rehearse with --scp-target {holder[0]} (the parent holding {', '.join(holder[1])}; "
            "detaching there changes every account below it for the drill)"
            if holder
            else "attach a Deny SCP to the sandbox account, or rehearse with --scp-target OU_ID"
        )
        scope = "the account" if scp_target == account else scp_target
        raise GuardRailError(f"nothing to detach: {scope} {scp_target} holds only FullAWSAccess", where) from err


def _parent_with_scps(rt: Runtime, target: str) -> tuple[str, list[str]] | None:
    org = rt.factory.client("organizations")
    current = target
    with aws_errors():
        while not current.startswith("r-"):
            parents = org.list_parents(ChildId=current)["Parents"]
            if not parents:
                return None
            current = parents[0]["Id"]
            pages = org.get_paginator("list_policies_for_target").paginate(
                TargetId=current, Filter="SERVICE_CONTROL_POLICY"
            )
            names = [p["Name"] for page in pages for p in page["Policies"] if p["Id"] != "p-FullAWSAccess"]
            if names:
                return current, names
    return None


def _open_drill(rt: Runtime, requester: Requester, account: str) -> Incident:
    now = rt.clock()
    drill = Incident(
        incident_id=new_incident_id(now),
        mode=Mode.DRILL,
        status=IncidentStatus.ACTIVE,
        requester=requester,
        reason="break-glass drill",
        targets=[account],
        created_at=now,
        expires_at=now + timedelta(hours=1),
    )
    open_record(rt, drill)
    return drill


def _harmless_call(rt: Runtime, creds: Credentials) -> str:
    sts = rt.factory.client_as(
        "sts", creds.access_key_id, creds.secret_access_key.get_secret_value(), creds.session_token.get_secret_value()
    )
    with aws_errors():
        return str(sts.get_caller_identity()["Arn"])


def run_drill(
    rt: Runtime,
    account: str,
    token_code: str | None,
    users: list[str],
    evidence: EvidenceOptions,
    out: Path | None = None,
    scp_target: str | None = None,
) -> DrillResult:
    validate_target(account)
    target = scp_target or account
    validate_target(target)
    requester = whoami(rt)
    drill = _open_drill(rt, requester, account)
    result = DrillResult(drill_id=drill.incident_id, account=account, scp_target=target, steps=[])
    run = _Runner(rt, drill, result)
    start = time.perf_counter()
    plan = run.step(
        f"plan SCP detach on {target}", lambda: _plan(rt, account, target), lambda p: f"{p.snapshot.detach}"
    )
    scp = run.step(
        "detach SCPs",
        lambda: open_scp_incident(rt, plan, requester, "drill", drill.incident_id, timedelta(hours=1)),
        lambda i: i.incident_id,
    )
    run.opened.append(scp.incident_id)
    choice = run.step(
        "choose the break-glass role",
        lambda: choose_role(rt, account, None, None, None, token_code, "1h"),
        lambda c: c.role_arn,
    )
    role, creds, _ = run.step(
        "assume the break-glass role",
        lambda: open_role_incident(rt, choice, requester, "drill", drill.incident_id),
        lambda r: r[0].incident_id,
    )
    run.opened.append(role.incident_id)
    result.time_to_access_seconds = round(time.perf_counter() - start, 3)
    run.step("harmless call with the credentials", lambda: _harmless_call(rt, creds), lambda arn: arn)
    restore_start = time.perf_counter()
    run.step(
        "close the role incident (revoke sessions)",
        lambda: _closed(close_incident(rt, role.incident_id, requester)),
        str,
    )
    run.opened.remove(role.incident_id)
    run.step(
        "close the SCP incident (restore, rotate)",
        lambda: _closed(close_incident(rt, scp.incident_id, requester, users)),
        str,
    )
    run.opened.remove(scp.incident_id)
    result.time_to_restore_seconds = round(time.perf_counter() - restore_start, 3)
    for incident in (scp, role):
        folder = (out / incident.incident_id) if out else None
        collect = functools.partial(collect_evidence, rt, incident.incident_id, folder, evidence)
        bundle = run.step(
            f"collect evidence of {incident.incident_id}", collect, lambda b: f"{b.event_count} events in {b.folder}"
        )
        result.evidence.append(bundle.folder)
        if not bundle.final:
            result.not_final[bundle.folder] = bundle.final_after
            result.finalize.append(
                f"breakglass evidence collect {incident.incident_id} --out {bundle.folder} --wait-for-delivery"
            )
    result.ok = True
    drill.request = {
        "time_to_access_seconds": result.time_to_access_seconds,
        "time_to_restore_seconds": result.time_to_restore_seconds,
    }
    set_status(rt, drill, IncidentStatus.CLOSED, "drill passed", release=drill.lock_targets())
    return result


def _closed(result: Any) -> str:
    if result.status.value != "closed":
        raise GuardRailError(f"the incident ended {result.status.value}", "see: breakglass show " + result.incident_id)
    return "closed"
