"""The dead-man switch: when an SCP incident activates, a one-time EventBridge Scheduler
schedule `at(expiry)` invokes the restore function for it; closing removes it. Neither may ever
block the emergency: failures are journaled, warned and notified."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict

from breakglass_aws.errors import ConfigError
from breakglass_aws.incident.gate import StepFailed, apply_steps
from breakglass_aws.models import Incident, Mode
from breakglass_aws.runtime import Runtime, ScheduleDefaults

if TYPE_CHECKING:
    from mypy_boto3_scheduler import EventBridgeSchedulerClient
    from mypy_boto3_scheduler.type_defs import TargetTypeDef

__all__ = ["RETRY_POLICY", "ScheduleStep", "arm", "disarm", "rearm", "schedule_name"]

# An invocation EventBridge Scheduler could not deliver (throttled, the function or its role
# missing) is tried again for an hour, then sent to the dead-letter queue when one is configured
# (schedule_dead_letter_arn), whose alarm reaches the notification topic.
RETRY_POLICY = {"MaximumRetryAttempts": 3, "MaximumEventAgeInSeconds": 3600}


class ScheduleStep(BaseModel):
    model_config = ConfigDict(extra="forbid")
    action: Literal["create-schedule", "delete-schedule", "update-schedule"]
    name: str
    group: str
    expression: str | None = None

    def describe(self) -> str:
        when = f" {self.expression}" if self.expression else ""
        return f"{self.action} {self.group}/{self.name}{when}"


def _at(incident: Incident) -> str:
    return f"at({incident.expires_at:%Y-%m-%dT%H:%M:%S})"


def schedule_name(incident: Incident) -> str:
    return f"breakglass-restore-{incident.incident_id}"


def _target(schedule: ScheduleDefaults, incident: Incident) -> TargetTypeDef:
    if not (schedule.function_arn and schedule.role_arn):
        raise ConfigError(
            "no scheduled restore configured",
            "set restore_function_arn and scheduler_role_arn (terraform control-plane outputs)",
        )
    target: TargetTypeDef = {
        "Arn": schedule.function_arn,
        "RoleArn": schedule.role_arn,
        "Input": json.dumps({"incident_id": incident.incident_id}),
        "RetryPolicy": {
            "MaximumRetryAttempts": RETRY_POLICY["MaximumRetryAttempts"],
            "MaximumEventAgeInSeconds": RETRY_POLICY["MaximumEventAgeInSeconds"],
        },
    }
    if schedule.dead_letter_arn:
        target["DeadLetterConfig"] = {"Arn": schedule.dead_letter_arn}
    return target


def _create(scheduler: EventBridgeSchedulerClient, rt: Runtime, incident: Incident, step: ScheduleStep) -> None:
    try:
        scheduler.create_schedule(
            Name=step.name,
            GroupName=step.group,
            ScheduleExpression=step.expression or _at(incident),
            ScheduleExpressionTimezone="UTC",
            FlexibleTimeWindow={"Mode": "OFF"},
            ActionAfterCompletion="DELETE",
            Description=f"restore {incident.incident_id} at its expiry",
            Target=_target(rt.schedule, incident),
        )
    except scheduler.exceptions.ConflictException:
        return  # already armed (a rerun)


def _update(scheduler: EventBridgeSchedulerClient, rt: Runtime, incident: Incident, step: ScheduleStep) -> None:
    """The schedule moved to the new expiry (created again if it fired or was never armed)."""
    try:
        scheduler.update_schedule(
            Name=step.name,
            GroupName=step.group,
            ScheduleExpression=step.expression or _at(incident),
            ScheduleExpressionTimezone="UTC",
            FlexibleTimeWindow={"Mode": "OFF"},
            ActionAfterCompletion="DELETE",
            Description=f"restore {incident.incident_id} at its expiry",
            Target=_target(rt.schedule, incident),
        )
    except scheduler.exceptions.ResourceNotFoundException:
        _create(scheduler, rt, incident, step)


def _delete(scheduler: EventBridgeSchedulerClient, step: ScheduleStep) -> None:
    try:
        scheduler.delete_schedule(Name=step.name, GroupName=step.group)
    except scheduler.exceptions.ResourceNotFoundException:
        return  # fired, or never armed


EXPIRING_MODES = (Mode.SCP, Mode.ROLE)  # an SCP incident is restored at expiry, a role incident closed


def arm(rt: Runtime, incident: Incident) -> bool:
    if not rt.schedule.enabled or incident.mode not in EXPIRING_MODES:
        return False
    step = ScheduleStep(
        action="create-schedule", name=schedule_name(incident), group=rt.schedule.group, expression=_at(incident)
    )
    return _apply(rt, incident, step, lambda s: _create(rt.factory.client("scheduler"), rt, incident, s))


def rearm(rt: Runtime, incident: Incident) -> bool:
    """After the expiry moved (`extend`): the schedule fires at the new one."""
    if not rt.schedule.enabled or incident.mode not in EXPIRING_MODES:
        return False
    step = ScheduleStep(
        action="update-schedule", name=schedule_name(incident), group=rt.schedule.group, expression=_at(incident)
    )
    return _apply(rt, incident, step, lambda s: _update(rt.factory.client("scheduler"), rt, incident, s))


def disarm(rt: Runtime, incident: Incident) -> bool:
    if not rt.schedule.enabled or incident.mode not in EXPIRING_MODES:
        return False
    step = ScheduleStep(action="delete-schedule", name=schedule_name(incident), group=rt.schedule.group)
    return _apply(rt, incident, step, lambda s: _delete(rt.factory.client("scheduler"), s))


def _apply(rt: Runtime, incident: Incident, step: ScheduleStep, perform: Any) -> bool:
    from breakglass_aws.incident.notice import notify

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
