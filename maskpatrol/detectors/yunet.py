"""YuNet, the default face detector: OpenCV Zoo's 75k-parameter network run with onnxruntime.

Why YuNet: it finds masked faces (a mask hides what Haar looks for) and small faces in
crowds, and it is cheap enough for every webcam frame. Why onnxruntime rather than OpenCV's
own ``cv2.FaceDetectorYN``: the same network and the same decoding run more than twice as
fast on the 2-core target for about 10 MB more memory (``benchmarks/bench_yunet_runtime.py``;
docs/detectors.md, "Which runtime runs YuNet").

How a picture is searched (:func:`plan_passes`): YuNet finds a face best when it is some
tens to a few hundred pixels wide at the network's input, and masked faces need more pixels
than unmasked ones. So the picture is scaled, once per *pass*, by a pyramid of factors:
the first pass scales the smallest wanted face ("Smallest face") to
:data:`TARGET_MIN_FACE_PX`, each next pass shrinks by :data:`PYRAMID_STEP`, and the last one
fits the picture's shorter side into :data:`COARSE_SHORT_SIDE` so that a face filling the frame is still
found. A pass whose scaled picture would exceed :data:`MAX_TILE_SIDE` is cut into
overlapping tiles, which keeps memory bounded for 40 MP photos. All candidates are mapped
back to the original pixels and merged by one non-maximum suppression. The browser port
(``maskpatrol/web/src/yunet.js``) mirrors this plan and :func:`decode`, so the two agree.

Boxes: YuNet frames a face from the hairline to the chin; the classifier was trained on
crops built around Haar boxes (:func:`maskpatrol.preprocess.square_crop`), so boxes go
through :data:`TO_HAAR`, a transform measured on faces both detectors find.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ..paths import MODELS_DIR
from ..pool import Pool
from .base import Box, DetectorSettings, smallest_searched_face
from .boxes import BoxTransform, Detection

#: The vendored model (see ``models/yunet/SOURCE.md``): dynamic input size, so each pass
#: runs at its own size without a resize to a fixed square.
MODEL_FILE = Path("yunet") / "yunet_n_dynamic.onnx"
MODEL_SHA256 = "104ee26c71d5c270ce79a6b3dced91c91013260d29a6bf18f9296c5b8c4c2b12"
#: The network's strides; input height and width must be multiples of the largest.
STRIDES = (8, 16, 32)
#: Landmarks YuNet emits, in this order (the subject's right eye is the image's left).
KEYPOINTS = ("right_eye", "left_eye", "nose_tip", "right_mouth", "left_mouth")

#: Lowest score kept as a face. OpenCV Zoo's demo uses 0.9 and ``FaceDetectorYN`` 0.5;
#: masked faces score lower. See ``benchmarks/bench_detectors.py`` for the figures.
DEFAULT_MIN_SCORE = 0.45
#: IoU above which two candidates are taken for the same face (OpenCV's default, 0.3).
NMS_IOU = 0.3
#: A box with more than this share of its area inside a better-scoring box is dropped.
MAX_INSIDE = 0.6
#: Side, at the network's input, the smallest wanted face is scaled to in the first pass.
TARGET_MIN_FACE_PX = 32.0
#: Never enlarge a picture more than this for the first pass (small photos of small faces).
MAX_UPSCALE = 2.0
#: A face wider than this at the network's input is found less often (masked faces: 97% at
#: 192-320 px, 94% at 400-1000 px); a picture whose face-filling-the-frame would exceed it
#: after the first pass gets more passes ...
MAX_FACE_PX = 480
#: ... the last fitting the picture's shorter side into this (a face filling the frame is
#: then where YuNet finds masked faces best) ...
COARSE_SHORT_SIDE = 320
#: ... with at most this scale ratio between two passes (YuNet's found rate stays high over
#: a range of face sizes wider than this factor).
PYRAMID_STEP = 3.0
#: A scaled picture larger than this on a side is searched in tiles of this side ...
MAX_TILE_SIDE = 1024
#: ... overlapping by this much, so that a face up to the overlap is whole in some tile
#: (bigger faces are the next, coarser pass's job).
TILE_OVERLAP = 256
#: Pixels of the picture around a tile's own part that its resize also reads (interpolation
#: needs neighbours), with ``DetectorSettings.scale_tiles``.
TILE_CONTEXT_PX = 4
#: A candidate box this close (pixels of the scaled copy) to a tile edge inside the picture
#: is taken as cut by it.
TILE_EDGE_MARGIN = 4
#: After a picture larger than this (a photo, not a video frame), the arena's memory is
#: given back; frames keep it, so that the next frame finds its buffers ready.
RELEASE_ABOVE_PIXELS = 2_000_000
#: One onnxruntime thread per session, as for the classifier and BlazeFace: concurrent
#: sessions and the webcam threads use the other core.
NUM_THREADS = 1

#: Haar's box side / YuNet's, median over 2012 chandrikadeb7 faces both find
#: (``bench_detectors.py --calibrate``; centres agree within 0.5%): "Smallest face" compares
#: this size, the same for every detector.
HAAR_SIZE = 0.965
#: YuNet box -> the box the classifier's crop is cut around: 0.9 of YuNet's side, a little
#: tighter than Haar's. Measured on 1400 chandrikadeb7 photos: no-mask recall 98.6% and
#: accuracy 98.7% with 0.9, against 97.6% / 97.7% with Haar's own size (0.965).
TO_HAAR = BoxTransform(scale=0.9, dx=0.0, dy=0.0)


@dataclass(frozen=True)
class Pass:
    """One scaled copy of the picture that YuNet runs on, and the tiles it is cut into:
    (x, y, w, h) in pixels of the scaled copy; the runner pads each to multiples of 32."""

    scale: float
    width: int
    height: int
    tiles: tuple[tuple[int, int, int, int], ...]


def _tile_starts(length: int) -> list[int]:
    if length <= MAX_TILE_SIDE:
        return [0]
    step = MAX_TILE_SIDE - TILE_OVERLAP
    count = math.ceil((length - TILE_OVERLAP) / step)
    starts = [min(i * step, length - MAX_TILE_SIDE) for i in range(count)]
    return sorted(set(starts))


def plan_passes(width: int, height: int, min_face_px: int) -> list[Pass]:
    """The scaled copies (and their tiles) that find faces from ``min_face_px`` up to one
    filling the picture; see the module docstring for why.

    The first pass scales the smallest wanted face to :data:`TARGET_MIN_FACE_PX`. If a face
    filling the picture would then be wider than :data:`MAX_FACE_PX`, more passes follow,
    evenly spaced (ratio at most :data:`PYRAMID_STEP`) down to the one that fits the
    picture's shorter side into :data:`COARSE_SHORT_SIDE`."""
    shorter = min(width, height)
    first = min(MAX_UPSCALE, TARGET_MIN_FACE_PX / smallest_searched_face(min_face_px))
    last = min(first, COARSE_SHORT_SIDE / shorter)
    scales = [first]
    if first * shorter > MAX_FACE_PX:
        steps = max(1, math.ceil(math.log(first / last) / math.log(PYRAMID_STEP) - 1e-9))
        ratio = (first / last) ** (1.0 / steps)
        scales += [first / ratio ** i for i in range(1, steps)] + [last]
    passes = []
    for s in scales:
        w, h = max(1, round(width * s)), max(1, round(height * s))
        tiles = tuple((x, y, min(MAX_TILE_SIDE, w - x), min(MAX_TILE_SIDE, h - y))
                      for y in _tile_starts(h) for x in _tile_starts(w))
        passes.append(Pass(s, w, h, tiles))
    return passes


