"""``--webhook URL``: POST each message to every URL, off the frame loop, retried, never lost silently.

One worker thread per URL takes messages from that URL's bounded queue in order, so a
person's ``end`` never overtakes their ``new`` at a receiver. :meth:`WebhookSender.send`
only enqueues: it never waits for the network. A delivery is one message to one URL:

- each attempt has a timeout (``timeout_s``);
- a connection error, a timeout, a 5xx, a 408 or a 429 is retried after an exponential
  backoff with jitter (:class:`Backoff`); a 429's or 503's ``Retry-After`` is honoured, up
  to ``Backoff.max_s``;
- any other 4xx (and a 3xx: a POST must not silently become a GET) is not retried, since
  sending the same request again gets the same answer; it is logged in words;
- after ``max_attempts`` attempts, or when the queue is full, or when :meth:`close` runs
  out of time, the delivery is *undelivered*: logged at ERROR with its event id, kept in
  :meth:`WebhookSender.undelivered`, and passed to ``on_undelivered(message)`` so the
  caller can persist it and send it again later. ``on_delivered(message)`` is called once for
each message a URL accepted (for counters).

Every attempt of one delivery carries the same ``X-MaskPatrol-Delivery`` id, so a receiver
that answered but whose answer was lost (a timeout) can drop the duplicate.
"""

from __future__ import annotations

import email.utils
import logging
import queue
import random
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping, Optional, Union

from .messages import SIGNATURE_HEADER, encode, sign

LOG = logging.getLogger(__name__)

USER_AGENT = "MaskPatrol-Webhook/1"
EVENT_HEADER = "X-MaskPatrol-Event"
EVENT_ID_HEADER = "X-MaskPatrol-Event-Id"
DELIVERY_HEADER = "X-MaskPatrol-Delivery"
#: Statuses worth sending again: the receiver may answer differently later.
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504}) | frozenset(range(505, 600))


@dataclass(frozen=True)
class Backoff:
    """Wait ``initial_s * factor**(retry-1)``, at most ``max_s``, then multiply by a random
    factor in ``[1 - jitter, 1 + jitter]`` so that senders do not retry in step."""

    initial_s: float = 1.0
    factor: float = 2.0
    max_s: float = 60.0
    jitter: float = 0.25

    def delay(self, retry: int, rand: Callable[[], float] = random.random) -> float:
        base = min(self.max_s, self.initial_s * self.factor ** max(0, retry - 1))
        return max(0.0, base * (1.0 + self.jitter * (2.0 * rand() - 1.0)))


@dataclass
class UrlStats:
    """Counters for one URL, for metrics. ``retried`` counts attempts after the first."""

    delivered: int = 0
    retried: int = 0
    failed: int = 0
    attempts: int = 0
    last_error: Optional[str] = None


@dataclass(frozen=True)
class Undelivered:
    """A message that one URL did not get, and why."""

    url: str
    event_id: str
    type: str
    attempts: int
    reason: str
    message: Mapping[str, Any] = field(repr=False)


@dataclass
class Delivery:
    message: Mapping[str, Any]
    body: bytes
    delivery_id: str
    attempts: int = 0
    settled: bool = False


class Outcome:
    """What one attempt came to: delivered, retry (after ``wait_s`` if the receiver said so), or give up."""

    def __init__(self, ok: bool, retry: bool, reason: str, wait_s: Optional[float] = None):
        self.ok, self.retry, self.reason, self.wait_s = ok, retry, reason, wait_s


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):  # noqa: D102
        return None  # urllib would turn the POST into a GET without its body


def redact(url: str) -> str:
    """``url`` for logs and thread names: the scheme, the host and the first path segment of an
    http(s) URL; the scheme alone for other schemes (Apprise's hold tokens in the host). A
    user, a password, a query and the rest of the path may all hold a token (Slack's and
    Discord's webhook URLs carry theirs in the path)."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https"):
        return f"{parts.scheme}://…"
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    segments = [x for x in parts.path.split("/") if x]
    path = "/" + segments[0] + ("/…" if len(segments) > 1 else "") if segments else ""
    return f"{parts.scheme}://{host}{path}"


def retry_after_s(value: Optional[str], now: Optional[float] = None) -> Optional[float]:
    """Seconds asked for by a ``Retry-After`` header (seconds or an HTTP date); None if unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None or when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def _words(url: str, status: int, reason: str) -> str:
    hint = {401: "check MASKPATROL_WEBHOOK_SECRET and the receiver's credentials",
            403: "check MASKPATROL_WEBHOOK_SECRET and the receiver's credentials",
            404: "check the URL's path",
            405: "the URL does not accept POST",
            410: "the receiver says this URL is gone",
            413: "the message is too large for the receiver (the best face is in it)"}.get(
        status, "the receiver refuses the request itself; sending it again would get the same answer")
    if 300 <= status < 400:
        hint = "the URL redirects; give the final URL (a redirected POST would lose its body)"
    return f"{redact(url)} answered {status} {reason}: not retried ({hint})"


