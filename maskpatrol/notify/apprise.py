"""``--notify URL``: chat and push services (Slack, Telegram, ntfy, Pushover, e-mail, ...) through
Apprise (https://github.com/caronc/apprise, BSD-2-Clause), rather than a client per service.

Apprise is optional and imported only when a sender is made: the serving requirements do not
carry it (about 9 MB unpacked; see the notify report). Each Apprise URL gets the queue, worker
thread, retries, counters and bounded close of :class:`~.webhooks.WebhookSender`; only the
transport differs. Apprise reports success or failure, not a status code, so every failure
is retried up to ``max_attempts``. The text is one line per person; the best face is attached
as a JPEG where the service takes attachments.
"""

from __future__ import annotations

import base64
from typing import Any, Mapping

from .messages import END, NEW
from .webhooks import WebhookSender, Delivery, Outcome

INSTALL_HINT = "chat and push notifications need Apprise: pip install apprise"
LABEL_WORDS = {"mask": "masked", "no_mask": "not masked", "incorrect": "mask worn incorrectly"}


def _apprise():
    try:
        import apprise
    except ModuleNotFoundError as exc:
        raise ModuleNotFoundError(INSTALL_HINT) from exc
    return apprise


def text_for(message: Mapping[str, Any]) -> tuple[str, str]:
    """(title, body) for ``message``: one short title a phone can show, one line of detail."""
    after = message["after"]
    who = f"person {after['person']} at {after['camera']}"
    label = LABEL_WORDS.get(after["label"], after["label"])
    if message["type"] == NEW:
        return f"Mask Patrol: {who}, {label}", f"{who}: {label}, first seen {after['first_seen']}"
    if message["type"] == END:
        before = message.get("before") or {}
        changed = "" if before.get("label") in (None, after["label"]) else \
            f" (was {LABEL_WORDS.get(before['label'], before['label'])})"
        return (f"Mask Patrol: {who} left, {label}",
                f"{who}: {label}{changed}, seen {after['first_seen']} to {after['last_seen']}")
    return f"Mask Patrol: {who}, {label}", f"{who}: {label}"


class AppriseSender(WebhookSender):
    """:class:`~.webhooks.WebhookSender` whose URLs are Apprise URLs (``ntfys://``, ``tgram://``,
    ``json://``, ...). ``secret`` is not used: each service authenticates with its own URL."""

    def _check_url(self, url: str) -> None:
        apprise = _apprise()
        if apprise.Apprise.instantiate(url) is None:
            raise ValueError(f"--notify: Apprise does not understand the URL of scheme "
                             f"{url.split(':', 1)[0]!r}; see https://appriseit.com for the services")

    def _post(self, url: str, item: Delivery, timeout: float) -> Outcome:
        apprise = _apprise()
        client = apprise.Apprise()
        client.add(url)
        title, body = text_for(item.message)
        attach = None
        face = (item.message.get("after") or {}).get("best_face")
        if face:
            from apprise.attachment.memory import AttachMemory

            attach = apprise.AppriseAttachment()
            attach.add(AttachMemory(content=base64.b64decode(face["base64"]),
                                                       name="face.jpg", mimetype="image/jpeg"))
        ok = client.notify(body=body, title=title, attach=attach, timeout=timeout)
        service = url.split(":", 1)[0]
        return Outcome(bool(ok), True, "delivered" if ok else f"the {service}:// service did not accept it")
