"""``MASKPATROL_LOG_LEVEL``: the operator's switch for the app's and the WebRTC libraries' logs.

Streamlit configures only its own loggers, so the account that Mask Patrol, streamlit-webrtc,
aiortc and aioice keep of a live stream (offer and answer, ICE and DTLS states, worker start
and stop, a frame that failed) is dropped by default. On a deployment, a stream stuck at
"connecting" then leaves no trace. Setting ``MASKPATROL_LOG_LEVEL=INFO`` (a few dozen lines
per connection) or ``DEBUG`` (aioice then writes a line per STUN packet) sends those logs to
standard error, which Heroku and ``make run`` show.

The variable is read once per process, on the first call of :func:`apply_log_level`;
``app.py`` calls it on every run, so later calls only return the level already chosen.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import IO, Mapping, Optional

LOG_LEVEL_ENV = "MASKPATROL_LOG_LEVEL"
#: The loggers the switch turns on: the app's own, then the WebRTC stack's.
LOGGERS = ("maskpatrol", "streamlit_webrtc", "aiortc", "aioice")
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
LOG_FORMAT = "%(asctime)s %(threadName)s %(name)s %(levelname)s %(message)s"

_UNSET = object()
_applied: object = _UNSET


def parse_level(value: Optional[str]) -> Optional[int]:
    """The logging level named by ``value`` (any case); None when unset or blank.

    Raises ValueError, naming the variable and the accepted values, for anything else."""
    if value is None or not value.strip():
        return None
    name = value.strip().upper()
    if name not in LEVELS:
        raise ValueError(f"{LOG_LEVEL_ENV}={value!r} is not a log level; use one of {', '.join(LEVELS)}")
    return logging.getLevelName(name)


def apply_log_level(environ: Optional[Mapping[str, str]] = None,
                    stream: Optional[IO[str]] = None) -> Optional[int]:
    """Turn on the app's and the WebRTC libraries' logs at ``MASKPATROL_LOG_LEVEL``.

    The first call reads the variable and, when it names a level, gives each logger of
    :data:`LOGGERS` that level and one handler writing to ``stream`` (standard error by
    default); every later call returns that first answer and changes nothing, so Streamlit's
    reruns never stack handlers. Returns the level, or None when the logs stay off. A value
    that is not a level leaves the logs off and says so on ``stream``: a typo in a logging
    switch should not stop the app."""
    global _applied
    if _applied is not _UNSET:
        return _applied  # type: ignore[return-value]
    out = stream if stream is not None else sys.stderr
    try:
        level = parse_level((os.environ if environ is None else environ).get(LOG_LEVEL_ENV))
    except ValueError as exc:
        print(f"Mask Patrol: {exc}. Logs stay off.", file=out)
        level = None
    if level is not None:
        handler = logging.StreamHandler(out)
        handler.setFormatter(logging.Formatter(LOG_FORMAT))
        for name in LOGGERS:
            logger = logging.getLogger(name)
            logger.setLevel(level)
            logger.addHandler(handler)
    _applied = level
    return level
