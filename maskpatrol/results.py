"""Per-image results for the Photos page: analysis of an upload, relabelling, previews, tables.

Everything here is plain Python (no Streamlit), so the page stays a thin layout and every
rule a user can notice (which advice an empty photo gets, what the tables show) is tested
without a browser.

Why results are split from the threshold: detection and classification are the expensive
part and do not depend on the decision threshold, so :func:`analyze_bytes` stores the
probabilities and :func:`relabel` applies the user's threshold afresh on every rerun.

Three labels: "Mask", "No mask" and, with a 3-class model, "Mask below nose" (the mask
leaves the nose or mouth uncovered). A mask below the nose is NOT properly masked: it is
counted with the unmasked in warnings (``Counts.not_masked``) but shown in its
own column. Its columns appear when such a face was seen or the caller asks for them
(``show_incorrect``, from the model card), so a binary model's tables are unchanged.

The downloads are in :mod:`maskpatrol.export`, which builds on this module, and the Model
page's reports in :mod:`maskpatrol.reports`.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field, replace
from typing import Any, Sequence

import cv2
import numpy as np

from . import budget
from .analysis import Failure, detect, failure, to_scale
from .annotate import annotate
from .detectors import DEFAULT_DETECTOR, DetectorSettings
from .images import decode_image, encode_jpeg, encode_png, load_image
from .pipeline import DISPLAY_NAMES, INCORRECT, MASK, NO_MASK, Counts, Face, MaskPatrol, Settings, label_for
from .preprocess import square_crop

#: Longest side of the on-screen preview. Streamlit shows images at most 2 x 730 px wide,
#: so anything larger is shrunk anyway; shrinking first keeps reruns and the cache small.
PREVIEW_MAX_SIDE = 1460
#: Side of the face thumbnails in the per-face table.
THUMB_PX = 72


@dataclass(frozen=True)
class ImageResult:
    """What the page knows about one uploaded photo after the pipeline ran.

    ``preview`` is the photo shrunk to at most :data:`PREVIEW_MAX_SIDE` (``preview_scale``
    times the original), as JPEG bytes, so annotations can be redrawn on every rerun while
    the cache holds a few hundred kilobytes per photo, not the pixels.
    """

    name: str
    width: int | None = None
    height: int | None = None
    faces: tuple[Face, ...] = ()
    error: str | None = None
    preview: bytes | None = field(default=None, repr=False, compare=False)
    preview_scale: float = 1.0
    thumbnails: tuple[bytes, ...] = field(default=(), repr=False, compare=False)
    #: Frames or pages in the file; only the first is analysed.
    frames: int = 1
    #: Width and height of the pixels analysed, when the photo was shrunk to fit the
    #: server's memory (:data:`maskpatrol.budget.WORK_PIXELS`); None when analysed whole.
    analysed_size: tuple[int, int] | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def first_frame_note(self) -> str | None:
        """Tells the user that an animation or multi-page file was judged on its first
        frame only: someone unmasked on page 2 is otherwise silently missed."""
        if self.frames <= 1:
            return None
        return (f"This file holds {self.frames} frames or pages (an animation or a multi-page "
                "document); only the first was analysed. Save the others as separate images to check them.")

    @property
    def shrunk_note(self) -> str | None:
        """Tells the user that a very large photo was analysed at a reduced size, where faces
        far smaller than the photo may be missed."""
        if self.analysed_size is None:
            return None
        w, h = self.analysed_size
        return (f"This photo has {self.width * self.height / 1e6:.0f} megapixels; to stay within this server's "
                f"memory it was analysed at {w}x{h} pixels, so the smallest face it can find is "
                f"{self.width / w:.0f} times as wide as in a smaller photo. Crop the photo to check small faces.")

    @property
    def counts(self) -> Counts:
        return Counts.of(self.faces)

    @property
    def summary(self) -> str:
        return self.counts.summary if self.ok else "Could not be read"


def _thumbnail(rgb: np.ndarray, box: Sequence[int], size: int) -> bytes:
    """PNG of the square crop the classifier saw, so a user checks what was judged."""
    crop = square_crop(rgb, box)
    interp = cv2.INTER_AREA if crop.shape[0] > size else cv2.INTER_LINEAR
    return encode_png(cv2.resize(crop, (size, size), interpolation=interp))


def _preview(rgb: np.ndarray, max_side: int) -> np.ndarray:
    h, w = rgb.shape[:2]
    scale = min(1.0, max_side / max(h, w))
    if scale >= 1.0:
        return rgb
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)


def analyze_bytes(patrol: MaskPatrol, data: bytes, name: str,
                  detector: DetectorSettings = DetectorSettings(), *,
                  preview_max_side: int = PREVIEW_MAX_SIDE, thumb_px: int = THUMB_PX,
                  work_pixels: int | None = budget.WORK_PIXELS,
                  timings: dict[str, float] | None = None) -> ImageResult:
    """Decode, detect, classify one uploaded file; never raises for a bad file.

    Faces are labelled with the model card's threshold; use :func:`relabel` for the
    user's. A file we cannot read becomes a result with ``error`` set (in the words of
    :mod:`maskpatrol.analysis`, as the CLI and the API give them), so one bad upload never
    stops the others. The decoded picture is dropped on return: the result keeps a JPEG
    preview and the face thumbnails only.
    """
    analysis = detect(patrol, data, Settings(detector, None), name=name, work_pixels=work_pixels, timings=timings)
    if isinstance(analysis, Failure):
        return ImageResult(name=name, error=analysis.message)
    rgb = analysis.decoded.rgb
    try:
        thumbs = tuple(_thumbnail(rgb, f.box, thumb_px) for f in analysis.faces_analysed)
        preview = _preview(rgb, preview_max_side)
        jpeg = encode_jpeg(preview)
    except Exception as exc:  # a user sees a message, never a traceback
        return ImageResult(name=name, error=failure(name, exc).message)
    shrunk = (rgb.shape[1], rgb.shape[0]) != (analysis.width, analysis.height)
    return ImageResult(name=name, width=analysis.width, height=analysis.height, faces=analysis.faces,
                       preview=jpeg, preview_scale=preview.shape[1] / analysis.width, thumbnails=thumbs,
                       frames=analysis.decoded.frames,
                       analysed_size=(int(rgb.shape[1]), int(rgb.shape[0])) if shrunk else None)


def relabel(result: ImageResult, threshold: float, incorrect_threshold: float | None = None) -> ImageResult:
    """The same faces judged at ``threshold`` (on p(no mask)) and ``incorrect_threshold``
    (on p(mask below nose); None = never that label, as for a binary model). Cheap: no
    detection, no model call; the probabilities are kept."""
    faces = tuple(replace(f, label=label_for(f.p_no_mask, threshold, f.p_incorrect, incorrect_threshold))
                  for f in result.faces)
    return replace(result, faces=faces)


def annotated_preview(result: ImageResult, show_probability: bool = True) -> np.ndarray:
    """The preview with boxes and text labels ("Mask 97%"), boxes scaled to the preview."""
    if result.preview is None:
        raise ValueError(f"{result.name} has no preview (error: {result.error})")
    return annotate(load_image(result.preview), to_scale(result.faces, result.preview_scale, result.preview_scale),
                    show_probability)


def annotated_png(data: bytes, result: ImageResult, show_probability: bool = True,
                  work_pixels: int | None = budget.WORK_PIXELS) -> bytes:
    """Annotated PNG, decoded again from the upload when asked for, at the size the photo
    was analysed (at most ``work_pixels``).

    Built only when the user clicks download: a 12 MP PNG takes about a second to encode,
    which would otherwise be paid on every rerun.
    """
    decoded = decode_image(data, name=result.name, work_pixels=work_pixels)
    sx, sy = decoded.scale
    return encode_png(annotate(decoded.rgb, to_scale(result.faces, 1 / sx, 1 / sy), show_probability))


def png_data_url(png: bytes) -> str:
    """A data URL Streamlit's ImageColumn shows inline (nothing is stored on a server)."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


