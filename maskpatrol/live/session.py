"""One browser session's live webcam state, reused across reruns and start/stop."""

from __future__ import annotations

import gc
import time

from ..memory import release_freed
from ..pipeline import MaskPatrol
from .channel import OptionsBox, ResultQueue
from .fps import Clock
from .panel import LivePanel, Snapshot
from .processor import LiveProcessor


def release_memory() -> None:
    """Free what a stopped stream leaves behind, and give it back to the OS.

    A stopped aiortc peer connection (codec contexts, frame buffers: ~20 MB at 640x480)
    sits in reference cycles that only a full collection frees; left to the cyclic GC's
    schedule, RSS climbed ~20 MB per start/stop before falling back. The freed frame
    buffers then stay in glibc's per-thread arenas, so RSS after a stop wandered by
    +-25 MB; ``malloc_trim`` returns them, which matters on a 512 MB dyno.
    """
    gc.collect()
    release_freed()


class LiveSession:
    """The per-browser-session bundle kept in ``st.session_state``: created once, reused
    by every rerun and every start/stop, so restarting a stream allocates nothing new."""

    def __init__(self, patrol: MaskPatrol, clock: Clock = time.monotonic, queue_size: int = 256) -> None:
        self.options = OptionsBox()
        self.results = ResultQueue(queue_size)
        self.processor = LiveProcessor(patrol, self.options, self.results, clock=clock)
        self.panel = LivePanel(clock=clock)
        self.was_playing = False

    def on_playing(self, playing: bool) -> bool:
        """Tell the session whether the stream plays now (every rerun). On a fresh start,
        forget the previous stream's numbers; on a stop, free the stopped stream.

        Returns True when a new stream just started.
        """
        started = playing and not self.was_playing
        stopped = self.was_playing and not playing
        self.was_playing = playing
        if started:
            self.results.clear()
            self.processor.reset()
            self.panel.reset()
        if stopped:
            # Everyone still in view when the stream stopped is judged with what was seen.
            self.processor.finish_people()
            people = self.processor.people_counts()
            if people is not None:  # the server mode's stream (the browser mode reports its own)
                self.panel.people = people
            release_memory()
        return started

    def refresh(self, playing: bool = True) -> Snapshot | None:
        """Drain the queue into the panel (page thread, about once a second). Once stopped,
        only the people are taken in (the browser's report at Stop) and the last reading
        stays on show."""
        if not playing:
            self.panel.take_people(self.results.drain())
            return self.panel.last
        return self.panel.update(self.results.drain())
