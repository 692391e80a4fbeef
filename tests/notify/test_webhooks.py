"""Webhooks against a real receiver on 127.0.0.1 (``support.webhook_receiver``): order, signing,
retries with backoff, a receiver that is down, slow, refusing or hanging, and a bounded close
that hands back what it could not deliver. Every wait is bounded."""

from __future__ import annotations

import json
import logging
import threading
import time

import pytest

from maskpatrol.notify import messages as M
from maskpatrol.notify.webhooks import Backoff, WebhookSender, redact, retry_after_s
from support.net import free_port
from support.webhook_receiver import Answer, start_receiver, wait_until

FAST = Backoff(initial_s=0.05, factor=2.0, max_s=0.2, jitter=0.1)
JPEG = b"\xff\xd8\xff\xe0" + b"face" * 4
T0 = 1796672160.0  # 2026-12-07T19:36:00Z


@pytest.fixture
def receiver_factory():
    started = []

    def start(script=None, port=0):
        r = start_receiver(script, port)
        started.append(r)
        return r

    yield start
    for r in started:
        r.stop()


@pytest.fixture
def senders():
    made = []

    def make(*args, **kwargs):
        kwargs.setdefault("backoff", FAST)
        kwargs.setdefault("timeout_s", 1.0)
        s = WebhookSender(*args, **kwargs)
        made.append(s)
        return s

    yield make
    for s in made:
        s.close(timeout_s=0.5)


def person(event_id="front-door-20261207T193600-3", label="no_mask", last=T0 + 1.4, ended=False, face=None):
    return M.person_state(event_id, "front-door", 3, label, 0.91, 0.04, T0 + 0.12, last, ended=ended,
                          best_face_jpeg=face)


def new_and_end(event_id="front-door-20261207T193600-3"):
    first = person(event_id)
    return M.new_message(first), M.end_message(person(event_id, "incorrect", T0 + 9.87, True, JPEG), first)


# -- the message -----------------------------------------------------------------------------

def test_the_message_follows_frigates_change_feed_for_one_person():
    new, end = new_and_end()
    assert new["type"] == "new" and new["before"] is None and new["after"]["end_time"] is None
    assert end["type"] == "end" and end["id"] == new["id"] == end["before"]["id"] == end["after"]["id"]
    assert end["after"]["last_seen"] == end["after"]["end_time"] == "2026-12-07T19:36:09.870Z"
    assert end["after"]["label"] == "incorrect" and end["before"]["label"] == "no_mask"
    assert end["after"]["best_face"]["content_type"] == "image/jpeg" and end["before"]["best_face"] is None
    assert json.loads(M.encode(end)) == end


def test_a_bad_value_is_refused_with_the_field_named():
    with pytest.raises(M.MessageError, match="p_no_mask"):
        M.person_state("x", "cam", 1, "no_mask", 1.5, 0.0, T0, T0)
    with pytest.raises(M.MessageError, match="JPEG"):
        person(face=b"\x89PNG....")
    with pytest.raises(M.MessageError, match="ended=True"):
        M.end_message(person())


def test_signature_is_hmac_sha256_of_the_body_and_verifies():
    body = M.encode(new_and_end()[0])
    header = M.sign(body, "s3cret")
    assert header.startswith("sha256=") and len(header) == 7 + 64
    assert M.verify(body, "s3cret", header)
    assert not M.verify(body + b" ", "s3cret", header) and not M.verify(body, "other", header)
    assert not M.verify(body, "s3cret", None)


def test_logs_never_show_a_token_in_the_url():
    assert redact("https://user:pw@hooks.example:8443/hook?token=x") == "https://hooks.example:8443/hook"
    assert redact("https://hooks.slack.com/services/T0/B0/XXXX") == "https://hooks.slack.com/services/…"
    assert redact("tgram://123:bot-token/456") == "tgram://…"


def test_retry_after_reads_seconds_and_http_dates():
    assert retry_after_s("3") == 3.0
    assert retry_after_s("Wed, 21 Oct 2015 07:28:10 GMT", now=1445412480.0) == pytest.approx(10.0)
    assert retry_after_s("soon") is None


