"""MediaPipe's BlazeFace face detector run with LiteRT, beside the Haar cascade.

Why: the Haar frontal-face cascade looks for a nose and mouth, which a mask hides; on
masked faces it finds far fewer faces than BlazeFace (``benchmarks/bench_detectors.py``).

How one frame is processed, cheaply enough for a live webcam on a shared 2-core box:
the whole frame is letterboxed (aspect kept, black bars) into the model's square input
with one ``cv2.resize`` into a preallocated buffer, the interpreter runs once, and the
anchors are decoded with vectorised numpy (:mod:`.ssd_anchors`). Boxes come back in the
frame's pixels, then go through ``ModelSpec.to_haar``, a fixed transform measured on faces
both detectors find, so that :func:`maskpatrol.preprocess.square_crop` (built around Haar
boxes) cuts the same region the classifier was trained on, whichever detector ran.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from ai_edge_litert.interpreter import Interpreter

from ..paths import MODELS_DIR
from ..pool import Pool
from .base import Box, DetectorSettings, smallest_searched_face
from .boxes import IDENTITY, BoxTransform, Detection  # noqa: F401  (IDENTITY: re-exported)
from .ssd_anchors import (FULL_RANGE_ANCHORS, SHORT_RANGE_ANCHORS, AnchorOptions, decode, generate_anchors,
                          iou_one_to_many, scores_from_logits, weighted_nms)

#: One LiteRT thread per interpreter, as for the classifier: a short-range pass takes about
#: a millisecond, and concurrent sessions and the webcam threads use the other core.
NUM_THREADS = 1
#: Keypoints the model emits, in this order (the subject's right eye is the image's left).
KEYPOINTS = ("right_eye", "left_eye", "nose_tip", "mouth", "right_ear_tragion", "left_ear_tragion")


@dataclass(frozen=True)
class ModelSpec:
    """One BlazeFace variant: its file, MediaPipe's decoding options for it, and ours."""

    file: str
    anchors: AnchorOptions
    #: Lowest sigmoid score kept as a face (the user can change it per call).
    min_score: float
    #: BlazeFace box -> Haar-like box, measured per model (their framings differ).
    to_haar: BoxTransform
    #: MediaPipe's ``min_suppression_threshold`` (IoU) for the weighted NMS.
    iou_threshold: float = 0.3
    #: Detections scoring below this (but above ``min_score``) are kept only when their box
    #: is narrower than ``max_unsure_width`` of the picture's longer side; see below.
    sure_score: float = 0.5
    max_unsure_width: float = 0.6
    #: ... and when they overlap no sure detection by more than this IoU.
    max_unsure_overlap: float = 0.1

    @property
    def input_size(self) -> int:
        return self.anchors.input_size


# Box transforms: medians over the 663 (short) / 641 (full) chandrikadeb7 photos, masked and
# unmasked, where Haar and BlazeFace both found the face on a grey canvas
# (``benchmarks/bench_detectors.py --calibrate``). Haar's box is ~11% larger and centred
# higher: by 0.097 of the BlazeFace box height for the short-range model, 0.027 for the
# full-range one. The horizontal offset's median is under 0.005 for both, so it is 0.
#
# Scores: MediaPipe's graphs keep faces above 0.5 (short) / 0.6 (full). Masked faces score
# lower, so the short-range model keeps faces from 0.3, which finds many more masked faces.
# Below 0.5, though, it also "sees" faces in plain walls and textures, and those false
# boxes are big, while unsure true faces are smaller. So a detection between ``min_score``
# and ``sure_score`` is kept only when narrower than ``max_unsure_width`` (60%) of the
# longer side, which never drops a face that 0.5 alone would keep. An unsure detection
# overlapping a sure one (IoU > 0.1) is dropped too: on a masked face the model sometimes
# adds a weak second box over the chin and neck, which would count one person twice. The
# full-range model makes few false boxes, so it uses 0.4 with the same rules. Figures
# (benchmarks/bench_detectors.py): docs/detectors.md, "BlazeFace".
SHORT_RANGE = ModelSpec("face_detection_short_range.tflite", SHORT_RANGE_ANCHORS, min_score=0.3,
                        to_haar=BoxTransform(scale=1.11, dx=0.0, dy=-0.097))
