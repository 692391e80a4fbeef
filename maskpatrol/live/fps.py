"""Frames per second, for the server callback and the browser's reports alike."""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Callable

Clock = Callable[[], float]


class FpsMeter:
    """Frames per second over the last ``window_s`` seconds: responsive enough to show a
    slowdown within a couple of seconds, smooth enough not to jump on every frame."""

    def __init__(self, window_s: float = 2.0, clock: Clock = time.monotonic, max_events: int = 1024) -> None:
        self.window_s = window_s
        self.clock = clock
        self._lock = threading.Lock()
        self._times: deque[float] = deque(maxlen=max_events)
        self._first: float | None = None

    def tick(self, now: float | None = None) -> float:
        now = self.clock() if now is None else now
        with self._lock:
            if self._first is None:
                self._first = now
            self._times.append(now)
            return self._fps_locked(now)

    def fps(self, now: float | None = None) -> float:
        now = self.clock() if now is None else now
        with self._lock:
            return self._fps_locked(now)

    def _fps_locked(self, now: float) -> float:
        while self._times and self._times[0] < now - self.window_s:
            self._times.popleft()
        n = len(self._times)
        if n == 0 or self._first is None:
            return 0.0
        if now - self._first >= self.window_s:
            return n / self.window_s
        # A stream younger than the window: the rate between its first and last frames,
        # so the first seconds do not read low.
        if n < 2:
            return 0.0
        return (n - 1) / max(self._times[-1] - self._times[0], 1e-6)

    def reset(self) -> None:
        with self._lock:
            self._times.clear()
            self._first = None