class _UrlWorker:
    def __init__(self, sender: "WebhookSender", url: str, queue_size: int):
        self.sender, self.url = sender, url
        self.queue: "queue.Queue[Delivery]" = queue.Queue(maxsize=queue_size)
        self.stats = UrlStats()
        self.current: Optional[Delivery] = None
        self.thread = threading.Thread(target=self._run, name=f"webhook-{redact(url)}", daemon=True)

    # -- the worker thread -------------------------------------------------------------
    def _run(self) -> None:
        s = self.sender
        while True:
            if s._closing.is_set() and self.queue.empty():
                return
            try:
                item = self.queue.get(timeout=0.1)
            except queue.Empty:
                continue
            self.current = item
            try:
                self._deliver(item)
            except Exception as exc:  # a bug here must not kill the URL's worker
                LOG.exception("webhook worker for %s failed on event %s", redact(self.url), item.message.get("id"))
                s._give_up(self, item, f"internal error: {exc!r}")
            finally:
                self.current = None

    def _deliver(self, item: Delivery) -> None:
        s = self.sender
        while not item.settled:
            remaining = s._remaining()
            if remaining is not None and remaining <= 0:
                s._give_up(self, item, "shutting down: no time left to send")
                return
            timeout = s.timeout_s if remaining is None else max(0.05, min(s.timeout_s, remaining))
            item.attempts += 1
            with s._lock:
                self.stats.attempts += 1
                if item.attempts > 1:
                    self.stats.retried += 1
            outcome = s._post(self.url, item, timeout)
            if outcome.ok:
                s._delivered(self, item)
                return
            with s._lock:
                self.stats.last_error = outcome.reason
            if not outcome.retry:
                LOG.error("webhook event %s (%s): %s", item.message.get("id"), item.message.get("type"), outcome.reason)
                s._give_up(self, item, outcome.reason)
                return
            if item.attempts >= s.max_attempts:
                s._give_up(self, item, f"{outcome.reason}; gave up after {item.attempts} attempts")
                return
            wait = s.backoff.delay(item.attempts)
            if outcome.wait_s is not None:
                wait = min(max(wait, outcome.wait_s), s.backoff.max_s)
            LOG.warning("webhook event %s (%s): %s; attempt %d of %d, retrying in %.2f s",
                        item.message.get("id"), item.message.get("type"), outcome.reason, item.attempts,
                        s.max_attempts, wait)
            s._sleep(wait)