#: What the third label means, for the pages that show it (with a 3-class model).
INCORRECT_LEGEND = ("**Mask below nose**: the mask leaves the nose or mouth uncovered; counted as not "
                    "properly masked, like **No mask**, in the warnings.")


def total_counts(results: Sequence[ImageResult]) -> Counts:
    """The faces of every photo that could be read, counted together."""
    return sum((r.counts for r in results if r.ok), Counts())


def not_masked_text(results: Sequence[ImageResult]) -> str:
    """The warning's words: "2 people are not wearing a mask", or with a mask below the
    nose among them "3 people are not properly masked: 2 without a mask, 1 with the mask
    below the nose" (the binary wording is unchanged)."""
    return total_counts(results).not_masked_text


def _shows_incorrect(results: Sequence[ImageResult], show_incorrect: bool | None) -> bool:
    """Whether tables get the "Mask below nose" columns: as asked, else when one was seen."""
    if show_incorrect is not None:
        return show_incorrect
    return any(r.counts.incorrect for r in results)


def face_rows(result: ImageResult, show_probability: bool = True,
              show_incorrect: bool | None = None) -> list[dict[str, Any]]:
    """The per-face table: face number, thumbnail, label ("Mask below nose" written out),
    p(no mask) and, for a 3-class model, p(mask below nose), box."""
    incorrect_column = _shows_incorrect([result], show_incorrect)
    rows = []
    for i, f in enumerate(result.faces, 1):
        x, y, w, h = f.box
        row: dict[str, Any] = {"Face": i}
        if i - 1 < len(result.thumbnails):
            row["Thumbnail"] = png_data_url(result.thumbnails[i - 1])
        row["Label"] = f.display_name
        if show_probability:
            row["p(no mask)"] = round(f.p_no_mask, 3)
            if incorrect_column:
                row["p(mask below nose)"] = round(f.p_incorrect, 3)
        row["Box (x, y, w, h)"] = f"{x}, {y}, {w}, {h}"
        rows.append(row)
    return rows


