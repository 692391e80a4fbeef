"""The server's memory budget: how large a picture is analysed, and how many at once.

A photo's analysis needs memory in proportion to its pixels, so the server caps both: a
picture over :data:`WORK_PIXELS` is analysed shrunk (:mod:`maskpatrol.analysis`), and at
most :func:`photo_slots` photos are analysed at the same time across every visitor and the
HTTP API; the next one waits for a slot. The slots follow from the memory the server may
use: ``MASKPATROL_MEMORY_MB``, else the container's limit (cgroup v2 or v1, as Heroku,
Docker and Kubernetes set it), else the machine's memory. Figures: ``docs/performance.md``.
"""

from __future__ import annotations

import os
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator, Mapping

from .memory import release_freed

MEMORY_ENV = "MASKPATROL_MEMORY_MB"
#: Largest picture analysed at full size: above a 12 MP phone photo (4032 x 3024). A larger
#: one is decoded at 1/2, 1/4 ... of its size, so a 40 MP photo costs what a 10 MP one does.
WORK_PIXELS = 16_000_000
#: What the server holds with every page visited and the model loaded, before any photo
#: (``benchmarks/bench_memory.py``, rounded up).
SERVER_MB = 230
#: Most a photo of :data:`WORK_PIXELS` adds while it is analysed (measured likewise, rounded up).
PHOTO_MB = 160
#: Files that hold a container's memory limit: cgroup v2, then v1.
CGROUP_LIMIT_FILES = (Path("/sys/fs/cgroup/memory.max"), Path("/sys/fs/cgroup/memory/memory.limit_in_bytes"))
#: A cgroup v1 "limit" this large means none (the kernel writes the largest page-aligned number).
NO_LIMIT_BYTES = 1 << 60


class BudgetConfigError(ValueError):
    """A memory setting that cannot work; the message names the variable to fix."""


def _cgroup_limit_mb(files: tuple[Path, ...]) -> int | None:
    for path in files:
        try:
            text = path.read_text().strip()
        except OSError:
            continue
        if text.isdigit() and int(text) < NO_LIMIT_BYTES:
            return int(text) // (1024 * 1024)
        return None  # "max", or v1's huge number: no limit set
    return None


def _machine_mb() -> int | None:
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // (1024 * 1024)
    except (AttributeError, ValueError, OSError):
        return None


def memory_limit_mb(env: Mapping[str, str] | None = None,
                    cgroup_files: tuple[Path, ...] = CGROUP_LIMIT_FILES) -> int | None:
    """Megabytes the server may use: the variable, the container's limit, or the machine's."""
    env = os.environ if env is None else env
    value = env.get(MEMORY_ENV, "").strip()
    if value:
        if not value.isdigit() or int(value) < 1:
            raise BudgetConfigError(f"{MEMORY_ENV} must be a whole number of megabytes, such as 512; got {value!r}")
        return int(value)
    return _cgroup_limit_mb(cgroup_files) or _machine_mb()


def photo_slots(limit_mb: int | None) -> int:
    """Photos analysed at once within ``limit_mb``: what is left beside the server, in
    photos; at least one, so a small limit slows visitors down rather than shutting them out."""
    if limit_mb is None:
        return 1
    return max(1, (limit_mb - SERVER_MB) // PHOTO_MB)


class PhotoSlots:
    """A shared count of photo analyses: :meth:`slot` waits while all are taken, and gives
    the memory a photo freed back to the system when it ends."""

    def __init__(self, slots: int) -> None:
        self.slots = slots
        self._free = threading.BoundedSemaphore(slots)
        self._lock = threading.Lock()
        self._busy = 0

    @property
    def busy(self) -> int:
        """Slots taken now (for a waiting visitor's message)."""
        return self._busy

    @contextmanager
    def slot(self, on_wait: Callable[["PhotoSlots"], None] | None = None) -> Iterator[None]:
        """Hold one slot for the ``with`` block. When none is free, ``on_wait`` is called
        once (to tell the visitor why nothing happens yet) before waiting for one."""
        if not self._free.acquire(blocking=False):
            if on_wait is not None:
                on_wait(self)
            self._free.acquire()
        with self._lock:
            self._busy += 1
        try:
            yield
        finally:
            release_freed()  # the photo's buffers, back to the system before the next one
            with self._lock:
                self._busy -= 1
            self._free.release()


_shared: PhotoSlots | None = None
_shared_lock = threading.Lock()


def shared_slots() -> PhotoSlots:
    """The process's one pool, sized on first use from :func:`memory_limit_mb`."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = PhotoSlots(photo_slots(memory_limit_mb()))
        return _shared
