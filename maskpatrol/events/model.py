"""One event per person found not properly masked, in the change-feed shape of Frigate's events.

A person gets one id (a uuid4 in hex). A ``new`` event goes out when the person is decided;
an ``end`` event, with the same id, when they leave: it carries the last-seen time, the
final label and the best (largest) face. The store keeps one row per id, so ``end``
replaces ``new``.

The values are plain (no tracking types), so the watch command, the web app and tests build
them alike. Faces are blurred in thumbnails unless the caller asks otherwise.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, fields, replace
from datetime import datetime, timezone
from typing import Optional

import cv2
import numpy as np

NEW = "new"
END = "end"
STATES = (NEW, END)

#: Longest side of a thumbnail, in pixels: enough to recognise a mask, small in a database.
THUMBNAIL_MAX_SIDE = 96
JPEG_QUALITY = 80


def new_event_id() -> str:
    return uuid.uuid4().hex


def utc(t: datetime) -> datetime:
    """``t`` as an aware UTC datetime; a naive one is taken to be UTC already."""
    if t.tzinfo is None:
        return t.replace(tzinfo=timezone.utc)
    return t.astimezone(timezone.utc)


@dataclass(frozen=True)
class Event:
    """A person found not properly masked, as the log and the change feed show them."""

    id: str
    camera: str
    person: int
    label: str
    p_no_mask: float
    p_incorrect: float
    first_seen: datetime
    last_seen: datetime
    state: str = NEW
    #: A small JPEG of the best face (:func:`thumbnail_jpeg`), only with ``--keep-faces``.
    thumbnail: Optional[bytes] = None

    def __post_init__(self) -> None:
        if self.state not in STATES:
            raise ValueError(f"event state must be one of {STATES}, not {self.state!r}")
        if not self.id:
            raise ValueError("an event needs an id (new_event_id())")
        object.__setattr__(self, "first_seen", utc(self.first_seen))
        object.__setattr__(self, "last_seen", utc(self.last_seen))

    @classmethod
    def new(cls, camera: str, person: int, label: str, p_no_mask: float, p_incorrect: float,
            first_seen: datetime, last_seen: datetime | None = None,
            thumbnail: bytes | None = None) -> "Event":
        """The ``new`` event of a person just decided, with a fresh id."""
        return cls(new_event_id(), camera, int(person), label, float(p_no_mask), float(p_incorrect),
                   first_seen, last_seen or first_seen, NEW, thumbnail)

    def ended(self, last_seen: datetime, label: str | None = None, p_no_mask: float | None = None,
              p_incorrect: float | None = None, thumbnail: bytes | None = None) -> "Event":
        """The ``end`` event of the same person: last-seen time, final label, best face.
        A thumbnail of ``None`` keeps the one this event has."""
        return replace(
            self, state=END, last_seen=utc(last_seen),
            label=self.label if label is None else label,
            p_no_mask=self.p_no_mask if p_no_mask is None else float(p_no_mask),
            p_incorrect=self.p_incorrect if p_incorrect is None else float(p_incorrect),
            thumbnail=self.thumbnail if thumbnail is None else thumbnail)

    def record(self) -> dict:
        """The event as plain JSON values: what the API lists, the History page shows and its
        CSV holds. Times in ISO 8601 UTC, ``has_thumbnail`` instead of the bytes."""
        out = asdict(self)
        thumbnail = out.pop("thumbnail")
        out["has_thumbnail"] = thumbnail is not None
        out["first_seen"] = self.first_seen.isoformat()
        out["last_seen"] = self.last_seen.isoformat()
        return out


#: The keys of :meth:`Event.record`, in order: the event table's and its CSV's columns.
RECORD_FIELDS = tuple(f.name for f in fields(Event) if f.name != "thumbnail") + ("has_thumbnail",)


def _check_rgb(rgb: np.ndarray) -> None:
    if not isinstance(rgb, np.ndarray) or rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError("expected an RGB uint8 image of shape (height, width, 3)")
    if rgb.shape[0] == 0 or rgb.shape[1] == 0:
        raise ValueError("the face crop is empty")


def blur_face(rgb: np.ndarray) -> np.ndarray:
    """A copy of the face crop ``rgb`` that no longer identifies the person: pixelated to about
    8 blocks across, then smoothed. A mask's outline and colour stay visible."""
    _check_rgb(rgb)
    h, w = rgb.shape[:2]
    blocks = 8
    small = cv2.resize(rgb, (max(1, round(w * blocks / max(h, w))), max(1, round(h * blocks / max(h, w)))),
                       interpolation=cv2.INTER_AREA)
    big = cv2.resize(small, (w, h), interpolation=cv2.INTER_NEAREST)
    sigma = max(h, w) / (blocks * 2)
    return cv2.GaussianBlur(big, (0, 0), sigmaX=max(sigma, 0.5))


def thumbnail_jpeg(rgb_crop: np.ndarray, blur: bool = True, max_side: int = THUMBNAIL_MAX_SIDE) -> bytes:
    """A JPEG of the face crop, its longest side at most ``max_side`` pixels, blurred unless
    ``blur`` is False."""
    _check_rgb(rgb_crop)
    h, w = rgb_crop.shape[:2]
    scale = min(1.0, max_side / max(h, w))
    img = rgb_crop
    if scale < 1.0:
        img = cv2.resize(rgb_crop, (max(1, round(w * scale)), max(1, round(h * scale))),
                         interpolation=cv2.INTER_AREA)
    if blur:
        img = blur_face(img)
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(np.ascontiguousarray(img), cv2.COLOR_RGB2BGR),
                           [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:  # pragma: no cover - OpenCV encodes any non-empty uint8 image
        raise ValueError("could not encode the thumbnail as JPEG")
    return buf.tobytes()
