"""What the webcam callback thread and the page thread share, per browser session: the
current options (page -> callback) and one small result per frame (callback -> page).
Both sides are lock-guarded, since streamlit-webrtc calls the callback on its own thread."""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Sequence

from ..pipeline import Counts, Face, Settings


@dataclass(frozen=True)
class LiveOptions:
    """Everything the user can change while the stream runs. Immutable: the callback
    reads one consistent value per frame even while the page replaces it."""

    settings: Settings = field(default_factory=Settings)
    show_probability: bool = True
    #: Flip frames left-right before analysis, like a mirror (how people expect a selfie camera).
    mirror: bool = False
    #: A short sound when a new person is found not properly masked (off until asked:
    #: browsers play sound only after the visitor has clicked on the page).
    sound: bool = False
    #: Which camera of a phone: "user" (front) or "environment" (rear), as ``facingMode``.
    camera: str = "user"


class OptionsBox:
    """A lock-guarded reference to the current :class:`LiveOptions`."""

    def __init__(self, options: LiveOptions | None = None) -> None:
        self._lock = threading.Lock()
        self._options = options or LiveOptions()

    def get(self) -> LiveOptions:
        with self._lock:
            return self._options

    def set(self, options: LiveOptions) -> None:
        with self._lock:
            self._options = options


@dataclass(frozen=True)
class FrameResult:
    """What one processed frame showed; small on purpose, ~25 of these arrive per second."""

    time: float  # clock seconds when processing finished
    counts: Counts  # empty for a frame that could not be analysed
    analysis_ms: float
    fps: float  # frames processed per second, measured when this frame finished
    error: str | None = None
    #: People judged since Start, by label (cumulative); None where not known.
    people: Counts | None = None
    #: People found not properly masked for the first time in this frame.
    alerts: int = 0
    #: False for a result that carries people only, no frame (the browser's report at Stop).
    frame: bool = True

    @classmethod
    def from_faces(cls, faces: Sequence[Face], when: float, analysis_ms: float, fps: float,
                   people: Counts | None = None, alerts: int = 0) -> "FrameResult":
        return cls(when, Counts.of(faces), analysis_ms, fps, people=people, alerts=alerts)


class ResultQueue:
    """Bounded FIFO from the callback thread to the page thread; the oldest item is
    dropped when full, so memory stays flat whether or not anyone reads."""

    def __init__(self, maxlen: int = 256) -> None:
        self._lock = threading.Lock()
        self._items: deque[FrameResult] = deque(maxlen=maxlen)
        self.dropped = 0

    def put(self, item: FrameResult) -> None:
        with self._lock:
            if len(self._items) == self._items.maxlen:
                self.dropped += 1
            self._items.append(item)

    def drain(self) -> list[FrameResult]:
        with self._lock:
            items = list(self._items)
            self._items.clear()
            return items

    def clear(self) -> None:
        self.drain()

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    @property
    def maxlen(self) -> int:
        return self._items.maxlen or 0
