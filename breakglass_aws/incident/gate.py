"""The one apply gate: journal a step's intent, perform it, journal its outcome.

Every mutating AWS call goes through here, so crash safety lives in exactly one place. A dry
run stops before the gate. Secrets never enter: steps are typed records without credentials, and
`perform` may return only non-secret facts about its result (an access key id, an expiry), which
are journaled with the outcome.

A journal that cannot be written stops the gate: before a call (its intent), the call is never
made; after it (its outcome), the step counts as done. Either way the failure is a `StepFailed`
whose `journal` is true and whose `done` says how many steps really happened.

On a real network each journal write of the shared store is a round trip, so the gate writes
as few as the rules allow: every step's intent in one write before the first call (or in the
write that opened or claimed the incident), each level's outcomes beside the next level's calls,
and the last level's in the caller's next write. The order rules stay: a level is sent only once
the level before it succeeded, and a failed level answers every later step `not sent`.

The gate's journal writer (`deferred_journal`) holds one incident's entries back and writes them
together, in one write: all of them before each `intent` (so everything up to a mutating call is
durable before the call is made), with the next save of the incident, and the rest when the work
ends. Entries of other incidents and every other operation go straight through. Closes use it.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import replace
from typing import Any, TypeVar

from pydantic import BaseModel

from breakglass_aws.aws import translate_error
from breakglass_aws.errors import BreakglassError
from breakglass_aws.journal.base import ClaimLost, Entries, Store, StoreWrapper
from breakglass_aws.models import Incident, JournalEntry
from breakglass_aws.parallel import beside, together
from breakglass_aws.runtime import Runtime

__all__ = [
    "INTENT",
    "DeferredJournal",
    "StepFailed",
    "answer",
    "apply_levels",
    "apply_steps",
    "deferred_journal",
    "flush",
    "intents",
]

log = logging.getLogger(__name__)

INTENT = "intent"  # journaled, and stored, before each mutating call
NOT_SENT = "not sent: an earlier step failed"
NOT_NEEDED = "not sent: not needed once the target was read"

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


def apply_steps(
    store: Store,
    incident_id: str,
    steps: Sequence[StepT],
    perform: Callable[[StepT], dict[str, Any] | None],
    progress: Callable[[str], None] | None = None,
) -> None:
    """Each step: its intent journaled, performed, its outcome journaled; `progress` is told
    of each step done. (One step after the other, each announced just before it is made: a
    step may depend on what the one before it did.)"""
    for index, step in enumerate(steps):
        try:
            apply_levels(store, incident_id, [[step]], perform, progress)
        except StepFailed as failed:
            failed.done += index  # every step before it was done
            raise


def intents(levels: Sequence[Sequence[BaseModel]]) -> list[tuple[str, dict[str, Any]]]:
    """The intent entries of every step of `levels`: written by `apply_levels`, or by the caller
    in the write that opens or claims the incident (then pass `announced`)."""
    return [(INTENT, {"step": step.model_dump(mode="json")}) for level in levels for step in level]


def apply_levels(
    store: Store,
    incident_id: str,
    levels: Sequence[Sequence[StepT]],
    perform: Callable[[StepT], dict[str, Any] | None],
    progress: Callable[[str], None] | None = None,
    announced: bool | Sequence[BaseModel] = False,
) -> None:
    """Levels in order; the steps of one level in flight together, sent only once every step of
    the level before has succeeded. Every step's intent is journaled in one write before the
    first call, but for the steps the caller `announced` in its own write (True: all of them;
    an announced step the levels do not hold is answered `not needed`). A level's outcomes
    (successes and errors) are journaled beside the next level's calls, the last level's before
    this returns (held back for the next write by a deferred journal). A failure stops after
    its level: the outcomes beside it are journaled, each later step is answered `not sent`,
    and `done` counts every step that happened."""
    steps = [step for level in levels for step in level]
    told = steps if announced is True else list(announced or [])
    unused = [answer(step, NOT_NEEDED) for step in told if step not in steps]
    untold = [[step for step in level if step not in told] for level in levels]
    if any(untold):
        _write_many(store, incident_id, [*unused, *intents(untold)], steps[0], 0)
        unused = []
    if not steps:
        if unused:
            _last(store, incident_id, unused, told[0], 0)
        return
    done = 0
    writing: Future[Any] | None = None  # the level before's outcomes, written beside this level
    for index, level in enumerate(levels):
        attempts = together([functools.partial(_attempt, perform, step) for step in level])
        outcomes, failed, done = _outcomes(level, attempts, done, progress)
        outcomes, unused = [*unused, *outcomes], []
        _settle(writing, level[0], done)
        if failed:
            later = [answer(step, NOT_SENT) for rest in levels[index + 1 :] for step in rest]
            _write_many(store, incident_id, [*outcomes, *later], level[0], done)
            step, error, exc = failed[0]
            raise StepFailed(step, error, done) from exc
        if index == len(levels) - 1:
            _last(store, incident_id, outcomes, level[0], done)
            return
        _confirm(store, incident_id, levels[index + 1][0], done)
        writing = beside(functools.partial(_write_many, store, incident_id, outcomes, level[0], done))


def _outcomes(
    level: Sequence[StepT],
    attempts: list[tuple[dict[str, Any] | None, Exception | None]],
    done: int,
    progress: Callable[[str], None] | None,
) -> tuple[list[tuple[str, dict[str, Any]]], list[tuple[StepT, BreakglassError, Exception]], int]:
    """A level's outcome entries, its failures (translated), and the steps done so far."""
    outcomes: list[tuple[str, dict[str, Any]]] = []
    failed: list[tuple[StepT, BreakglassError, Exception]] = []
    for step, (result, exc) in zip(level, attempts, strict=True):
        record = step.model_dump(mode="json")
        if exc is not None:  # any failure is journaled, translated and re-raised
            error = translate_error(exc)
            outcomes.append(("outcome", {"step": record, "ok": False, "error": error.message}))
            failed.append((step, error, exc))
            continue
        outcomes.append(("outcome", {"step": record, "ok": True, **({"result": result} if result else {})}))
        done += 1
        if progress is not None:
            describe = getattr(step, "describe", None)
            progress(f"done: {describe() if describe else step}")
    return outcomes, failed, done


