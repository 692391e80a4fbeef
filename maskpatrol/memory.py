"""Giving freed memory back to the system, so a server's size follows its current work.

glibc keeps freed memory for reuse: a picture's buffers of tens of megabytes, once freed,
stay in the process (its RSS) unless the allocator is told otherwise. Two settings, made
once per server process by :func:`tune_allocator` (the Procfile's ``MALLOC_ARENA_MAX``
does not reach hosts that ignore the Procfile):

- blocks of :data:`MMAP_THRESHOLD_BYTES` or more come straight from the kernel and go back
  to it when freed (glibc otherwise raises this threshold to 32 MB as large blocks are freed);
- at most :data:`ARENA_MAX` arenas, instead of eight per core, each holding its own free memory.

:func:`release_freed` hands back what is still kept, after a photo's work. Elsewhere than
glibc both do nothing. Figures: ``docs/performance.md``.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys
from functools import lru_cache

#: mallopt parameters (glibc's malloc.h).
M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8
MMAP_THRESHOLD_BYTES = 1024 * 1024
ARENA_MAX = 2


@lru_cache(maxsize=1)
def _glibc() -> ctypes.CDLL | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None
    # musl (Alpine) has no mallopt/malloc_trim; its allocator already returns large blocks.
    return libc if hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim") else None


def tune_allocator() -> bool:
    """Apply the settings above; True where they took (glibc)."""
    libc = _glibc()
    if libc is None:
        return False
    return bool(libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)) and bool(libc.mallopt(M_ARENA_MAX, ARENA_MAX))


def release_freed() -> None:
    """Give freed memory that the allocator still holds back to the system."""
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)
