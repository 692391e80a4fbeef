"""Video files in, annotated H.264 mp4 out, streamed frame by frame (the Video page and the CLI).

The work is split by job: :mod:`.read` opens and decodes (upright RGB, the file's own
colours), :mod:`.write` encodes browser-playable H.264, :mod:`.counts` keeps the per-frame
counts, progress and summary, and :mod:`.annotate` runs the whole thing. The names below
are the package's public face; import them from ``maskpatrol.video``.
"""

from .annotate import (IN_FLIGHT_PER_WORKER, PAGE_MAX_PIXELS, VIDEO_DETECTOR_DEFAULTS, VideoCancelled,
                       annotate_video, annotate_video_bytes, default_workers, fitted_size)
from .counts import ETA_MIN_FRAMES, ETA_MIN_SECONDS, FrameCounts, Progress, VideoResult, format_seconds, timeline
from .read import (BT601_MATRICES, FALLBACK_FPS, VIDEO_EXTENSIONS, VIDEO_RANGES, Source, VideoError, VideoInfo,
                   _to_rgb, probe)
from .write import (OUTPUT_MATRIX, OUTPUT_PRIMARIES, OUTPUT_RANGE, OUTPUT_TRANSFER, VIDEO_TIME_BASE, X264_OPTIONS,
                    H264Writer)

__all__ = [
    "BT601_MATRICES", "ETA_MIN_FRAMES", "ETA_MIN_SECONDS", "FALLBACK_FPS", "H264Writer", "IN_FLIGHT_PER_WORKER",
    "OUTPUT_MATRIX", "OUTPUT_PRIMARIES", "OUTPUT_RANGE", "OUTPUT_TRANSFER", "PAGE_MAX_PIXELS", "Source",
    "VIDEO_DETECTOR_DEFAULTS", "VIDEO_EXTENSIONS", "VIDEO_RANGES", "VIDEO_TIME_BASE", "X264_OPTIONS",
    "FrameCounts", "Progress", "VideoCancelled", "VideoError", "VideoInfo", "VideoResult", "_to_rgb",
    "annotate_video", "annotate_video_bytes", "default_workers", "fitted_size", "format_seconds", "probe",
    "timeline",
]