def summary_rows(results: Sequence[ImageResult], show_incorrect: bool | None = None) -> list[dict[str, Any]]:
    """The overall table shown when several photos were uploaded: faces per label."""
    incorrect_column = _shows_incorrect(results, show_incorrect)
    rows = []
    for r in results:
        counts = r.counts
        row: dict[str, Any] = {"Photo": r.name, "Faces": counts.total if r.ok else None,
                               DISPLAY_NAMES[MASK]: counts.mask if r.ok else None}
        if incorrect_column:
            row[DISPLAY_NAMES[INCORRECT]] = counts.incorrect if r.ok else None
        row[DISPLAY_NAMES[NO_MASK]] = counts.no_mask if r.ok else None
        row["Result"] = r.summary if r.ok else f"Error: {r.error}"
        rows.append(row)
    return rows


def overall_summary(results: Sequence[ImageResult]) -> str:
    """'3 photos, 7 faces: 5 mask, 2 no mask; 1 photo could not be read'."""
    counts = total_counts(results)
    n_bad = sum(not r.ok for r in results)
    text = f"{len(results)} photo{'s' if len(results) != 1 else ''}, "
    text += counts.summary if counts.total else "no faces found"
    if n_bad:
        text += f"; {n_bad} photo{'s' if n_bad != 1 else ''} could not be read"
    return text


def no_face_advice(result: ImageResult, detector: DetectorSettings, kind: str = "photo") -> list[str]:
    """What to try when no face was found, from what this photo (or video: ``kind``; any
    result with ``width`` and ``height``) and these settings suggest, likeliest fix first.

    Only the knobs of the detector that ran are suggested. With the default detector
    (YuNet, which finds masked faces) a missed face is most often small or unsure, so the
    size and confidence knobs come first; another detector is suggested last, and only
    away from a weaker one (Haar misses most masked faces)."""
    tips = []
    if result.width is not None and result.height is not None and min(result.width, result.height) < 400:
        tips.append(f"Use a larger {kind}: this one is only {result.width}x{result.height} pixels.")
    name = getattr(detector, "name", DEFAULT_DETECTOR)
    if detector.min_face_px > 20:
        tips.append(f"Lower **Smallest face** (now {detector.min_face_px} px) if the faces are small or far away.")
    if name == "haar":
        if detector.min_neighbors > 1:
            tips.append(f"Lower **Detector strictness** (now {detector.min_neighbors}) to accept weaker detections.")
        if detector.scale_factor > 1.05:
            tips.append(f"Lower **Detector scale step** (now {detector.scale_factor:.2f}) to search more face sizes.")
    else:
        score = getattr(detector, "min_score", None)
        if score is None or score > 0.15:
            now = "" if score is None else f" (now {score:.2f})"
            tips.append(f"Lower **Detector confidence**{now} to accept less certain faces.")
    if name != DEFAULT_DETECTOR:
        why = ("the Haar cascade looks for eyes, a nose and a mouth, so it misses most masked faces"
               if name == "haar" else "it finds masked faces and small faces in large photos")
        tips.append(f"Switch **Face detector** to **YuNet** (the default): {why}.")
    tips.append("The detector finds upright, front-facing faces; turned or tilted heads may be missed.")
    return tips
