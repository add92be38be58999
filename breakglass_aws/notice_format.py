"""How a notification reads, per kind of SNS subscriber. Machines (SQS, Lambda, email-json, any
protocol without a key of its own) get the structured JSON; email a plain-text body; HTTP(S)
endpoints the custom notification that AWS's chat integration (Amazon Q Developer in chat
applications) shows."""

from __future__ import annotations

import json
import uuid
from typing import Any

from breakglass_aws.redact import redact

__all__ = ["MESSAGE_MAX", "chat_notice", "email_text", "facts", "structured"]

MESSAGE_MAX = 262_144  # bytes: SNS refuses a larger message
VALUE_MAX = 1_000  # characters of one field as a person reads it
DESCRIPTION_MAX = 8_000  # characters of the chat description
# the fields a person reads first, in this order; the rest follow by name
LEAD: tuple[str, ...] = ("event", "incident_id", "mode", "status", "who", "requester", "reason", "ticket")
LEAD += ("targets", "expires_at", "detail")
QUIET = frozenset({"source", "actor", "actor_arn"})  # a constant, or said again as who / who_arn


def structured(body: dict[str, Any], subject: str) -> str | None:
    """The `MessageStructure=json` message: a JSON object of one string per protocol. When it
    would pass SNS's limit, the keys that only repeat `default` go first; None if it still would."""
    machine = json.dumps(body, sort_keys=True)
    chat = json.dumps(chat_notice(body, subject), sort_keys=True)
    human = {"default": machine, "email": email_text(body, subject), "https": chat, "http": chat}
    for variants in ({**human, "sqs": machine, "lambda": machine}, human):
        message = json.dumps(variants, sort_keys=True)
        if len(message.encode()) <= MESSAGE_MAX:
            return message
    return None


def facts(body: dict[str, Any]) -> list[tuple[str, str]]:
    """The fields a person reads, the important ones first, as (name, text): none empty or false,
    long ones cut, credential-shaped text masked (a detail may quote an error)."""
    names = [k for k in LEAD if k in body] + sorted(k for k in body if k not in LEAD and k not in QUIET)
    return [(k, _text(body[k])) for k in names if not (body[k] is None or body[k] is False or body[k] in ("", []))]


def _text(value: Any) -> str:
    if isinstance(value, list | tuple):
        return _cap(", ".join(_text(v) for v in value), VALUE_MAX)
    if isinstance(value, bool):
        return "yes" if value else "no"
    text = json.dumps(value, sort_keys=True, default=str) if isinstance(value, dict) else str(value)
    return _cap(redact(text), VALUE_MAX)


def _cap(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def email_text(body: dict[str, Any], subject: str) -> str:
    """Plain text for a mailbox: the subject, then one `name: value` line a field."""
    lines = [subject, "", *(f"{name}: {text}" for name, text in facts(body))]
    if body.get("incident_id"):
        lines += ["", f"The full record: breakglass show {body['incident_id']}"]
    return "\n".join(lines) + "\n"


def chat_notice(body: dict[str, Any], subject: str) -> dict[str, Any]:
    """The custom-notification event of Amazon Q Developer in chat applications (version 1.0,
    source custom); updates of one incident share its thread."""
    shown = facts(body)
    incident = body.get("incident_id")
    content: dict[str, Any] = {
        "textType": "client-markdown",
        "title": subject,
        "description": _cap("\n".join(f"*{name}:* {text}" for name, text in shown), DESCRIPTION_MAX),
    }
    metadata: dict[str, Any] = {"summary": subject, "eventType": str(body.get("event") or "notice")}
    metadata["additionalContext"] = dict(shown)
    if incident:
        content["nextSteps"] = [f"`breakglass show {incident}`"]
        metadata["threadId"] = str(incident)
    if isinstance(body.get("targets"), list) and body["targets"]:
        metadata["relatedResources"] = [_cap(str(t), VALUE_MAX) for t in body["targets"]]
    return {"version": "1.0", "source": "custom", "id": _notice_id(body), "content": content, "metadata": metadata}


def _notice_id(body: dict[str, Any]) -> str:
    """Stable for one event of one incident (or one CloudTrail event), so a repeated publish is
    recognisable; random otherwise."""
    key = [str(body[k]) for k in ("incident_id", "event_id", "event", "at") if body.get(k)]
    return ":".join(key) if body.get("incident_id") or body.get("event_id") else str(uuid.uuid4())