def padded(size: int) -> int:
    """``size`` rounded up to a multiple of the largest stride (the network's requirement)."""
    top = STRIDES[-1]
    return max(top, (size + top - 1) // top * top)


def decode(outputs: dict[str, np.ndarray], height: int, width: int,
           min_score: float) -> tuple[np.ndarray, np.ndarray]:
    """Raw network outputs for an input of ``height`` x ``width`` (multiples of 32) ->
    candidates (N, 14: x, y, w, h, then 5 landmarks x, y) and scores (N,), in input pixels.

    The decoding of OpenCV's ``FaceDetectorYN`` (score = sqrt(cls * obj), boxes from the
    cell's corner, sizes as exp(.) * stride); a test checks both give the same faces."""
    rows_out, scores_out = [], []
    for stride in STRIDES:
        cols = width // stride
        cls = np.clip(outputs[f"cls_{stride}"][0, :, 0], 0.0, 1.0)
        obj = np.clip(outputs[f"obj_{stride}"][0, :, 0], 0.0, 1.0)
        score = np.sqrt(cls * obj)
        keep = np.flatnonzero(score >= min_score)
        if not len(keep):
            continue
        r, c = np.divmod(keep, cols)
        bbox = outputs[f"bbox_{stride}"][0][keep]
        kps = outputs[f"kps_{stride}"][0][keep]
        w = np.exp(bbox[:, 2]) * stride
        h = np.exp(bbox[:, 3]) * stride
        cx = (c + bbox[:, 0]) * stride
        cy = (r + bbox[:, 1]) * stride
        out = np.empty((len(keep), 14), np.float32)
        out[:, 0], out[:, 1], out[:, 2], out[:, 3] = cx - w / 2, cy - h / 2, w, h
        out[:, 4::2] = (kps[:, 0::2] + c[:, None]) * stride
        out[:, 5::2] = (kps[:, 1::2] + r[:, None]) * stride
        rows_out.append(out)
        scores_out.append(score[keep])
    if not rows_out:
        return np.empty((0, 14), np.float32), np.empty(0, np.float32)
    return np.concatenate(rows_out), np.concatenate(scores_out).astype(np.float32)


def nms(candidates: np.ndarray, scores: np.ndarray, iou: float = NMS_IOU) -> np.ndarray:
    """Indices kept, best score first: OpenCV's greedy non-maximum suppression, then any box
    lying mostly inside a better one is dropped too.

    Why the second rule: on a masked face YuNet sometimes adds a weaker box over the mask or
    the chin, inside the face's box but too small to pass the IoU test; it would count one
    person twice. Real faces never lie inside one another."""
    if not len(scores):
        return np.empty(0, np.int64)
    keep = np.asarray(cv2.dnn.NMSBoxes(candidates[:, :4].tolist(), scores.tolist(), 0.0, iou), np.int64).reshape(-1)
    boxes = candidates[keep, :4].astype(np.float64)
    x0, y0 = boxes[:, 0], boxes[:, 1]
    x1, y1 = x0 + boxes[:, 2], y0 + boxes[:, 3]
    area = np.maximum(boxes[:, 2] * boxes[:, 3], 1e-9)
    kept: list[int] = []
    for i in range(len(keep)):  # best first, as NMSBoxes returns them
        if kept:
            j = np.asarray(kept)
            iw = np.clip(np.minimum(x1[i], x1[j]) - np.maximum(x0[i], x0[j]), 0, None)
            ih = np.clip(np.minimum(y1[i], y1[j]) - np.maximum(y0[i], y0[j]), 0, None)
            if (iw * ih / area[i]).max() > MAX_INSIDE:
                continue
        kept.append(i)
    return keep[kept]


class _Runner:
    """An onnxruntime session and its input buffer, owned by one thread at a time."""

    def __init__(self, model_path: Path) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = NUM_THREADS
        options.inter_op_num_threads = 1
        options.log_severity_level = 3  # no warnings on stderr for unused initialisers
        # No memory pattern: planned per input shape, it reserves every intermediate tensor
        # at once (66 MB for a 1024 px tile, against 33 MB reused as the graph runs), and
        # it is not faster here (docs/performance.md).
        options.enable_mem_pattern = False
        self.session = ort.InferenceSession(str(model_path), options, providers=["CPUExecutionProvider"])
        self.input_name = self.session.get_inputs()[0].name
        self.output_names = [o.name for o in self.session.get_outputs()]
        self.blob = np.zeros((1, 3, 0, 0), np.float32)

    def release(self) -> None:
        """Give the memory onnxruntime's arena took for large inputs back: one tiny run
        that shrinks the arena when it ends (the arena otherwise keeps its largest size)."""
        import onnxruntime as ort

        options = ort.RunOptions()
        options.add_run_config_entry("memory.enable_memory_arena_shrinkage", "cpu:0")
        tiny = np.zeros((1, 3, STRIDES[-1], STRIDES[-1]), np.float32)
        self.session.run(self.output_names, {self.input_name: tiny}, options)
        self.blob = np.zeros((1, 3, 0, 0), np.float32)

    def run(self, rgb: np.ndarray, min_score: float) -> tuple[np.ndarray, np.ndarray]:
        """Candidates and scores for one RGB tile (any size), in the tile's pixels."""
        h, w = rgb.shape[:2]
        ph, pw = padded(h), padded(w)
        if self.blob.shape[2:] != (ph, pw):
            self.blob = np.zeros((1, 3, ph, pw), np.float32)
        else:
            self.blob[0, :, h:, :] = 0.0
            self.blob[0, :, :h, w:] = 0.0
        # The network wants BGR planes: reversing the channels in this one copy saves a BGR
        # copy of the whole picture (120 MB for a 40 MP photo).
        self.blob[0, :, :h, :w] = rgb[:, :, ::-1].transpose(2, 0, 1)
        outputs = dict(zip(self.output_names, self.session.run(self.output_names, {self.input_name: self.blob})))
        return decode(outputs, ph, pw, min_score)


class YuNetDetector:
    """YuNet with the :class:`~maskpatrol.detectors.Detector` API.

    ``scale_factor`` and ``min_neighbors`` are Haar's knobs and are ignored; ``min_face_px``
    sets the first pass's scale and drops smaller faces; ``min_score`` (if set) replaces
    :data:`DEFAULT_MIN_SCORE`."""

    name = "yunet"

    def __init__(self, models_dir: str | Path = MODELS_DIR, transform: BoxTransform = TO_HAAR) -> None:
        path = Path(models_dir) / MODEL_FILE
        if not path.is_file():
            raise FileNotFoundError(f"YuNet model not found at {path}; it ships in the repository's models/yunet/")
        self.model_path = path
        self.transform = transform
        self._pool: Pool[_Runner] = Pool(lambda: _Runner(path))

    def _candidates(self, rgb: np.ndarray, min_face_px: int, min_score: float,
                    scale_tiles: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Every pass's candidates in original pixels, merged by NMS, best first."""
        height, width = rgb.shape[:2]
        found, scores = [], []
        with self._pool.borrow() as runner:
            for p in plan_passes(width, height, min_face_px):
                # Exact per-axis ratios, so boxes map back without drift at the far edge.
                sx, sy = width / p.width, height / p.height
                interp = cv2.INTER_AREA if p.scale < 1 else cv2.INTER_LINEAR
                scaled = None
                if len(p.tiles) == 1 or not scale_tiles:
                    scaled = rgb if (p.width, p.height) == (width, height) else cv2.resize(
                        rgb, (p.width, p.height), interpolation=interp)
                for x, y, w, h in p.tiles:
                    tile = (scaled[y:y + h, x:x + w] if scaled is not None
                            else scaled_tile(rgb, (x, y, w, h), sx, sy, interp))
                    cand, sc = runner.run(tile, min_score)
                    if len(p.tiles) > 1:
                        cand, sc = _whole_in_tile(cand, sc, (x, y, w, h), p.width, p.height)
                    if not len(sc):
                        continue
                    cand[:, 0], cand[:, 1] = (cand[:, 0] + x) * sx, (cand[:, 1] + y) * sy
                    cand[:, 2], cand[:, 3] = cand[:, 2] * sx, cand[:, 3] * sy
                    cand[:, 4::2] = (cand[:, 4::2] + x) * sx
                    cand[:, 5::2] = (cand[:, 5::2] + y) * sy
                    found.append(cand)
                    scores.append(sc)
                del scaled  # before the next pass makes its own copy
            if width * height > RELEASE_ABOVE_PIXELS:
                runner.release()
        if not found:
            return np.empty((0, 14), np.float32), np.empty(0, np.float32)
        cand, sc = np.concatenate(found), np.concatenate(scores)
        keep = nms(cand, sc)
        return cand[keep], sc[keep]

    def _found(self, rgb: np.ndarray, settings: DetectorSettings) -> tuple[np.ndarray, np.ndarray]:
        _check_rgb(rgb)
        min_score = DEFAULT_MIN_SCORE if settings.min_score is None else float(settings.min_score)
        return self._candidates(rgb, settings.min_face_px, min_score, settings.scale_tiles)

    def detections(self, rgb: np.ndarray, settings: DetectorSettings = DetectorSettings()) -> list[Detection]:
        """Faces as YuNet frames them (score, box and landmarks), best first."""
        cand, scores = self._found(rgb, settings)
        return [Detection(float(s), (float(c[0]), float(c[1]), float(c[0] + c[2]), float(c[1] + c[3])),
                          tuple((float(c[4 + 2 * k]), float(c[5 + 2 * k])) for k in range(len(KEYPOINTS))))
                for c, s in zip(cand, scores)]

    def detect(self, rgb: np.ndarray, settings: DetectorSettings = DetectorSettings()) -> list[Box]:
        # Straight from the candidate array (no Detection objects on the per-frame path).
        # "Smallest face" is judged on the size Haar would give the face (as for every
        # detector), not on the tighter box drawn for the classifier's crop.
        cand, _ = self._found(rgb, settings)
        xyxy = np.stack([cand[:, 0], cand[:, 1], cand[:, 0] + cand[:, 2], cand[:, 1] + cand[:, 3]],
                        axis=-1).astype(np.float64)
        side = np.maximum(xyxy[:, 2] - xyxy[:, 0], xyxy[:, 3] - xyxy[:, 1])
        xyxy = xyxy[side * HAAR_SIZE >= smallest_searched_face(settings.min_face_px)]
        return self.transform.to_boxes(xyxy, rgb.shape[:2], 1.0)


def scaled_tile(rgb: np.ndarray, tile: tuple[int, int, int, int], sx: float, sy: float,
                interp: int) -> np.ndarray:
    """The pixels of ``tile`` (x, y, w, h in the picture scaled by 1/``sx``, 1/``sy``), resized
    from that tile's own part of ``rgb`` with :data:`TILE_CONTEXT_PX` around it, so a pass
    never holds the whole scaled picture; within half a scaled pixel of the whole resize."""
    height, width = rgb.shape[:2]
    x, y, w, h = tile
    m = TILE_CONTEXT_PX
    x0, y0 = max(0, math.floor(x * sx) - m), max(0, math.floor(y * sy) - m)
    x1, y1 = min(width, math.ceil((x + w) * sx) + m), min(height, math.ceil((y + h) * sy) + m)
    part = cv2.resize(rgb[y0:y1, x0:x1], None, fx=1.0 / sx, fy=1.0 / sy, interpolation=interp)
    ox, oy = round(x - x0 / sx), round(y - y0 / sy)
    out = part[oy:oy + h, ox:ox + w]
    if out.shape[:2] != (h, w):  # the picture's far edge, a pixel short after rounding
        out = cv2.copyMakeBorder(out, 0, h - out.shape[0], 0, w - out.shape[1], cv2.BORDER_REPLICATE)
    return out


def _whole_in_tile(cand: np.ndarray, scores: np.ndarray, tile: tuple[int, int, int, int],
                   width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    """Drop candidates cut by a tile edge inside the picture: YuNet boxes half a face there
    (too small to be suppressed by the whole face's box), and the overlap guarantees the
    whole face in a neighbouring tile (or, if larger than the overlap, in a coarser pass)."""
    x, y, w, h = tile
    x0, y0 = cand[:, 0], cand[:, 1]
    x1, y1 = x0 + cand[:, 2], y0 + cand[:, 3]
    m = TILE_EDGE_MARGIN
    cut = np.zeros(len(scores), bool)
    if x > 0:
        cut |= x0 < m
    if y > 0:
        cut |= y0 < m
    if x + w < width:
        cut |= x1 > w - m
    if y + h < height:
        cut |= y1 > h - m
    return cand[~cut], scores[~cut]


def _check_rgb(rgb: np.ndarray) -> None:
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError("expected an RGB uint8 image of shape (H, W, 3)")

