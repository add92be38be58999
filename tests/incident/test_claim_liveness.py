"""Whose close is still at work, inside this process: the closer that took the claim must still be
running in another thread. A crashed closer's thread ident is reused by later threads; that must
never make its claim look live (a healthy sweep would then leave the incident closing)."""

from __future__ import annotations

import os
import threading
from datetime import UTC, datetime

from breakglass_aws.incident.claim import is_live, new_claim, released
from breakglass_aws.models import CloseClaim

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)


def _in_thread(work) -> object:
    box: list[object] = []
    worker = threading.Thread(target=lambda: box.append(work()))
    worker.start()
    worker.join()
    return box[0]


def test_a_claim_of_a_thread_that_ended_is_not_live_whatever_ident_runs_now():
    claim = _in_thread(lambda: new_claim("sweep", NOW))
    assert isinstance(claim, CloseClaim)
    release = threading.Event()
    others = [threading.Thread(target=release.wait) for _ in range(8)]  # idents get reused
    for other in others:
        other.start()
    try:
        assert not is_live(claim, NOW)
        assert _in_thread(lambda: is_live(claim, NOW)) is False
    finally:
        release.set()
        for other in others:
            other.join()


def test_a_claim_of_another_running_thread_is_live_until_released():
    taken, done = threading.Event(), threading.Event()
    box: list[CloseClaim] = []

    def closer() -> None:
        box.append(new_claim("close", NOW))
        taken.set()
        done.wait()

    worker = threading.Thread(target=closer)
    worker.start()
    taken.wait()
    try:
        assert is_live(box[0], NOW)
        released(box[0])
        assert not is_live(box[0], NOW)
    finally:
        done.set()
        worker.join()


def test_this_thread_s_earlier_claim_has_ended():
    claim = new_claim("close", NOW)
    assert not is_live(claim, NOW)


def test_a_claim_of_an_earlier_process_with_this_pid_is_not_live():
    claim = new_claim("close", NOW)
    released(claim)
    stranger = claim.model_copy(update={"token": "0123456789abcdef", "pid": os.getpid()})
    assert not _in_thread(lambda: is_live(stranger, NOW))
