"""The webhook message: one change feed per person, in the shape of Frigate's events.

Frigate publishes ``frigate/events`` as ``{"type": "new"|"update"|"end", "before": {...},
"after": {...}}``, where both objects carry the tracked object's ``id``; a receiver keys its
notification on that id and updates it instead of stacking a new one
(https://docs.frigate.video/integrations/mqtt/). Mask Patrol keeps that shape, for people:

- ``new``: the person has been judged (``after`` is their state then; ``before`` is null).
- ``end``: the person has left; ``after`` holds the last-seen time, the final label and the
  best face; ``before`` is the state announced by ``new`` (without its face), so a receiver
  that missed ``new`` still has it, and one that kept it can see whether the label changed.

Example (``end``, face shortened)::

    {"schema": "maskpatrol.person/1", "type": "end", "id": "front-door-20261207T193600-3",
     "before": {"id": "front-door-20261207T193600-3", "camera": "front-door", "person": 3,
                "label": "no_mask", "p_no_mask": 0.91, "p_incorrect": 0.04,
                "first_seen": "2026-12-07T19:36:00.120Z",
                "last_seen": "2026-12-07T19:36:01.400Z", "end_time": null, "best_face": null},
     "after": {"id": "front-door-20261207T193600-3", "camera": "front-door", "person": 3,
               "label": "incorrect", "p_no_mask": 0.12, "p_incorrect": 0.8,
               "first_seen": "2026-12-07T19:36:00.120Z",
               "last_seen": "2026-12-07T19:36:09.870Z",
               "end_time": "2026-12-07T19:36:09.870Z",
               "best_face": {"content_type": "image/jpeg", "base64": "/9j/4AAQ..."}}}

Times are ISO-8601 UTC with milliseconds and a ``Z``. ``update`` is reserved (Frigate's
middle type) and not sent today. The body is compact JSON with sorted keys, and
:func:`sign` gives the value of :data:`SIGNATURE_HEADER`, ``sha256=<hex>`` of
HMAC-SHA256(secret, body), as GitHub signs its webhooks; a receiver checks it with
:func:`verify` or the same three lines in its own language.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
from datetime import datetime, timezone
from typing import Any, Mapping, Optional, Union

SCHEMA = "maskpatrol.person/1"
NEW, UPDATE, END = "new", "update", "end"
TYPES = (NEW, UPDATE, END)
#: The environment variable holding the signing secret (read by the caller, not here).
SECRET_ENV = "MASKPATROL_WEBHOOK_SECRET"
SIGNATURE_HEADER = "X-MaskPatrol-Signature"
SIGNATURE_PREFIX = "sha256="

Instant = Union[datetime, float, int]


class MessageError(ValueError):
    """A value that cannot go into a message; the text names the field."""


def iso_utc(when: Instant) -> str:
    """``when`` (an aware datetime, or seconds since the epoch) as ``2026-12-07T19:36:00.120Z``.

    A naive datetime is refused: guessing its zone would shift every time a receiver shows."""
    if isinstance(when, datetime):
        if when.tzinfo is None:
            raise MessageError(f"time {when!r} has no time zone; pass an aware datetime or epoch seconds")
        moment = when.astimezone(timezone.utc)
    elif isinstance(when, (int, float)) and not isinstance(when, bool) and math.isfinite(when):
        moment = datetime.fromtimestamp(float(when), tz=timezone.utc)
    else:
        raise MessageError(f"time {when!r} is neither a datetime nor epoch seconds")
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _probability(name: str, value: float) -> float:
    p = float(value)
    if not (0.0 <= p <= 1.0):
        raise MessageError(f"{name}={value!r} is not a probability between 0 and 1")
    return round(p, 4)


def person_state(event_id: str, camera: str, person: int, label: str, p_no_mask: float,
                 p_incorrect: float, first_seen: Instant, last_seen: Instant,
                 ended: bool = False, best_face_jpeg: Optional[bytes] = None) -> dict[str, Any]:
    """One ``before``/``after`` object from plain values.

    ``event_id`` is the person's id for the whole feed (the caller's event store id, or
    camera, start and person number); ``person`` is the number shown on the box.
    ``best_face_jpeg``, if given, must be JPEG bytes; it is sent as base64."""
    if not event_id or not isinstance(event_id, str):
        raise MessageError(f"event id {event_id!r} must be a non-empty string")
    if not label or not isinstance(label, str):
        raise MessageError(f"label {label!r} must be a non-empty string")
    face = None
    if best_face_jpeg is not None:
        if not bytes(best_face_jpeg[:3]) == b"\xff\xd8\xff":
            raise MessageError("best face is not a JPEG (it must start with FF D8 FF)")
        face = {"content_type": "image/jpeg", "base64": base64.b64encode(bytes(best_face_jpeg)).decode("ascii")}
    last = iso_utc(last_seen)
    return {"id": event_id, "camera": str(camera), "person": int(person), "label": label,
            "p_no_mask": _probability("p_no_mask", p_no_mask),
            "p_incorrect": _probability("p_incorrect", p_incorrect),
            "first_seen": iso_utc(first_seen), "last_seen": last,
            "end_time": last if ended else None, "best_face": face}


def build_message(kind: str, after: Mapping[str, Any],
                  before: Optional[Mapping[str, Any]] = None) -> dict[str, Any]:
    """The message of type ``kind`` (``new``/``update``/``end``) from :func:`person_state` objects.

    ``before`` loses its face: the receiver already has it, and it would double the size."""
    if kind not in TYPES:
        raise MessageError(f"message type {kind!r} is not one of {', '.join(TYPES)}")
    if before is not None and before.get("id") != after.get("id"):
        raise MessageError(f"before and after are different people ({before.get('id')!r}, {after.get('id')!r})")
    return {"schema": SCHEMA, "type": kind, "id": after["id"],
            "before": None if before is None else {**before, "best_face": None},
            "after": dict(after)}


def new_message(after: Mapping[str, Any]) -> dict[str, Any]:
    """``new``: the person has just been judged."""
    return build_message(NEW, after)


def end_message(after: Mapping[str, Any], before: Optional[Mapping[str, Any]] = None) -> dict[str, Any]:
    """``end``: the person has left; ``after`` should be built with ``ended=True``."""
    if after.get("end_time") is None:
        raise MessageError("an end message needs after.end_time: build its state with ended=True")
    return build_message(END, after, before)


def encode(message: Mapping[str, Any]) -> bytes:
    """The exact bytes that are POSTed and signed: compact UTF-8 JSON, keys sorted."""
    return json.dumps(message, separators=(",", ":"), sort_keys=True, ensure_ascii=False,
                      allow_nan=False).encode("utf-8")


def _key(secret: Union[str, bytes]) -> bytes:
    key = secret.encode("utf-8") if isinstance(secret, str) else bytes(secret)
    if not key:
        raise MessageError(f"the webhook secret is empty; unset {SECRET_ENV} or give it a value")
    return key


def sign(body: bytes, secret: Union[str, bytes]) -> str:
    """The :data:`SIGNATURE_HEADER` value for ``body``: ``sha256=<hex HMAC-SHA256>``."""
    return SIGNATURE_PREFIX + hmac.new(_key(secret), body, hashlib.sha256).hexdigest()


def verify(body: bytes, secret: Union[str, bytes], header: Optional[str]) -> bool:
    """Whether ``header`` is the signature of ``body`` under ``secret`` (constant-time compare)."""
    if not header:
        return False
    return hmac.compare_digest(sign(body, secret), header.strip())
