"""Notifications: every lifecycle event is published to an SNS topic with `MessageStructure=json`,
one rendering per kind of subscriber (see `notice_format`)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any, Protocol

from breakglass_aws.aws import ClientFactory
from breakglass_aws.models import Incident
from breakglass_aws.notice_format import structured

__all__ = ["Notifier", "SnsNotifier", "message_for", "publish_with_retry"]

SUBJECT_MAX = 100
ATTEMPTS = 3
RETRY_PAUSE = 0.2


class Notifier(Protocol):
    def publish(self, message: dict[str, Any], subject: str) -> str:
        """Send one message; return its id. May raise: the caller journals and goes on."""


class SnsNotifier:
    def __init__(self, factory: ClientFactory, topic_arn: str) -> None:
        self.factory = factory
        self.topic_arn = topic_arn
        self.region = topic_arn.split(":")[3] if topic_arn.count(":") >= 5 else None
        self._actor: dict[str, str | None] | None = None

    def actor(self) -> dict[str, str | None]:
        """Who runs this command, from sts:GetCallerIdentity (asked once): the approver, the
        restorer, the scheduled job. Never a name the caller typed."""
        if self._actor is None:
            try:
                arn = str(self.factory.client("sts").get_caller_identity()["Arn"])
            except Exception:  # an unreachable STS must not block a notification
                return {"actor": None, "actor_arn": None}
            self._actor = {"actor": arn.rsplit("/", 1)[-1].rsplit(":", 1)[-1], "actor_arn": arn}
        return self._actor

    def publish(self, message: dict[str, Any], subject: str) -> str:
        sns = self.factory.client("sns", self.region)
        actor = self.actor()
        who = {"who": actor["actor"], "who_arn": actor["actor_arn"]}
        body = {**actor, **who, **message}
        subject = subject[:SUBJECT_MAX]
        payload = structured(body, subject)
        if payload is None:  # too large to render per protocol: the structured JSON alone, as before
            answer = sns.publish(TopicArn=self.topic_arn, Subject=subject, Message=json.dumps(body, sort_keys=True))
        else:
            answer = sns.publish(TopicArn=self.topic_arn, Subject=subject, Message=payload, MessageStructure="json")
        return str(answer.get("MessageId", ""))


def publish_with_retry(
    notifier: Notifier,
    message: dict[str, Any],
    subject: str,
    on_failure: Callable[[int, Exception], None],
    attempts: int = ATTEMPTS,
    sleep: Callable[[float], None] = time.sleep,
) -> str | None:
    """Publish, trying again after a failure (botocore has already retried each attempt);
    `on_failure(attempt, error)` is told of every failed attempt. The message id, or None when
    every attempt failed."""
    for attempt in range(1, attempts + 1):
        try:
            return notifier.publish(message, subject)
        except Exception as err:  # any failure: report it, try again if it may pass, never raise
            on_failure(attempt, err)
            if not _transient(err):
                return None
            if attempt < attempts:
                sleep(RETRY_PAUSE * attempt)
    return None


TRANSIENT_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "InternalError",
        "InternalFailure",
        "ServiceUnavailable",
        "KMSThrottling",
    }
)


def _transient(err: Exception) -> bool:
    """Worth another attempt: throttling, a 5xx, or the network. A missing topic or a denied
    publish will fail the same way again."""
    response = getattr(err, "response", None)
    if isinstance(response, dict) and "Error" in response:
        code = str(response["Error"].get("Code", ""))
        status = int(response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        return code in TRANSIENT_CODES or status >= 500
    if type(err).__name__ in ("ReadTimeoutError", "ConnectTimeoutError"):
        return False  # a hung endpoint: another wait would only delay the emergency
    return type(err).__module__.startswith(("botocore", "urllib3"))


def message_for(incident: Incident, event: str, detail: str | None, at: str) -> tuple[dict[str, Any], str]:
    data = incident.public()
    message = {
        "source": "breakglass-aws",
        "event": event,
        "at": at,
        "incident_id": incident.incident_id,
        "mode": incident.mode.value,
        "status": incident.status.value,
        "requester": incident.requester.name,
        "requester_arn": incident.requester.arn,
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
