"""Analysis off the event loop, with a bounded number of requests in the house.

The Streamlit server runs every page's websocket and every API request on one asyncio
event loop; an image analysed on it would freeze all of them. So the work runs on a
small thread pool (``workers`` threads), and at most ``workers + queue`` requests are
admitted at a time: the next one gets 503 with ``Retry-After`` before its body is read,
so a flood can neither hold many 25 MB bodies in memory nor take the cores the pages need.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from concurrent.futures import Future, ThreadPoolExecutor
from typing import AsyncIterator, Callable, TypeVar

from .errors import ApiError

T = TypeVar("T")
#: Until a request has been timed, Retry-After assumes this many seconds per request.
FIRST_GUESS_S = 0.5
#: Weight of the newest request in the running mean of the service time.
EWMA_WEIGHT = 0.2


class Ticket:
    """One admitted request's right to run its work on a worker thread, once; afterwards
    ``wait_s`` (time queued for a worker) and ``analysis_s`` (time on it) tell where the
    request's time went (the ``Server-Timing`` header)."""

    def __init__(self, slots: "AnalysisSlots", loop: asyncio.AbstractEventLoop) -> None:
        self._slots = slots
        self._loop = loop
        self.handed_over = False
        self.wait_s = 0.0
        self.analysis_s = 0.0

    async def run(self, fn: Callable[..., T], *args: object) -> T:
        """``fn(*args)`` on a worker thread. The slot is given back when it has finished, even
        if the client left meanwhile, so abandoned requests count until their thread is free."""
        submitted = time.perf_counter()

        def timed() -> T:
            started = time.perf_counter()
            self.wait_s = started - submitted
            try:
                return fn(*args)
            finally:
                self.analysis_s = time.perf_counter() - started

        future: Future[T] = self._slots._executor.submit(timed)
        self.handed_over = True

        def done(f: Future[T]) -> None:
            ran = None if f.cancelled() else self.analysis_s
            with contextlib.suppress(RuntimeError):  # the loop closed: server shutting down
                self._loop.call_soon_threadsafe(self._slots._finished, ran)

        future.add_done_callback(done)
        return await asyncio.wrap_future(future)


class AnalysisSlots:
    """Admission control plus the worker pool. Used from one event loop only (no lock)."""

    def __init__(self, workers: int, queue: int) -> None:
        self.workers = workers
        self.capacity = workers + queue
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="maskpatrol-api")
        self._admitted = 0
        self._mean_s = FIRST_GUESS_S

    @property
    def admitted(self) -> int:
        return self._admitted

    def retry_after_s(self) -> int:
        """Seconds until a slot is likely free: the queue ahead, drained by the workers."""
        return max(1, math.ceil(self._mean_s * self.capacity / self.workers))

    @contextlib.asynccontextmanager
    async def reserve(self) -> AsyncIterator[Ticket]:
        """Admit one request or raise 503; yields its :class:`Ticket`. A request that ends
        before running its work (a body too large, say) gives its slot back at once."""
        if self._admitted >= self.capacity:
            wait = self.retry_after_s()
            raise ApiError(503, f"All {self.capacity} analysis slots of this server are busy. "
                                f"Try again in {wait} s.", {"Retry-After": str(wait)})
        self._admitted += 1
        ticket = Ticket(self, asyncio.get_running_loop())
        try:
            yield ticket
        finally:
            if not ticket.handed_over:
                self._admitted -= 1

    def _finished(self, elapsed_s: float | None) -> None:
        self._admitted -= 1
        if elapsed_s is not None:  # None: cancelled before a worker took it
            self._mean_s += EWMA_WEIGHT * (elapsed_s - self._mean_s)

    def shutdown(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
