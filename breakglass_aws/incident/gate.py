"""The one apply gate: journal a step's intent, perform it, journal its outcome.

Every mutating AWS call goes through here, so crash safety lives in exactly one place. A dry
run stops before the gate. Secrets never enter: steps are typed records without credentials, and
`perform` may return only non-secret facts about its result (an access key id, an expiry), which
are journaled with the outcome.

A journal that cannot be written stops the gate: before a call (its intent), the call is never
made; after it (its outcome), the step counts as done. Either way the failure is a `StepFailed`
whose `journal` is true and whose `done` says how many steps really happened.

The gate's journal writer (`deferred_journal`) holds one incident's entries back and writes them
together, in one write: all of them before each `intent` (so everything up to a mutating call is durable before
the call is made), with the next save of the incident, and the rest when the work ends. Entries
of other incidents and every other operation go straight through. Restores use it: one write
before each re-attach or detach, and one at the end, instead of one per entry.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from typing import Any, TypeVar

from pydantic import BaseModel

from breakglass_aws.aws import translate_error
from breakglass_aws.errors import BreakglassError
from breakglass_aws.journal.base import ClaimLost, Entries, Store, StoreWrapper
from breakglass_aws.models import Incident, JournalEntry
from breakglass_aws.parallel import together
from breakglass_aws.runtime import Runtime

__all__ = ["INTENT", "DeferredJournal", "StepFailed", "apply_levels", "apply_steps", "deferred_journal"]

log = logging.getLogger(__name__)

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


def _write_many(store: Store, incident_id: str, entries: Entries, step: BaseModel, done: int) -> None:
    try:
        store.append_many(incident_id, entries)
    except ClaimLost:
        raise
    except BreakglassError as err:
        raise StepFailed(step, err, done, journal=True) from err


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
    progress: Callable[[str], None] | None = None,
) -> None:
    """Each step: its intent journaled, performed, its outcome journaled; `progress` is told
    of each step done."""
    apply_levels(store, incident_id, [[step] for step in steps], perform, progress)


def apply_levels(
    store: Store,
    incident_id: str,
    levels: Sequence[Sequence[StepT]],
    perform: Callable[[StepT], dict[str, Any] | None],
    progress: Callable[[str], None] | None = None,
) -> None:
    """Levels in order; the steps of one level in flight together. A level's intents are
    journaled in one write before any of its calls is made, and every outcome (a success or
    an error) is journaled before the next level starts. A failure stops after its level: the
    steps that succeeded beside it are journaled, and `done` counts every step that happened."""
    done = 0
    for level in levels:
        records = [step.model_dump(mode="json") for step in level]
        if len(level) == 1:
            _write(store, incident_id, INTENT, {"step": records[0]}, level[0], done)
        else:
            _write_many(store, incident_id, [(INTENT, {"step": r}) for r in records], level[0], done)
        attempts = together([functools.partial(_attempt, perform, step) for step in level])
        failed: list[tuple[StepT, BreakglassError, Exception]] = []
        for step, record, (result, exc) in zip(level, records, attempts, strict=True):
            if exc is not None:  # any failure is journaled, translated and re-raised
                error = translate_error(exc)
                _write(store, incident_id, "outcome", {"step": record, "ok": False, "error": error.message}, step, done)
                failed.append((step, error, exc))
                continue
            outcome: dict[str, Any] = {"step": record, "ok": True, **({"result": result} if result else {})}
            done += 1
            _write(store, incident_id, "outcome", outcome, step, done)
            if progress is not None:
                describe = getattr(step, "describe", None)
                progress(f"done: {describe() if describe else step}")
        if failed:
            step, error, exc = failed[0]
            raise StepFailed(step, error, done) from exc


def _attempt(
    perform: Callable[[StepT], dict[str, Any] | None], step: StepT
) -> tuple[dict[str, Any] | None, Exception | None]:
    try:
        return perform(step), None
    except Exception as exc:  # reported by the caller, with the outcomes of the steps beside it
        return None, exc


class DeferredJournal(StoreWrapper):
    def __init__(self, store: Store, incident_id: str) -> None:
        super().__init__(store)
        self.incident_id = incident_id
        self.pending: list[tuple[str, dict[str, Any]]] = []

    def append(self, incident_id: str, kind: str, data: dict[str, Any]) -> JournalEntry | None:
        if incident_id != self.incident_id:
            return self.inner.append(incident_id, kind, data)
        self.pending.append((kind, data))
        if kind == INTENT:
            return self.flush()[-1]
        return None

    def append_many(self, incident_id: str, entries: Entries, fence: str | None = None) -> list[JournalEntry]:
        if incident_id != self.incident_id:
            return self.inner.append_many(incident_id, entries, fence)
        self.pending += entries
        return self.flush()

    def save_incident(
        self, incident: Incident, entries: Entries = (), release: Sequence[str] = ()
    ) -> list[JournalEntry]:
        if incident.incident_id != self.incident_id:
            return self.inner.save_incident(incident, entries, release)
        written = self.inner.save_incident(incident, [*self.pending, *entries], release)
        self.pending = []
        return written

    def flush(self) -> list[JournalEntry]:
        if not self.pending:
            return []
        written = self.inner.append_many(self.incident_id, self.pending)
        self.pending = []
        return written

    def entries(self, incident_id: str) -> list[JournalEntry]:
        if incident_id == self.incident_id:
            self.flush()
        return self.inner.entries(incident_id)

    def head(self, incident_id: str) -> tuple[int, str]:
        if incident_id == self.incident_id:
            self.flush()
        return self.inner.head(incident_id)

    def close(self) -> None:
        self.flush()


@contextmanager
def deferred_journal(rt: Runtime, incident_id: str) -> Iterator[Runtime]:
    """The runtime, with the incident's journal entries written together; whatever is held back
    is written when the block ends, also when it ends in an error or an interrupt (a killed
    process loses them: an intent without its outcome, which the next restore finishes). A
    failure to write them then never hides the error that ended the block."""
    store = DeferredJournal(rt.store, incident_id)
    try:
        yield replace(rt, store=store)
    except (Exception, KeyboardInterrupt, SystemExit):
        try:
            store.flush()
        except Exception as err:  # the journal is failing too: the first error is the one to report
            log.debug("%s: %d journal entries could not be written: %s", incident_id, len(store.pending), err)
        raise
    store.flush()
