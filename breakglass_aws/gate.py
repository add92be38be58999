"""The one apply gate: journal a step's intent, perform it, journal its outcome.

Every mutating AWS call goes through here, so crash safety lives in exactly one place. A dry
run stops before the gate. Secrets never enter: steps are typed records without credentials, and
`perform` may return only non-secret facts about its result (an access key id, an expiry), which
are journaled with the outcome.

A journal that cannot be written stops the gate: before a call (its intent), the call is never
made; after it (its outcome), the step counts as done. Either way the failure is a `StepFailed`
whose `journal` is true and whose `done` says how many steps really happened.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel

from breakglass_aws.aws import translate_error
from breakglass_aws.errors import BreakglassError
from breakglass_aws.journal.base import ClaimLost, Store

__all__ = ["INTENT", "StepFailed", "apply_steps"]

INTENT = "intent"  # journaled, and stored, before each mutating call

StepT = TypeVar("StepT", bound=BaseModel)


class StepFailed(Exception):
    """A step failed; `error` is the translated error, `done` the steps completed (a step whose
    outcome could not be journaled was completed). `journal`: the journal write failed, not
    the AWS call."""

    def __init__(self, step: BaseModel, error: BreakglassError, done: int, journal: bool = False) -> None:
        super().__init__(error.message)
        self.step = step
        self.error = error
        self.done = done
        self.journal = journal


def _write(store: Store, incident_id: str, kind: str, data: dict[str, Any], step: BaseModel, done: int) -> None:
    try:
        store.append(incident_id, kind, data)
    except ClaimLost:
        raise
    except BreakglassError as err:
        raise StepFailed(step, err, done, journal=True) from err


def apply_steps(
    store: Store,
    incident_id: str,
    steps: Sequence[StepT],
    perform: Callable[[StepT], dict[str, Any] | None],
    on_done: Callable[[StepT], None] | None = None,
) -> None:
    for done, step in enumerate(steps):
        record = step.model_dump(mode="json")
        _write(store, incident_id, INTENT, {"step": record}, step, done)
        try:
            result = perform(step)
        except Exception as exc:  # any failure is journaled, translated and re-raised
            error = translate_error(exc)
            _write(store, incident_id, "outcome", {"step": record, "ok": False, "error": error.message}, step, done)
            raise StepFailed(step, error, done) from exc
        outcome: dict[str, Any] = {"step": record, "ok": True}
        if result:
            outcome["result"] = result
        _write(store, incident_id, "outcome", outcome, step, done + 1)
        if on_done is not None:
            on_done(step)
