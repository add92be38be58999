"""The dead-man switch: when an SCP incident activates, a one-time EventBridge Scheduler
schedule `at(expiry)` invokes the restore function for it; closing removes it. Neither may ever
block the emergency: failures are journaled, warned and notified."""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from breakglass_aws.gate import StepFailed, apply_steps
from breakglass_aws.models import Incident, Mode
from breakglass_aws.runtime import Runtime

__all__ = ["RETRY_POLICY", "ScheduleStep", "arm", "disarm", "schedule_name"]

# An invocation EventBridge Scheduler could not deliver (throttled, the function or its role
# missing) is tried again for an hour, then sent to the dead-letter queue when one is configured
# (schedule_dead_letter_arn), whose alarm reaches the notification topic.
RETRY_POLICY = {"MaximumRetryAttempts": 3, "MaximumEventAgeInSeconds": 3600}


class ScheduleStep(BaseModel):
    model_config = ConfigDict(extra="forbid")
    action: Literal["create-schedule", "delete-schedule"]
    name: str
    group: str
    expression: str | None = None

    def describe(self) -> str:
        when = f" {self.expression}" if self.expression else ""
        return f"{self.action} {self.group}/{self.name}{when}"


def schedule_name(incident: Incident) -> str:
    return f"breakglass-restore-{incident.incident_id}"


def _target(rt: Runtime, incident: Incident) -> dict[str, Any]:
    target: dict[str, Any] = {
        "Arn": rt.schedule.function_arn,
        "RoleArn": rt.schedule.role_arn,
        "Input": json.dumps({"incident_id": incident.incident_id}),
        "RetryPolicy": dict(RETRY_POLICY),
    }
    if rt.schedule.dead_letter_arn:
        target["DeadLetterConfig"] = {"Arn": rt.schedule.dead_letter_arn}
    return target


def _create(scheduler: Any, rt: Runtime, incident: Incident, step: ScheduleStep) -> None:
    try:
        scheduler.create_schedule(
            Name=step.name,
            GroupName=step.group,
            ScheduleExpression=step.expression,
            ScheduleExpressionTimezone="UTC",
            FlexibleTimeWindow={"Mode": "OFF"},
            ActionAfterCompletion="DELETE",
            Description=f"restore {incident.incident_id} at its expiry",
            Target=_target(rt, incident),
        )
    except scheduler.exceptions.ConflictException:
        return  # already armed (a rerun)


def _delete(scheduler: Any, step: ScheduleStep) -> None:
    try:
        scheduler.delete_schedule(Name=step.name, GroupName=step.group)
    except scheduler.exceptions.ResourceNotFoundException:
        return  # fired, or never armed


def arm(rt: Runtime, incident: Incident) -> bool:
    if not rt.schedule.enabled or incident.mode is not Mode.SCP:
        return False
    expression = f"at({incident.expires_at:%Y-%m-%dT%H:%M:%S})"
    step = ScheduleStep(
        action="create-schedule", name=schedule_name(incident), group=rt.schedule.group, expression=expression
    )
    return _apply(rt, incident, step, lambda s: _create(rt.factory.client("scheduler"), rt, incident, s))


def disarm(rt: Runtime, incident: Incident) -> bool:
    if not rt.schedule.enabled or incident.mode is not Mode.SCP:
        return False
    step = ScheduleStep(action="delete-schedule", name=schedule_name(incident), group=rt.schedule.group)
    return _apply(rt, incident, step, lambda s: _delete(rt.factory.client("scheduler"), s))


def _apply(rt: Runtime, incident: Incident, step: ScheduleStep, perform: Any) -> bool:
    from breakglass_aws.lifecycle import notify

    try:
        apply_steps(rt.store, incident.incident_id, [step], perform)
    except StepFailed as failed:
        rt.progress(
            f"warning: could not {step.action} ({failed.error.message}); "
            "`breakglass restore --expired` from cron or the periodic schedule still restores it"
        )
        notify(rt, incident, f"{step.action}-failed", failed.error.message)
        return False
    return True