# -- delivery ------------------------------------------------------------------------------

def test_new_then_end_for_one_person_arrive_in_order_with_the_same_id(receiver_factory, senders):
    r = receiver_factory()
    sender = senders([r.url])
    new, end = new_and_end()
    sender.send(new)
    sender.send(end)
    assert wait_until(lambda: len(r.accepted()) == 2)
    got = [x.json for x in r.accepted()]
    assert [g["type"] for g in got] == ["new", "end"]
    assert got[0]["id"] == got[1]["id"] == new["id"]
    assert [x.headers["X-MaskPatrol-Event"] for x in r.accepted()] == ["new", "end"]
    assert r.accepted()[1].headers["X-MaskPatrol-Event-Id"] == new["id"]
    # The sender counts a delivery once it has read the answer, a moment after the receiver logs it.
    assert wait_until(lambda: sender.stats()[r.url].delivered == 2)


def test_signature_header_verifies_with_the_secret_and_is_absent_without_one(receiver_factory, senders):
    r = receiver_factory()
    senders([r.url], secret="s3cret").send(new_and_end()[0])
    senders([r.url]).send(new_and_end("other")[0])
    assert wait_until(lambda: len(r.accepted()) == 2)
    by_id = {x.json["id"]: x for x in r.accepted()}
    signed = by_id["front-door-20261207T193600-3"]
    assert M.verify(signed.body, "s3cret", signed.headers["X-MaskPatrol-Signature"])
    assert "X-MaskPatrol-Signature" not in by_id["other"].headers


def test_500_twice_then_200_delivers_the_event_exactly_once(receiver_factory, senders):
    r = receiver_factory([Answer(500), Answer(500), Answer(200)])
    undelivered, delivered = [], []
    sender = senders([r.url], on_undelivered=undelivered.append, on_delivered=delivered.append)
    sender.send(new_and_end()[0])
    assert wait_until(lambda: sender.stats()[r.url].delivered == 1)
    time.sleep(0.3)  # nothing more arrives after the success
    assert [m["id"] for m in delivered] == ["front-door-20261207T193600-3"]  # told once, not per attempt
    stats = sender.stats()[r.url]
    assert (stats.delivered, stats.attempts, stats.retried, stats.failed) == (1, 3, 2, 0)
    assert [x.answered for x in r.requests] == [500, 500, 200] and len(r.accepted()) == 1
    assert len({x.headers["X-MaskPatrol-Delivery"] for x in r.requests}) == 1  # one delivery id
    assert undelivered == []


def test_a_receiver_that_is_down_then_comes_up_gets_the_event_later(receiver_factory, senders):
    port = free_port()
    url = f"http://127.0.0.1:{port}/hook"
    sender = senders([url], backoff=Backoff(initial_s=0.1, max_s=0.3, jitter=0.1), max_attempts=30)
    sender.send(new_and_end()[0])
    assert wait_until(lambda: sender.stats()[url].attempts >= 2)
    assert "could not be reached" in sender.stats()[url].last_error
    r = receiver_factory(port=port)
    assert wait_until(lambda: sender.stats()[url].delivered == 1) and sender.stats()[url].failed == 0
    assert len(r.accepted()) == 1


def test_a_slow_receiver_is_retried_after_the_timeout(receiver_factory, senders):
    r = receiver_factory([Answer(200, sleep_s=2.0), Answer(200)])
    sender = senders([r.url], timeout_s=0.3)
    sender.send(new_and_end()[0])
    assert wait_until(lambda: sender.stats()[r.url].delivered == 1)
    stats = sender.stats()[r.url]
    assert stats.attempts == 2 and stats.retried == 1
    assert len(r.requests) == 2
    assert r.requests[0].headers["X-MaskPatrol-Delivery"] == r.requests[1].headers["X-MaskPatrol-Delivery"]


def test_429_waits_for_retry_after(receiver_factory, senders):
    r = receiver_factory([Answer(429, headers=(("Retry-After", "1"),)), Answer(200)])
    sender = senders([r.url], backoff=Backoff(initial_s=0.05, max_s=5.0, jitter=0.0))
    sender.send(new_and_end()[0])
    assert wait_until(lambda: sender.stats()[r.url].delivered == 1, timeout_s=5.0)
    assert r.requests[1].at - r.requests[0].at >= 0.9


