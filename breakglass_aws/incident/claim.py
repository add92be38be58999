"""One closer at a time: a claim on the incident, saved with compare-and-set, names the process
doing the close. Another command takes it over as soon as that process is known to be gone (on
this host: its pid is dead, reused, or the host rebooted) or its lease has run out (any host);
until then it waits for it, or (the sweep) leaves the incident to it.

The fence: a store that writes one incident's journal only while the incident is claimed by a given
closer: a closer that lost its claim (it was suspended, and another took over when its lease ran
out) is stopped at its next journal write, before the mutating call that write would announce;
changes announced together in one write are each preceded by a fenced write once the last one is
half a lease old (`confirm`)."""

from __future__ import annotations

import os
import secrets
import socket
import threading
import time
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path

from breakglass_aws.clock import isoformat
from breakglass_aws.journal.base import Entries, Store, StoreWrapper, claim_token
from breakglass_aws.models import CloseClaim, Incident, JournalEntry

__all__ = ["LEASE", "FencedStore", "describe", "is_live", "is_mine", "new_claim", "released", "renewed"]

# The closers at work in this process, by claim token: a claim of this very process is live only
# while the thread that took it runs (a Thread object, not its ident: idents are reused).
_CLOSERS: dict[str, threading.Thread] = {}
_CLOSERS_LOCK = threading.Lock()

LEASE = timedelta(minutes=5)  # renewed at every step; the rotation's bounded wait fits well inside
CONFIRM_AFTER = LEASE.total_seconds() / 2


def _read(path: str) -> str:
    try:
        return Path(path).read_text().strip()
    except OSError:
        return ""


def _boot_id() -> str:
    return _read("/proc/sys/kernel/random/boot_id")


def _started(pid: int) -> str:
    """The process's start time in clock ticks since boot (field 22 of /proc/PID/stat): a pid
    reused by another process has another start time."""
    stat = _read(f"/proc/{pid}/stat")
    fields = stat.rsplit(")", 1)[-1].split()
    return fields[19] if len(fields) > 19 else ""


def new_claim(by: str, now: datetime, lease: timedelta = LEASE) -> CloseClaim:
    pid = os.getpid()
    token = secrets.token_hex(8)
    with _CLOSERS_LOCK:
        _CLOSERS[token] = threading.current_thread()
    return CloseClaim(
        token=token,
        by=by,
        host=socket.gethostname(),
        boot=_boot_id(),
        pid=pid,
        thread=threading.get_ident(),
        started=_started(pid),
        until=now + lease,
    )


def released(claim: CloseClaim | None) -> None:
    """This process's closer holding `claim` has ended (done, or stopped by an error)."""
    if claim is not None:
        with _CLOSERS_LOCK:
            _CLOSERS.pop(claim.token, None)


def renewed(claim: CloseClaim, now: datetime, lease: timedelta = LEASE) -> CloseClaim:
    return claim.model_copy(update={"until": now + lease})


def is_mine(claim: CloseClaim | None, mine: CloseClaim | None) -> bool:
    return claim is not None and mine is not None and claim.token == mine.token


def is_live(claim: CloseClaim | None, now: datetime) -> bool:
    """Is another closer still at work? Past its lease: no. On this host, the process must
    still run (the same start time: not a reused pid); in this very process, the closer that took
    it must still be at work in another thread (this thread's earlier close has ended: it is here
    now)."""
    if claim is None or claim.until <= now:
        return False
    if claim.host != socket.gethostname():
        return True  # another machine: only its lease tells
    if claim.boot and claim.boot != _boot_id():
        return False  # this host rebooted since
    if claim.pid == os.getpid():
        with _CLOSERS_LOCK:
            closer = _CLOSERS.get(claim.token)  # None: taken by an earlier process with this pid, or ended
        return closer is not None and closer is not threading.current_thread() and closer.is_alive()
    if not _pid_alive(claim.pid):
        return False
    return not claim.started or claim.started == _started(claim.pid)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    state = _read(f"/proc/{pid}/stat").rsplit(")", 1)[-1].split()[:1]
    return state != ["Z"]  # a killed process its parent has not reaped yet is gone too


def describe(claim: CloseClaim) -> str:
    return f"{claim.by} on {claim.host} (pid {claim.pid}), lease until {isoformat(claim.until)}"


class FencedStore(StoreWrapper):
    def __init__(self, store: Store, incident_id: str, token: str) -> None:
        super().__init__(store)
        self.incident_id, self.token = incident_id, token
        self.fencing = True
        self.checked = time.monotonic()  # the claim was last seen to be ours (taken just before)

    def append_many(self, incident_id: str, entries: Entries, fence: str | None = None) -> list[JournalEntry]:
        if incident_id == self.incident_id and self.fencing:
            fence = self.token
        written = self.inner.append_many(incident_id, entries, fence)
        if fence == self.token:
            self.checked = time.monotonic()
        return written

    def confirm(self, incident_id: str) -> None:
        """Before a change announced by an earlier write: within half a lease of the last fenced
        write nobody can have taken the claim over; past it, a fenced write proves it first."""
        quiet = time.monotonic() - self.checked
        if incident_id == self.incident_id and self.fencing and quiet > CONFIRM_AFTER:
            self.append_many(incident_id, [("claim-confirmed", {"after_seconds": int(quiet)})])

    def save_incident(
        self, incident: Incident, entries: Entries = (), release: Sequence[str] = ()
    ) -> list[JournalEntry]:
        written = self.inner.save_incident(incident, entries, release)
        if incident.incident_id == self.incident_id and claim_token(incident) != self.token:
            self.fencing = False  # this closer's own save let go of the claim (closed, or stopped)
        elif incident.incident_id == self.incident_id:
            self.checked = time.monotonic()  # compare-and-set: nobody took it over before this save
        return written
