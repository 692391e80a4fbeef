"""The HTTP API's settings, read once from the environment when the server starts.

==================================  ==========================================================
``MASKPATROL_API``                  ``off`` removes the API routes, ``on`` keeps them (default:
                                    on, except on a Heroku dyno without a token: see below)
``MASKPATROL_API_TOKEN``            when set, analysis needs ``Authorization: Bearer <token>``
``MASKPATROL_API_CORS_ORIGINS``     comma-separated origins allowed to call from a browser
                                    (default: none, CORS off)
``MASKPATROL_API_RATE``             analysis requests per minute per client (default 60;
                                    ``0`` turns the limit off)
``MASKPATROL_API_WORKERS``          images analysed at the same time (default: half the usable
                                    cores, at least 1, so the pages keep a core)
``MASKPATROL_API_QUEUE``            requests allowed to wait for a worker (default 4); more
                                    get 503 with ``Retry-After``
``MASKPATROL_API_BEHIND_PROXY``     ``1``: the client is the last ``X-Forwarded-For`` address
                                    (Heroku's router appends it); default on when ``DYNO`` is
                                    set (a Heroku dyno), else the TCP peer is the client
==================================  ==========================================================

A value that cannot work stops the server with a message naming the variable, rather
than leaving, say, a mistyped token setting serving an open API. For the same reason a
deployment (``DYNO`` set) without ``MASKPATROL_API_TOKEN`` serves no API unless
``MASKPATROL_API=on`` says an open one is meant: forgetting the token must not publish a
free face-analysis service on the demo's one dyno.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Mapping

#: Where the API's routes live; versioned so a later incompatible API can sit beside this one.
PREFIX = "/api/v1"

ENABLED = "MASKPATROL_API"
TOKEN = "MASKPATROL_API_TOKEN"
CORS_ORIGINS = "MASKPATROL_API_CORS_ORIGINS"
RATE = "MASKPATROL_API_RATE"
WORKERS = "MASKPATROL_API_WORKERS"
QUEUE = "MASKPATROL_API_QUEUE"
BEHIND_PROXY = "MASKPATROL_API_BEHIND_PROXY"

#: Largest request body: the same 25 MB per upload that setup.sh and ``make run`` give the
#: Photos page (``server.maxUploadSize``), so the API accepts what the page accepts.
MAX_BODY_MB = 25
MAX_BODY_BYTES = MAX_BODY_MB * 1024 * 1024
#: Images in one multipart request: enough for a batch, few enough that one request
#: cannot hold a worker for minutes while others wait.
MAX_FILES = 20
DEFAULT_RATE_PER_MIN = 60
DEFAULT_QUEUE = 4


def _usable_cpus() -> int:
    # Not maskpatrol.runtime.usable_cpus: that module imports OpenCV, and this one is
    # imported when the server starts (see maskpatrol/api/routes.py on keeping that light).
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


class ApiConfigError(ValueError):
    """An API setting that cannot work; the message names the variable to fix."""


@dataclass(frozen=True)
class ApiConfig:
    enabled: bool = True
    token: str | None = None
    cors_origins: tuple[str, ...] = ()
    #: Requests per minute per client; 0 means no limit.
    rate_per_min: int = DEFAULT_RATE_PER_MIN
    workers: int = 1
    queue: int = DEFAULT_QUEUE
    behind_proxy: bool = False


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    value = env.get(name, "").strip().lower()
    if value == "":
        return default
    if value in ("1", "on", "true", "yes"):
        return True
    if value in ("0", "off", "false", "no"):
        return False
    raise ApiConfigError(f"{name} must be on or off, got {value!r}")


def _count(env: Mapping[str, str], name: str, default: int, minimum: int) -> int:
    value = env.get(name, "").strip()
    if value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise ApiConfigError(f"{name} must be a whole number, got {value!r}") from None
    if number < minimum:
        raise ApiConfigError(f"{name} must be {minimum} or more, got {number}")
    return number


def _origins(value: str) -> tuple[str, ...]:
    origins = tuple(o.strip().rstrip("/") for o in value.split(",") if o.strip())
    for origin in origins:
        if origin == "*":
            continue
        if not origin.startswith(("http://", "https://")) or "/" in origin.split("://", 1)[1]:
            raise ApiConfigError(f"{CORS_ORIGINS} must list origins like https://example.org "
                                 f"(scheme and host, no path), got {origin!r}")
    return origins


def load_config(env: Mapping[str, str] | None = None) -> ApiConfig:
    """The settings from ``env`` (default: the process environment)."""
    env = os.environ if env is None else env
    token = env.get(TOKEN, "").strip() or None
    if token is not None and len(token) < 16:
        raise ApiConfigError(f"{TOKEN} is too short to be secret ({len(token)} characters; "
                             "use 16 or more, e.g. from `python -c 'import secrets; print(secrets.token_urlsafe())'`)")
    deployed = bool(env.get("DYNO"))
    return ApiConfig(
        enabled=_flag(env, ENABLED, token is not None or not deployed),
        token=token,
        cors_origins=_origins(env.get(CORS_ORIGINS, "")),
        rate_per_min=_count(env, RATE, DEFAULT_RATE_PER_MIN, 0),
        workers=_count(env, WORKERS, max(1, _usable_cpus() // 2), 1),
        queue=_count(env, QUEUE, DEFAULT_QUEUE, 0),
        behind_proxy=_flag(env, BEHIND_PROXY, deployed),
    )