class WebhookSender:
    """POST messages to ``urls`` from background threads; see the module docstring.

    ``secret`` (str or bytes) signs each body (:data:`~.messages.SIGNATURE_HEADER`); without
    it no signature header is sent. ``queue_size`` bounds each URL's backlog. ``opener`` is
    for tests and proxies; by default redirects are not followed and the environment's
    proxies are used, as urllib does."""

    def __init__(self, urls: Iterable[str], secret: Union[str, bytes, None] = None, timeout_s: float = 5.0,
                 max_attempts: int = 8, backoff: Backoff = Backoff(), queue_size: int = 1000,
                 on_undelivered: Optional[Callable[[Mapping[str, Any]], None]] = None,
                 on_delivered: Optional[Callable[[Mapping[str, Any]], None]] = None,
                 opener: Optional[urllib.request.OpenerDirector] = None, keep_undelivered: int = 1000):
        urls = list(dict.fromkeys(urls))
        for url in urls:
            self._check_url(url)
        if max_attempts < 1 or timeout_s <= 0 or queue_size < 1:
            raise ValueError("max_attempts and queue_size must be at least 1 and timeout_s above 0")
        self.secret = secret or None
        self.timeout_s, self.max_attempts, self.backoff = float(timeout_s), int(max_attempts), backoff
        self.on_undelivered = on_undelivered
        self.on_delivered = on_delivered
        self._opener = opener or urllib.request.build_opener(_NoRedirect)
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._deadline: Optional[float] = None
        self._undelivered: list[Undelivered] = []
        self._keep = keep_undelivered
        self._workers = [_UrlWorker(self, url, queue_size) for url in urls]
        for w in self._workers:
            w.thread.start()

    # -- the caller's side ---------------------------------------------------------------
    def send(self, message: Mapping[str, Any]) -> None:
        """Queue ``message`` for every URL and return at once; never blocks, never raises
        for the network. A full queue or a closed sender makes it undelivered (logged)."""
        body = encode(message)  # a message that cannot be encoded is the caller's bug: raise now
        for w in self._workers:
            item = Delivery(message=message, body=body, delivery_id=str(uuid.uuid4()))
            if self._closing.is_set():
                self._give_up(w, item, "the sender is closed")
                continue
            try:
                w.queue.put_nowait(item)
            except queue.Full:
                self._give_up(w, item, f"queue full ({w.queue.maxsize} waiting): the receiver is too slow or down")

    def stats(self) -> dict[str, UrlStats]:
        """A copy of each URL's counters, keyed by the URL as given."""
        with self._lock:
            return {w.url: UrlStats(**vars(w.stats)) for w in self._workers}

    def pending(self) -> int:
        """Deliveries queued or in flight, over all URLs."""
        return sum(w.queue.qsize() + (1 if w.current is not None else 0) for w in self._workers)

    def undelivered(self) -> list[Undelivered]:
        """The most recent ``keep_undelivered`` deliveries that failed, oldest first."""
        with self._lock:
            return list(self._undelivered)

    def close(self, timeout_s: float = 10.0) -> list[Undelivered]:
        """Stop taking messages, try to deliver what is queued within ``timeout_s``, and
        give up on the rest (each logged with its event id and passed to
        ``on_undelivered``). Returns what was undelivered over the sender's life."""
        with self._lock:
            if self._deadline is None:
                self._deadline = time.monotonic() + max(0.0, timeout_s)
        self._closing.set()
        for w in self._workers:
            w.thread.join(max(0.0, self._deadline - time.monotonic()) + 0.2)
        for w in self._workers:  # a worker stuck past the bound: settle its share here
            stuck = w.current
            if stuck is not None:
                self._give_up(w, stuck, "shutting down: the attempt in flight did not finish in time")
            while True:
                try:
                    self._give_up(w, w.queue.get_nowait(), "shutting down: no time left to send")
                except queue.Empty:
                    break
        return self.undelivered()

    def __enter__(self) -> "WebhookSender":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- what a subclass for another transport replaces (see .apprise) --------------------
    def _check_url(self, url: str) -> None:
        if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
            raise ValueError(f"--webhook {redact(url)!r} is not an http:// or https:// URL")

    # -- shared by the workers -----------------------------------------------------------
    def _remaining(self) -> Optional[float]:
        deadline = self._deadline
        return None if deadline is None else deadline - time.monotonic()

    def _sleep(self, seconds: float) -> None:
        """Sleep ``seconds``, cut short by the close deadline (re-checked as it arrives)."""
        end = time.monotonic() + seconds
        while True:
            now = time.monotonic()
            remaining = self._remaining()
            left = end - now if remaining is None else min(end - now, remaining)
            if left <= 0:
                return
            time.sleep(min(left, 0.05))

    def _post(self, url: str, item: Delivery, timeout: float) -> Outcome:
        headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT,
                   EVENT_HEADER: str(item.message.get("type")), EVENT_ID_HEADER: str(item.message.get("id")),
                   DELIVERY_HEADER: item.delivery_id}
        if self.secret is not None:
            headers[SIGNATURE_HEADER] = sign(item.body, self.secret)
        request = urllib.request.Request(url, data=item.body, headers=headers, method="POST")
        try:
            with self._opener.open(request, timeout=timeout) as resp:
                resp.read(65536)
                return Outcome(True, False, f"{resp.status}")
        except urllib.error.HTTPError as exc:
            code = exc.code
            reason = f"{redact(url)} answered {code} {exc.reason}"
            exc.close()
            if code in RETRY_STATUSES:
                wait = retry_after_s(exc.headers.get("Retry-After")) if code in (429, 503) else None
                return Outcome(False, True, reason, wait)
            return Outcome(False, False, _words(url, code, str(exc.reason)))
        except urllib.error.URLError as exc:
            return Outcome(False, True, f"{redact(url)} could not be reached: {exc.reason}")
        except (TimeoutError, OSError) as exc:  # a read timeout, a reset, a dropped connection
            what = "did not answer within %.1f s" % timeout if isinstance(exc, TimeoutError) else f"failed: {exc!r}"
            return Outcome(False, True, f"{redact(url)} {what}")

    def _delivered(self, w: _UrlWorker, item: Delivery) -> None:
        with self._lock:
            if item.settled:
                return
            item.settled = True
            w.stats.delivered += 1
        LOG.info("webhook event %s (%s) delivered to %s after %d attempt(s)", item.message.get("id"),
                 item.message.get("type"), redact(w.url), item.attempts)
        if self.on_delivered is not None:
            try:
                self.on_delivered(item.message)
            except Exception:
                LOG.exception("on_delivered failed for event %s", item.message.get("id"))

    def _give_up(self, w: _UrlWorker, item: Delivery, reason: str) -> None:
        with self._lock:
            if item.settled:
                return
            item.settled = True
            w.stats.failed += 1
            w.stats.last_error = reason
            record = Undelivered(url=w.url, event_id=str(item.message.get("id")),
                                 type=str(item.message.get("type")), attempts=item.attempts,
                                 reason=reason, message=item.message)
            self._undelivered.append(record)
            del self._undelivered[:-self._keep]
        LOG.error("webhook event %s (%s) NOT delivered to %s after %d attempt(s): %s", record.event_id,
                  record.type, redact(w.url), record.attempts, reason)
        if self.on_undelivered is not None:
            try:
                self.on_undelivered(item.message)
            except Exception:
                LOG.exception("on_undelivered failed for event %s", record.event_id)