FULL_RANGE = ModelSpec("face_detection_full_range.tflite", FULL_RANGE_ANCHORS, min_score=0.4,
                       to_haar=BoxTransform(scale=1.11, dx=0.0, dy=-0.027))
#: Registry name -> model (see :data:`maskpatrol.detectors._FACTORIES`).
SPECS: dict[str, ModelSpec] = {"blazeface": SHORT_RANGE, "blazeface-full": FULL_RANGE}


def spec_for(name: str) -> ModelSpec:
    try:
        return SPECS[name]
    except KeyError:
        raise ValueError(f"{name!r} is not a BlazeFace detector; known: {', '.join(SPECS)}") from None


@dataclass(frozen=True)
class Letterbox:
    """Where an image of ``width`` x ``height`` lands inside the square model input: scaled
    by the same factor on both axes to ``inner_w`` x ``inner_h``, centred, with bars."""

    width: int
    height: int
    size: int

    @property
    def inner_w(self) -> int:
        return max(1, round(self.width * self.size / max(self.width, self.height)))

    @property
    def inner_h(self) -> int:
        return max(1, round(self.height * self.size / max(self.width, self.height)))

    @property
    def pad_x(self) -> int:
        return (self.size - self.inner_w) // 2

    @property
    def pad_y(self) -> int:
        return (self.size - self.inner_h) // 2

    def to_pixels(self, xs: np.ndarray, ys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Normalised model-input coordinates -> pixels of the original image (exact
        per-axis ratios, so nothing drifts at the far edge)."""
        px = (xs * self.size - self.pad_x) * (self.width / self.inner_w)
        py = (ys * self.size - self.pad_y) * (self.height / self.inner_h)
        return px, py


class _Runner:
    """An interpreter, its anchors and its input buffers, owned by one thread at a time."""

    def __init__(self, model_path: Path, spec: ModelSpec) -> None:
        self.interpreter = Interpreter(model_path=str(model_path), num_threads=NUM_THREADS)
        self.interpreter.allocate_tensors()
        inp = self.interpreter.get_input_details()[0]
        size = spec.input_size
        if tuple(inp["shape"]) != (1, size, size, 3):
            raise RuntimeError(f"{model_path.name}: input {tuple(inp['shape'])}, expected (1, {size}, {size}, 3)")
        self.input_index = inp["index"]
        # The two outputs are told apart by width (16 regressors vs 1 score), not by order
        # or name, which differ between the two files.
        outputs = {int(d["shape"][-1]): d["index"] for d in self.interpreter.get_output_details()}
        self.box_index, self.score_index = outputs[16], outputs[1]
        self.anchors = generate_anchors(spec.anchors)
        self.spec = spec
        self.u8 = np.zeros((size, size, 3), np.uint8)
        self.f32 = np.zeros((1, size, size, 3), np.float32)

    def letterbox(self, rgb: np.ndarray) -> Letterbox:
        """Fill the input buffer with ``rgb`` letterboxed, scaled to -1..1."""
        height, width = rgb.shape[:2]
        lb = Letterbox(width, height, self.spec.input_size)
        self.u8.fill(0)
        inner = self.u8[lb.pad_y:lb.pad_y + lb.inner_h, lb.pad_x:lb.pad_x + lb.inner_w]
        shrinking = lb.inner_w < width
        cv2.resize(rgb, (lb.inner_w, lb.inner_h), dst=inner,
                   interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR)
        np.multiply(self.u8, np.float32(1 / 127.5), out=self.f32[0], casting="unsafe")
        self.f32 -= np.float32(1.0)
        return lb

    def run(self, rgb: np.ndarray, min_score: float) -> tuple[np.ndarray, np.ndarray, Letterbox]:
        """Detections (M, 16) in original pixels (box then keypoints) and scores (M,)."""
        lb = self.letterbox(rgb)
        self.interpreter.set_tensor(self.input_index, self.f32)
        self.interpreter.invoke()
        logits = self.interpreter.get_tensor(self.score_index)
        scores = scores_from_logits(logits)
        candidates = scores >= min_score
        if not candidates.any():
            return np.empty((0, 16), np.float32), np.empty(0, np.float32), lb
        raw = self.interpreter.get_tensor(self.box_index)[0][candidates]
        dets = decode(raw, self.anchors[candidates], self.spec.input_size)
        dets, kept = weighted_nms(dets, scores[candidates], min_score, self.spec.iou_threshold)
        px, py = lb.to_pixels(dets[:, 0::2], dets[:, 1::2])
        out = np.empty_like(dets)
        out[:, 0::2], out[:, 1::2] = px, py
        return out, kept, lb


class BlazeFaceDetector:
    """BlazeFace (short or full range) with the :class:`~maskpatrol.detectors.Detector` API.

    ``scale_factor`` and ``min_neighbors`` are Haar's knobs and are ignored here;
    ``min_face_px`` drops faces smaller than it (with the same slack as Haar), and
    ``min_score`` (if set) replaces the model's default confidence threshold."""

    def __init__(self, spec: ModelSpec = SHORT_RANGE, name: str = "blazeface",
                 models_dir: str | Path = MODELS_DIR, transform: BoxTransform | None = None,
                 min_score: float | None = None) -> None:
        path = Path(models_dir) / spec.file
        if not path.is_file():
            raise FileNotFoundError(f"BlazeFace model not found at {path}; run: make models")
        self.name = name
        self.spec = spec
        self.model_path = path
        self.transform = spec.to_haar if transform is None else transform
        self.min_score = spec.min_score if min_score is None else float(min_score)
        self._pool: Pool[_Runner] = Pool(lambda: _Runner(path, spec))

    def detections(self, rgb: np.ndarray, min_score: float | None = None) -> list[Detection]:
        """Faces as BlazeFace frames them (with score and keypoints), best first."""
        dets, scores = self._run(rgb, min_score)
        return [Detection(float(s), tuple(float(v) for v in d[:4]),
                          tuple((float(d[4 + 2 * k]), float(d[5 + 2 * k])) for k in range(len(KEYPOINTS))))
                for d, s in zip(dets, scores)]

    def _run(self, rgb: np.ndarray, min_score: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
            raise ValueError("expected an RGB uint8 image of shape (H, W, 3)")
        if min(rgb.shape[:2]) < 1:
            return np.empty((0, 16), np.float32), np.empty(0, np.float32)
        threshold = self.min_score if min_score is None else float(min_score)
        with self._pool.borrow() as runner:
            dets, scores, _ = runner.run(rgb, threshold)
        return self._drop_doubtful(dets, scores, max(rgb.shape[:2]))

    def _drop_doubtful(self, dets: np.ndarray, scores: np.ndarray, longer_side: int) -> tuple[np.ndarray, np.ndarray]:
        """Keep every sure detection; keep an unsure one (score below ``sure_score``) only
        when it is not huge and does not overlap a sure one (see the notes on the specs)."""
        spec = self.spec
        sure = scores >= spec.sure_score
        if sure.all():
            return dets, scores
        keep = sure | ((dets[:, 2] - dets[:, 0]) / longer_side < spec.max_unsure_width)
        if sure.any():
            for i in np.flatnonzero(keep & ~sure):
                if iou_one_to_many(dets[i], dets[sure]).max() > spec.max_unsure_overlap:
                    keep[i] = False
        return dets[keep], scores[keep]

    def detect(self, rgb: np.ndarray, settings: DetectorSettings = DetectorSettings()) -> list[Box]:
        dets, _ = self._run(rgb, settings.min_score)
        if not len(dets):
            return []
        return self.transform.to_boxes(dets[:, :4], rgb.shape,
                                       smallest_searched_face(settings.min_face_px))
