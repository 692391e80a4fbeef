"""Process-wide thread settings for the serving path, chosen on purpose in one place.

OpenCV keeps one global worker pool. Left alone it sizes itself from the CPU count, which
inside a container can be the host's count rather than the cores we may use; a Haar scan
split over more threads than cores only adds switching. The detector calls
:func:`configure_opencv_threads` once, when it is first imported.
"""

from __future__ import annotations

import os

#: Environment override, e.g. ``MASKPATROL_CV_THREADS=1`` when many processes share a box.
CV_THREADS_ENV = "MASKPATROL_CV_THREADS"


def usable_cpus() -> int:
    """CPUs this process may actually run on (affinity, not the host's total)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def opencv_threads() -> int:
    """Threads for OpenCV's parallel loops: the usable cores, capped at 2.

    The Haar scan of one frame is split into stripes per scale, so a second thread
    shortens it (``benchmarks/bench_pipeline.py``; figures in docs/performance.md, "Haar:
    the 15 ms target"). Beyond two threads the stripes of a 640x480 frame are small, and
    concurrent sessions already use the other cores, so more threads would mostly add
    switching."""
    value = os.environ.get(CV_THREADS_ENV, "").strip()
    if value.isdigit() and int(value) > 0:
        return int(value)
    return min(2, usable_cpus())


_configured = False


def configure_opencv_threads() -> int:
    """Apply :func:`opencv_threads` once per process; returns the thread count in use."""
    global _configured
    # OpenCV is imported here, not at the top: the API's settings (maskpatrol.api.config) read
    # usable_cpus when the server starts, which must not load OpenCV.
    import cv2

    if not _configured:
        cv2.setNumThreads(opencv_threads())
        _configured = True
    return cv2.getNumThreads()
