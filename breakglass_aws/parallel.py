"""Requests that do not depend on each other, in flight together: on a real network each AWS
request costs a round trip, and what the engineer waits for is the number of them made one after
the other. botocore clients are safe to share across threads once built; build them (on the
calling thread) before handing calls to `together` or `beside`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

__all__ = ["MAX_IN_FLIGHT", "beside", "together"]

T = TypeVar("T")
MAX_IN_FLIGHT = 8


def together(calls: Sequence[Callable[[], T]]) -> list[T]:
    """Run every call at once; their results in order. Every call ends before this returns;
    the first failure (in call order) is then raised, so no call is left running unseen."""
    if len(calls) <= 1:
        return [call() for call in calls]
    with ThreadPoolExecutor(max_workers=min(len(calls), MAX_IN_FLIGHT), thread_name_prefix="aws") as pool:
        futures = [pool.submit(call) for call in calls]
    failed = next((f.exception() for f in futures if f.exception() is not None), None)
    if failed is not None:
        raise failed
    return [f.result() for f in futures]


def beside(call: Callable[[], T]) -> Future[T]:
    """Start `call` now, on its own thread; its result is read later with `.result()`."""
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="aws")
    future = pool.submit(call)
    pool.shutdown(wait=False)
    return future
