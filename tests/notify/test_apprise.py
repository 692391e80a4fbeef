"""Chat and push services through Apprise, checked with its ``json://`` service against the real
receiver of ``support.webhook_receiver``. Apprise is optional for users; ``make test`` installs it
(requirements-dev.txt), so without it these tests skip locally and fail in CI."""

from __future__ import annotations

import base64
import time

import pytest

from support.required import require_module

require_module("apprise", "Apprise is not installed (pip install apprise; requirements-dev.txt has it)")

from maskpatrol.notify import messages as M  # noqa: E402
from maskpatrol.notify.apprise import AppriseSender, text_for  # noqa: E402
from maskpatrol.notify.webhooks import Backoff  # noqa: E402
from support.webhook_receiver import Answer, start_receiver, wait_until  # noqa: E402

JPEG = b"\xff\xd8\xff\xe0" + b"face" * 4
T0 = 1796672160.0


@pytest.fixture
def receiver():
    made = []

    def start(script=None):
        made.append(start_receiver(script))
        return made[-1]

    yield start
    for r in made:
        r.stop()


def messages():
    first = M.person_state("p3", "front-door", 3, "no_mask", 0.9, 0.05, T0, T0 + 1)
    last = M.person_state("p3", "front-door", 3, "incorrect", 0.1, 0.8, T0, T0 + 9, ended=True, best_face_jpeg=JPEG)
    return M.new_message(first), M.end_message(last, first)


def test_text_names_the_person_the_label_and_a_change():
    new, end = messages()
    assert text_for(new)[0] == "Mask Patrol: person 3 at front-door, not masked"
    assert "mask worn incorrectly (was not masked)" in text_for(end)[1]


def test_new_and_end_reach_a_json_service_in_order_with_the_face_attached(receiver):
    r = receiver()
    sender = AppriseSender([f"json://127.0.0.1:{r.port}/hook"], backoff=Backoff(0.05, 2, 0.2, 0.1), timeout_s=2)
    try:
        for m in messages():
            sender.send(m)
        assert wait_until(lambda: len(r.accepted()) == 2, timeout_s=10)
    finally:
        assert sender.close(timeout_s=2) == []
    new, end = (x.json for x in r.accepted())
    assert new["title"].endswith("not masked") and "left" in end["title"]
    assert base64.b64decode(end["attachments"][0]["base64"]) == JPEG


def test_a_failing_service_is_retried_and_delivered_once(receiver):
    r = receiver([Answer(500), Answer(500), Answer(200)])
    url = f"json://127.0.0.1:{r.port}/hook"
    sender = AppriseSender([url], backoff=Backoff(0.05, 2, 0.2, 0.1), timeout_s=2)
    try:
        sender.send(messages()[0])
        assert wait_until(lambda: sender.stats()[url].delivered == 1, timeout_s=10)
        time.sleep(0.3)
        assert sender.stats()[url].attempts == 3 and len(r.accepted()) == 1
    finally:
        sender.close(timeout_s=1)


def test_an_unknown_service_is_refused_at_start():
    with pytest.raises(ValueError, match="Apprise does not understand"):
        AppriseSender(["nosuchservice://x"])