def test_a_400_is_not_retried_and_is_logged_in_words(receiver_factory, senders, caplog):
    r = receiver_factory([Answer(400)])
    undelivered = []
    sender = senders([r.url], on_undelivered=undelivered.append)
    new = new_and_end()[0]
    with caplog.at_level(logging.ERROR, logger="maskpatrol.notify.webhooks"):
        sender.send(new)
        assert wait_until(lambda: sender.stats()[r.url].failed == 1)
        time.sleep(0.3)
    assert len(r.requests) == 1 and sender.stats()[r.url].attempts == 1
    assert undelivered == [new]
    text = caplog.text
    assert "400" in text and "not retried" in text and new["id"] in text


def test_send_returns_at_once_while_the_receiver_hangs(receiver_factory, senders):
    r = receiver_factory([Answer(200, sleep_s=10.0)])
    sender = senders([r.url], timeout_s=5.0)
    new, end = new_and_end()
    started = time.perf_counter()
    for _ in range(20):
        sender.send(new)
    sender.send(end)
    sent_s = time.perf_counter() - started
    # Every send returned while the receiver still holds the first request (10 s): none
    # waited for it. How long the 21 took is a figure, not a claim.
    assert wait_until(lambda: len(r.requests) == 1)
    assert sender.pending() == 21 and time.perf_counter() - started < 10.0
    print(f"\n21 sends to a hanging receiver returned in {sent_s * 1000:.2f} ms")


def test_a_full_queue_makes_the_message_undelivered_not_silently_dropped(receiver_factory, senders):
    r = receiver_factory([Answer(200, sleep_s=10.0)])
    undelivered = []
    sender = senders([r.url], queue_size=1, on_undelivered=undelivered.append)
    sender.send(new_and_end("a")[0])
    assert wait_until(lambda: len(r.requests) == 1)  # "a" is in flight, the queue is empty
    sender.send(new_and_end("b")[0])
    sender.send(new_and_end("c")[0])
    assert [m["id"] for m in undelivered] == ["c"]
    assert "queue full" in sender.undelivered()[0].reason


def test_close_drains_what_is_queued_within_its_bound(receiver_factory):
    r = receiver_factory([Answer(500), Answer(200)])
    sender = WebhookSender([r.url], backoff=FAST, timeout_s=1.0)
    for i in range(3):
        sender.send(new_and_end(f"p{i}")[0])
    started = time.monotonic()
    assert sender.close(timeout_s=5.0) == []
    assert time.monotonic() - started < 5.5
    assert [x.json["id"] for x in r.accepted()] == ["p0", "p1", "p2"]
    assert not any(t.name.startswith("webhook-http") and t.is_alive() for t in threading.enumerate())


def test_close_gives_up_in_time_and_hands_back_the_undelivered(receiver_factory, caplog):
    hanging = receiver_factory([Answer(200, sleep_s=10.0)])
    failing = receiver_factory([Answer(503)])
    kept = []
    sender = WebhookSender([hanging.url, failing.url], backoff=FAST, timeout_s=5.0, on_undelivered=kept.append)
    new, end = new_and_end()
    sender.send(new)
    sender.send(end)
    assert wait_until(lambda: len(hanging.requests) == 1 and len(failing.requests) >= 1)
    started = time.monotonic()
    with caplog.at_level(logging.ERROR, logger="maskpatrol.notify.webhooks"):
        left = sender.close(timeout_s=1.0)
    assert time.monotonic() - started < 2.0
    assert sorted((u.url, u.type) for u in left) == sorted(
        [(hanging.url, "new"), (hanging.url, "end"), (failing.url, "new"), (failing.url, "end")])
    assert sorted(m["type"] for m in kept) == ["end", "end", "new", "new"]
    assert new["id"] in caplog.text and "NOT delivered" in caplog.text
    kept.clear()
    sender.send(new)  # after close: refused out loud, still handed back
    assert len(kept) == 2
