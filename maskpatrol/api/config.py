"""The HTTP API's settings: the ``MASKPATROL_API*`` variables and the address Streamlit
listens on, read once when the server starts (``app.py``).

==================================  ==========================================================
``MASKPATROL_API``                  ``off`` turns the API off (requests under ``/api/v1`` get
                                    404 saying so), ``on`` keeps it (default: on when only
                                    this machine can reach the server or a token is set; see
                                    below)
``MASKPATROL_API_TOKEN``            when set, analysis needs ``Authorization: Bearer <token>``
``MASKPATROL_API_OPEN``             ``1``: serve the API without a token even where other
                                    machines can reach it (default off: an open API there is
                                    only ever served on purpose)
``MASKPATROL_API_CORS_ORIGINS``     comma-separated origins allowed to call from a browser
                                    (default: none, CORS off)
``MASKPATROL_API_RATE``             analysis requests per minute per client (default 60;
                                    ``0`` turns the limit off)
``MASKPATROL_API_WORKERS``          images analysed at the same time (default: half the usable
                                    cores, at least 1, so the pages keep a core)
``MASKPATROL_API_QUEUE``            requests allowed to wait for a worker (default 4); more
                                    get 503 with ``Retry-After``
``MASKPATROL_API_BEHIND_PROXY``     ``1``: the client is the last ``X-Forwarded-For`` address
                                    (the one the host's proxy appends); default on when one
                                    of the hosts below is detected, else the TCP peer is the
                                    client
==================================  ==========================================================

Hosts detected by a variable their platform sets (:data:`PROXY_HOSTS`, the one list of them):

==================================  ==========================================================
``DYNO``                            Heroku (documented)
``SPACE_ID``                        Hugging Face Spaces (documented)
``HOSTNAME=streamlit``              Streamlit Community Cloud (not documented by Streamlit;
                                    the value its containers are seen to have)
``RENDER``                          Render (documented, always ``true``)
``FLY_APP_NAME``                    Fly.io (documented)
``K_SERVICE``                       Google Cloud Run (documented)
``RAILWAY_ENVIRONMENT_NAME``        Railway (documented)
``RAILWAY_ENVIRONMENT``             Railway (the older name of the same)
``WEBSITE_SITE_NAME``               Azure App Service (documented)
==================================  ==========================================================

**Who may call without a token.** Only this machine: the API is open without a token
only when Streamlit listens on a loopback address (127.0.0.0/8, ``::1``, ``localhost``) and
no proxy forwards other machines' requests to it (none of the hosts above, and
``MASKPATROL_API_BEHIND_PROXY`` not set on). Streamlit's own default address (unset or
empty) listens on every interface, so it counts as reachable. Anywhere else, without a
token, the API stays off and says why, once in the server log and to every request under
``/api/v1`` (a JSON 404: :attr:`ApiConfig.off_message`); ``MASKPATROL_API=on`` there stops
the server at start, unless ``MASKPATROL_API_OPEN=1`` says an open API is meant. So neither
a forgotten token nor a host we do not know publishes a free face-analysis service.

Any other value that cannot work also stops the server with a message naming the
variable, rather than leaving, say, a mistyped token setting serving an open API.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Mapping, NamedTuple

from ..runtime import usable_cpus

#: Where the API's routes live; versioned so a later incompatible API can sit beside this one.
PREFIX = "/api/v1"

ENABLED = "MASKPATROL_API"
TOKEN = "MASKPATROL_API_TOKEN"
CORS_ORIGINS = "MASKPATROL_API_CORS_ORIGINS"
RATE = "MASKPATROL_API_RATE"
WORKERS = "MASKPATROL_API_WORKERS"
QUEUE = "MASKPATROL_API_QUEUE"
BEHIND_PROXY = "MASKPATROL_API_BEHIND_PROXY"
OPEN = "MASKPATROL_API_OPEN"

#: Largest request body: the 25 MB per upload that ``.streamlit/config.toml`` gives the
#: Photos page (``server.maxUploadSize``) on every host, so the API accepts what the page accepts.
MAX_BODY_MB = 25
MAX_BODY_BYTES = MAX_BODY_MB * 1024 * 1024
#: Images in one multipart request: enough for a batch, few enough that one request
#: cannot hold a worker for minutes while others wait.
MAX_FILES = 20
DEFAULT_RATE_PER_MIN = 60
DEFAULT_QUEUE = 4


class Host(NamedTuple):
    """A hosting platform that puts its proxy between the internet and this server, known
    by a variable it sets (and that variable's value, where the name alone is too common)."""

    name: str
    variable: str
    value: str | None = None


#: The hosts whose proxy is detected; each turns ``MASKPATROL_API_BEHIND_PROXY`` on by
#: default and keeps a token-less API off, whatever address Streamlit listens on.
PROXY_HOSTS = (
    Host("Heroku", "DYNO"),
    Host("Hugging Face Spaces", "SPACE_ID"),
    Host("Streamlit Community Cloud", "HOSTNAME", "streamlit"),
    Host("Render", "RENDER"),
    Host("Fly.io", "FLY_APP_NAME"),
    Host("Google Cloud Run", "K_SERVICE"),
    Host("Railway", "RAILWAY_ENVIRONMENT_NAME"),
    Host("Railway", "RAILWAY_ENVIRONMENT"),
    Host("Azure App Service", "WEBSITE_SITE_NAME"),
)


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
    #: Why the API is off (None while it is on); told in :attr:`off_message`.
    off_reason: str | None = None

    @property
    def off_message(self) -> str | None:
        """What the server log says once, and every request under :data:`PREFIX` is told,
        while the API is off: that it is off here, and why (None while it is on)."""
        if self.enabled:
            return None
        why = f": {self.off_reason}" if self.off_reason else ""
        return f"Mask Patrol HTTP API is off on this server{why}."


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


def is_loopback(address: str | None) -> bool:
    """Whether listening on ``address`` (Streamlit's ``server.address``) reaches only this
    machine. Unset or empty is Streamlit's default, every interface, so it is not."""
    if not address:
        return False
    if address.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(address.strip()).is_loopback
    except ValueError:  # a host name other than localhost may resolve to any interface
        return False


def detected_host(env: Mapping[str, str]) -> Host | None:
    """The first of :data:`PROXY_HOSTS` whose variable ``env`` sets (to its value, if it has one)."""
    for host in PROXY_HOSTS:
        value = env.get(host.variable, "").strip()
        if value and (host.value is None or value == host.value):
            return host
    return None


def _reachable_by_others(bind_address: str | None, host: Host | None, proxy_flag: bool) -> str | None:
    """Why machines other than this one can reach the server, or None when they cannot."""
    if not bind_address:
        return "Streamlit listens on every interface (server.address is not set)"
    if not is_loopback(bind_address):
        return f"Streamlit listens on {bind_address}, which other machines can reach"
    if host is not None:
        shown = f"{host.variable}={host.value}" if host.value else f"{host.variable} is set"
        return f"{host.name}'s proxy forwards other machines' requests ({shown})"
    if proxy_flag:
        return f"{BEHIND_PROXY} says a proxy forwards other machines' requests"
    return None


def load_config(env: Mapping[str, str], bind_address: str | None) -> ApiConfig:
    """The settings from the variables in ``env`` and the address Streamlit listens on
    (``server.address``; None or empty for Streamlit's default, every interface)."""
    token = env.get(TOKEN, "").strip() or None
    if token is not None and len(token) < 16:
        raise ApiConfigError(f"{TOKEN} is too short to be secret ({len(token)} characters; "
                             "use 16 or more, e.g. from `python -c 'import secrets; print(secrets.token_urlsafe())'`)")
    host = detected_host(env)
    behind_proxy = _flag(env, BEHIND_PROXY, host is not None)
    reachable = _reachable_by_others(bind_address, host, _flag(env, BEHIND_PROXY, False))
    open_on_purpose = _flag(env, OPEN, False)
    closed = token is None and reachable is not None and not open_on_purpose
    enabled = _flag(env, ENABLED, not closed)
    if enabled and closed:
        raise ApiConfigError(f"{ENABLED}=on asks for the API without {TOKEN}, but {reachable}: anyone who "
                             f"reaches this server could use it. Set {TOKEN}, or {OPEN}=1 if an open API "
                             "is meant.")
    off_reason = None
    if not enabled:
        off_reason = (f"{ENABLED}=off" if env.get(ENABLED, "").strip() else
                      f"{reachable}, and {TOKEN} is not set. Set {TOKEN} to serve it to holders of the "
                      f"token, or {OPEN}=1 to serve it open on purpose")
    return ApiConfig(
        enabled=enabled,
        token=token,
        cors_origins=_origins(env.get(CORS_ORIGINS, "")),
        rate_per_min=_count(env, RATE, DEFAULT_RATE_PER_MIN, 0),
        workers=_count(env, WORKERS, max(1, usable_cpus() // 2), 1),
        queue=_count(env, QUEUE, DEFAULT_QUEUE, 0),
        behind_proxy=behind_proxy,
        off_reason=off_reason,
    )
