"""The notice of a lifecycle event: published to the topic with the journal head it follows,
that head anchored under Object Lock (and signed at close), and each of those journaled after.
None of them ever blocks the emergency: a failure is journaled and warned, and the work goes on."""

from __future__ import annotations

import logging
from typing import Any

from breakglass_aws.clock import isoformat
from breakglass_aws.journal.anchor import Anchor, AnchorStore, Signature, head_message
from breakglass_aws.models import Incident
from breakglass_aws.notify import Notifier, message_for, publish_with_retry
from breakglass_aws.redact import redact
from breakglass_aws.runtime import Runtime

__all__ = ["notify"]

log = logging.getLogger(__name__)


def notify(
    rt: Runtime,
    incident: Incident,
    event: str,
    detail: str | None = None,
    head: tuple[int, str] | None = None,
    sign: bool = False,
) -> None:
    """Publish a lifecycle event carrying the journal head, and anchor that head. Neither ever
    blocks the emergency: each failed attempt is journaled and warned, and the work goes on."""
    if rt.notifier is None and rt.anchors is None:
        return
    head = head or rt.store.head(incident.incident_id)
    records: list[tuple[str, dict[str, Any]]] = []
    signature = _sign(rt, incident, head, records) if sign else None
    if rt.notifier is not None:
        _publish(rt, rt.notifier, incident, event, detail, head, records)
    if rt.anchors is not None:
        _anchor(rt, rt.anchors, incident, event, head, signature, records)
    try:
        rt.store.append_many(incident.incident_id, records)
    except Exception as err:  # the record of a side channel: never the reason a command fails
        log.debug("%s: could not journal the notification records: %s", incident.incident_id, err)
        rt.progress(f"warning: could not journal the notification of '{event}' for {incident.incident_id}")


def _failure(err: Exception) -> str:
    return redact(f"{type(err).__name__}: {err}")[:300]


def _publish(
    rt: Runtime,
    notifier: Notifier,
    incident: Incident,
    event: str,
    detail: str | None,
    head: tuple[int, str],
    records: list[tuple[str, dict[str, Any]]],
) -> None:
    message, subject = message_for(incident, event, detail, isoformat(rt.clock()))
    message["journal_head"] = {"seq": head[0], "hash": head[1]}

    def failed(attempt: int, err: Exception) -> None:
        reason = _failure(err)
        records.append(("notify-failed", {"event": event, "attempt": attempt, "error": reason}))
        rt.progress(f"warning: notification '{event}' failed (attempt {attempt}): {reason}")

    message_id = publish_with_retry(notifier, message, subject, failed)
    if message_id is None:
        rt.progress(f"warning: notification '{event}' for {incident.incident_id} was not sent; see its journal")
        return
    records.append(("notified", {"event": event, "message_id": message_id, "seq": head[0]}))


def _sign(
    rt: Runtime, incident: Incident, head: tuple[int, str], records: list[tuple[str, dict[str, Any]]]
) -> Signature | None:
    if rt.signer is None:
        return None
    try:
        signature = rt.signer.sign(head_message(incident.incident_id, *head))
    except Exception as err:  # KMS unreachable: the close stands; the missing signature is recorded
        records.append(("sign-failed", {"seq": head[0], "error": _failure(err)}))
        rt.progress(f"warning: the journal head of {incident.incident_id} could not be signed: {_failure(err)}")
        return None
    records.append(("signed", {"seq": head[0], "hash": head[1], **signature.model_dump()}))
    return signature


def _anchor(
    rt: Runtime,
    anchors: AnchorStore,
    incident: Incident,
    event: str,
    head: tuple[int, str],
    signature: Signature | None,
    records: list[tuple[str, dict[str, Any]]],
) -> None:
    anchor = Anchor(
        incident_id=incident.incident_id,
        seq=head[0],
        hash=head[1],
        event=event,
        at=isoformat(rt.clock()),
        signature=signature,
    )
    try:
        version = anchors.write(anchor, rt.clock())
    except Exception as err:
        records.append(("anchor-failed", {"seq": head[0], "error": _failure(err)}))
        rt.progress(f"warning: the journal head of {incident.incident_id} was not anchored: {_failure(err)}")
        return
    key = anchors.key(incident.incident_id, head[0])
    records.append(("anchored", {"seq": head[0], "key": key, "version": version}))
