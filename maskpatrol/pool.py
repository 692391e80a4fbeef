"""A tiny pool of non-thread-safe objects (Haar cascades, LiteRT interpreters).

Webcam callbacks run in aiortc worker threads while other sessions use the page threads.
Neither an OpenCV cascade nor a LiteRT interpreter may be used by two threads at once.
A pool hands each concurrent caller its own instance and reuses instances afterwards, so
there is no global lock serialising users and no per-call reloading.
"""

from __future__ import annotations

import queue
from contextlib import contextmanager
from typing import Callable, Generic, Iterator, TypeVar

T = TypeVar("T")


class Pool(Generic[T]):
    def __init__(self, factory: Callable[[], T], prefill: int = 1) -> None:
        self._factory = factory
        self._idle: "queue.SimpleQueue[T]" = queue.SimpleQueue()
        self.created = 0
        for _ in range(prefill):
            self._idle.put(self._new())

    def _new(self) -> T:
        self.created += 1
        return self._factory()

    @contextmanager
    def borrow(self) -> Iterator[T]:
        """Lend one instance for the duration of the ``with`` block."""
        try:
            item = self._idle.get_nowait()
        except queue.Empty:
            item = self._new()
        try:
            yield item
        finally:
            self._idle.put(item)