def flush(store: Store) -> None:
    """Write what a deferred journal holds back now (its errors are the caller's to report)."""
    if isinstance(store, DeferredJournal):
        store.flush()


def answer(step: BaseModel, why: str) -> tuple[str, dict[str, Any]]:
    """The outcome of an announced step that was never sent."""
    return ("outcome", {"step": step.model_dump(mode="json"), "ok": False, "sent": False, "error": why})


def _settle(writing: Future[Any] | None, step: BaseModel, done: int) -> None:
    """Wait for the outcomes written beside; their failure stops the work (`done` counts the
    steps made meanwhile)."""
    if writing is None:
        return
    try:
        writing.result()
    except StepFailed as failed:
        raise StepFailed(failed.step, failed.error, done, journal=True) from failed.__cause__


def _last(store: Store, incident_id: str, entries: Entries, step: BaseModel, done: int) -> None:
    """The last level's outcomes: held back for the caller's next write by a deferred journal
    (its next save, or the end of its work), written now by any other store."""
    if isinstance(store, DeferredJournal) and store.incident_id == incident_id:
        store.hold(entries)
    else:
        _write_many(store, incident_id, entries, step, done)


def _confirm(store: Store, incident_id: str, step: BaseModel, done: int) -> None:
    """Before a level after the first: a store fenced by a close's claim checks that the claim
    is still this closer's when its last fenced write is long past (a process suspended between
    two levels must not make the next change after another closer took over)."""
    confirm = getattr(store, "confirm", None)
    if confirm is None:
        return
    try:
        confirm(incident_id)
    except ClaimLost:
        raise
    except BreakglassError as err:
        raise StepFailed(step, err, done, journal=True) from err


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
        self._lock = threading.RLock()  # outcomes are written beside the next level's calls

    def append(self, incident_id: str, kind: str, data: dict[str, Any]) -> JournalEntry | None:
        if incident_id != self.incident_id:
            return self.inner.append(incident_id, kind, data)
        with self._lock:
            self.pending.append((kind, data))
            if kind == INTENT:
                return self.flush()[-1]
        return None

    def hold(self, entries: Entries) -> None:
        """Keep `entries` for the next write (the next intent, save, or the end of the work)."""
        with self._lock:
            self.pending += entries

    def confirm(self, incident_id: str) -> None:
        confirm = getattr(self.inner, "confirm", None)
        if confirm is not None:
            confirm(incident_id)

    def append_many(self, incident_id: str, entries: Entries, fence: str | None = None) -> list[JournalEntry]:
        if incident_id != self.incident_id:
            return self.inner.append_many(incident_id, entries, fence)
        with self._lock:
            self.pending += entries
            return self.flush()

    def save_incident(
        self, incident: Incident, entries: Entries = (), release: Sequence[str] = ()
    ) -> list[JournalEntry]:
        if incident.incident_id != self.incident_id:
            return self.inner.save_incident(incident, entries, release)
        with self._lock:
            written = self.inner.save_incident(incident, [*self.pending, *entries], release)
            self.pending = []
        return written

    def flush(self) -> list[JournalEntry]:
        with self._lock:
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
