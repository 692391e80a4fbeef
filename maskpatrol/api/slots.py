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
from typing import AsyncIterator, Awaitable, Callable, TypeVar

from .errors import ApiError

T = TypeVar("T")
#: Until a request has been timed, Retry-After assumes this many seconds per request.
FIRST_GUESS_S = 0.5
#: Weight of the newest request in the running mean of the service time.
EWMA_WEIGHT = 0.2


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
    async def reserve(self) -> AsyncIterator[Callable[..., Awaitable[T]]]:
        """Admit one request or raise 503. Yields ``run(fn, *args)``, which runs ``fn`` on a
        worker thread. The slot is given back when that work has finished, even if the
        client left meanwhile, so abandoned requests still count until their thread is free."""
        if self._admitted >= self.capacity:
            wait = self.retry_after_s()
            raise ApiError(503, f"All {self.capacity} analysis slots of this server are busy. "
                                f"Try again in {wait} s.", {"Retry-After": str(wait)})
        self._admitted += 1
        loop = asyncio.get_running_loop()
        handed_over = False

        async def run(fn: Callable[..., T], *args: object) -> T:
            nonlocal handed_over
            took: list[float] = []

            def timed() -> T:
                started = time.perf_counter()
                try:
                    return fn(*args)
                finally:
                    took.append(time.perf_counter() - started)

            future: Future[T] = self._executor.submit(timed)
            handed_over = True

            def done(_: Future[T]) -> None:
                with contextlib.suppress(RuntimeError):  # the loop closed: server shutting down
                    loop.call_soon_threadsafe(self._finished, took[0] if took else None)

            future.add_done_callback(done)
            return await asyncio.wrap_future(future)

        try:
            yield run
        finally:
            if not handed_over:
                self._admitted -= 1

    def _finished(self, elapsed_s: float | None) -> None:
        self._admitted -= 1
        if elapsed_s is not None:  # None: cancelled before a worker took it
            self._mean_s += EWMA_WEIGHT * (elapsed_s - self._mean_s)

    def shutdown(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
