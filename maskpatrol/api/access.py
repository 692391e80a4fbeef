"""Who may call the analysis routes, and how often: the bearer token and the per-client rate."""

from __future__ import annotations

import hmac
import math
import time
from collections import OrderedDict
from typing import Callable

from starlette.requests import Request

from .errors import ApiError

#: Clients remembered by the rate limiter. Beyond this the least recently seen is
#: forgotten (it starts again with a full allowance), so a flood of addresses cannot
#: grow the server's memory.
MAX_TRACKED_CLIENTS = 10_000


def check_token(request: Request, token: str | None) -> None:
    """Nothing when the API is open or the request carries ``Authorization: Bearer <token>``;
    401 otherwise. Compared in constant time, so the answer's timing gives the token away
    byte by byte to nobody."""
    if token is None:
        return
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    challenge = {"WWW-Authenticate": 'Bearer realm="maskpatrol"'}
    if scheme.lower() != "bearer" or not given.strip():
        raise ApiError(401, "This server's API needs a token: send the header "
                            "'Authorization: Bearer <token>' (ask the server's operator for it).", challenge)
    if not token_matches(given, token):
        raise ApiError(401, "The token is not valid for this server.",
                       {"WWW-Authenticate": 'Bearer realm="maskpatrol", error="invalid_token"'})


def token_matches(given: str, token: str) -> bool:
    """Whether ``given`` (surrounding spaces ignored) is ``token``, compared in constant time."""
    return hmac.compare_digest(given.strip().encode(), token.encode())


def client_key(request: Request, behind_proxy: bool) -> str:
    """The address a rate applies to. Behind Heroku's router every connection comes from
    the router; the router appends the caller's address to ``X-Forwarded-For``, so the
    last entry is the one a caller cannot forge (earlier entries are theirs to write)."""
    if behind_proxy:
        forwarded = request.headers.get("x-forwarded-for", "")
        last = forwarded.rsplit(",", 1)[-1].strip()
        if last:
            return last
    return request.client.host if request.client else "unknown"


class RateLimiter:
    """A token bucket per client: ``per_minute`` requests at once, refilled evenly over a minute.

    Used from the server's one event loop only, so it needs no lock."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic,
                 max_clients: int = MAX_TRACKED_CLIENTS) -> None:
        self.per_minute = per_minute
        self._clock = clock
        self._max_clients = max_clients
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def check(self, client: str) -> None:
        """Take one request from ``client``'s allowance, or raise 429 with ``Retry-After``."""
        if self.per_minute <= 0:
            return
        now = self._clock()
        per_second = self.per_minute / 60.0
        tokens, seen = self._buckets.pop(client, (float(self.per_minute), now))
        tokens = min(float(self.per_minute), tokens + (now - seen) * per_second)
        if tokens < 1.0:
            self._remember(client, tokens, now)
            wait = math.ceil((1.0 - tokens) / per_second)
            raise ApiError(429, f"Too many requests: this server allows {self.per_minute} analysis "
                                f"requests per minute per client. Try again in {wait} s.",
                           {"Retry-After": str(wait)})
        self._remember(client, tokens - 1.0, now)

    def _remember(self, client: str, tokens: float, now: float) -> None:
        self._buckets[client] = (tokens, now)
        while len(self._buckets) > self._max_clients:
            self._buckets.popitem(last=False)
