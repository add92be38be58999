"""Notifications: every lifecycle event is published to an SNS topic as structured JSON."""

from __future__ import annotations

import json
from typing import Any, Protocol

from breakglass_aws.aws import ClientFactory
from breakglass_aws.models import Incident

__all__ = ["Notifier", "SnsNotifier", "message_for"]

SUBJECT_MAX = 100


class Notifier(Protocol):
    def publish(self, message: dict[str, Any], subject: str) -> str:
        """Send one message; return its id. May raise: the caller journals and goes on."""


class SnsNotifier:
    def __init__(self, factory: ClientFactory, topic_arn: str) -> None:
        self.factory = factory
        self.topic_arn = topic_arn
        self.region = topic_arn.split(":")[3] if topic_arn.count(":") >= 5 else None

    def publish(self, message: dict[str, Any], subject: str) -> str:
        sns = self.factory.client("sns", self.region)
        answer = sns.publish(
            TopicArn=self.topic_arn, Subject=subject[:SUBJECT_MAX], Message=json.dumps(message, sort_keys=True)
        )
        return str(answer.get("MessageId", ""))


def message_for(incident: Incident, event: str, detail: str | None, at: str) -> tuple[dict[str, Any], str]:
    data = incident.public()
    message = {
        "source": "breakglass-aws",
        "event": event,
        "at": at,
        "incident_id": incident.incident_id,
        "mode": incident.mode.value,
        "status": incident.status.value,
        "who": incident.requester.name,
        "who_arn": incident.requester.arn,
        "reason": incident.reason,
        "ticket": incident.ticket,
        "targets": incident.targets,
        "expires_at": data["expires_at"],
        "override": incident.override,
        "detail": detail,
    }
    flag = "OVERRIDE " if incident.override else ""
    subject = f"[breakglass] {flag}{event}: {incident.incident_id} {incident.mode.value} {','.join(incident.targets)}"
    subject = subject if len(subject) <= SUBJECT_MAX else subject[: SUBJECT_MAX - 3] + "..."
    return message, subject
