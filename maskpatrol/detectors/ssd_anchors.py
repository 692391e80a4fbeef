"""SSD anchors, box decoding and weighted non-maximum suppression as MediaPipe does them
for its BlazeFace models; numpy only, no model and no image here, so every step can be
tested with hand-made tensors.

References (read, not copied): MediaPipe's ``SsdAnchorsCalculator``,
``TensorsToDetectionsCalculator`` and ``NonMaxSuppressionCalculator`` with the options of
``mediapipe/modules/face_detection/face_detection_{short,full}_range.pbtxt``.
Coordinates are normalised to the model's square input: 0..1 across, 0..1 down.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: MediaPipe clips raw scores to +-100 before the sigmoid; 80 keeps float32's exp finite.
RAW_SCORE_CLIP = 80.0


@dataclass(frozen=True)
class AnchorOptions:
    """The subset of ``SsdAnchorsCalculatorOptions`` the face models use.

    Both models use ``fixed_anchor_size: true`` (every anchor is 1x1, so only the centres
    matter) and ``aspect_ratios: 1.0``. With ``interpolated_scale_aspect_ratio == 1.0``
    each aspect ratio gives two anchors per cell per layer (the ratio plus the
    interpolated scale); with 0.0 it gives one.
    """

    input_size: int
    strides: tuple[int, ...]
    interpolated_scale_aspect_ratio: float
    anchor_offset: float = 0.5

    @property
    def num_layers(self) -> int:
        return len(self.strides)


#: face_detection_short_range: 128x128 input, 16x16x2 + 8x8x6 = 896 anchors.
SHORT_RANGE_ANCHORS = AnchorOptions(input_size=128, strides=(8, 16, 16, 16), interpolated_scale_aspect_ratio=1.0)
#: face_detection_full_range: 192x192 input, one 48x48 layer of single anchors = 2304.
FULL_RANGE_ANCHORS = AnchorOptions(input_size=192, strides=(4,), interpolated_scale_aspect_ratio=0.0)


def generate_anchors(opts: AnchorOptions) -> np.ndarray:
    """Anchor centres, shape (N, 2) float32 as (x, y), in the order the model emits boxes.

    Layers that share a stride share one feature map; their anchors are emitted together,
    cell by cell (row-major), all anchors of a cell next to each other."""
    per_anchor = 2 if opts.interpolated_scale_aspect_ratio == 1.0 else 1
    chunks = []
    layer = 0
    while layer < opts.num_layers:
        stride = opts.strides[layer]
        repeats = 0
        while layer < opts.num_layers and opts.strides[layer] == stride:
            repeats += per_anchor
            layer += 1
        rows = -(-opts.input_size // stride)  # ceil, as MediaPipe
        cols = rows
        ys = (np.arange(rows, dtype=np.float64) + opts.anchor_offset) / rows
        xs = (np.arange(cols, dtype=np.float64) + opts.anchor_offset) / cols
        grid = np.stack(np.meshgrid(xs, ys, indexing="xy"), axis=-1).reshape(-1, 2)
        chunks.append(np.repeat(grid, repeats, axis=0))
    return np.concatenate(chunks).astype(np.float32)


def decode(raw: np.ndarray, anchors: np.ndarray, scale: float) -> np.ndarray:
    """Raw regressors (N, 4 + 2K) -> (N, 4 + 2K) as xmin, ymin, xmax, ymax, then K (x, y).

    The model predicts, in input pixels, the box centre and every keypoint as offsets from
    the anchor centre, plus the box width and height (``reverse_output_order``: x before
    y). With fixed-size anchors the anchor's w and h are 1."""
    raw = np.asarray(raw, dtype=np.float32).reshape(len(anchors), -1)
    out = raw / np.float32(scale)
    ax, ay = anchors[:, 0], anchors[:, 1]
    cx, cy = out[:, 0] + ax, out[:, 1] + ay
    half_w, half_h = out[:, 2] / 2, out[:, 3] / 2
    out[:, 0], out[:, 1] = cx - half_w, cy - half_h
    out[:, 2], out[:, 3] = cx + half_w, cy + half_h
    out[:, 4::2] += ax[:, None]
    out[:, 5::2] += ay[:, None]
    return out


def scores_from_logits(logits: np.ndarray) -> np.ndarray:
    """Sigmoid of clipped raw scores, shape (N,)."""
    clipped = np.clip(np.asarray(logits, dtype=np.float32).reshape(-1), -RAW_SCORE_CLIP, RAW_SCORE_CLIP)
    return 1.0 / (1.0 + np.exp(-clipped))


def iou_one_to_many(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """IoU of one (xmin, ymin, xmax, ymax) box against (M, >=4) boxes."""
    ix = np.clip(np.minimum(box[2], boxes[:, 2]) - np.maximum(box[0], boxes[:, 0]), 0, None)
    iy = np.clip(np.minimum(box[3], boxes[:, 3]) - np.maximum(box[1], boxes[:, 1]), 0, None)
    inter = ix * iy
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    union = area + areas - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


def weighted_nms(detections: np.ndarray, scores: np.ndarray, min_score: float,
                 iou_threshold: float = 0.3) -> tuple[np.ndarray, np.ndarray]:
    """MediaPipe's WEIGHTED suppression: the best detection absorbs every one overlapping it
    by more than ``iou_threshold``; the result is their score-weighted mean (box and
    keypoints), carrying the best one's score. Steadier boxes than plain NMS, which matters
    for crops taken from a moving webcam picture.

    ``detections`` (N, D) with the box in the first four columns. Returns (M, D), (M,).
    """
    keep = (scores >= min_score) & (detections[:, 2] > detections[:, 0]) & (detections[:, 3] > detections[:, 1])
    dets, sc = detections[keep], scores[keep]
    order = np.argsort(-sc, kind="stable")
    dets, sc = dets[order], sc[order]
    out_d, out_s = [], []
    while len(sc):
        overlap = iou_one_to_many(dets[0], dets) > iou_threshold
        overlap[0] = True
        weights = sc[overlap]
        out_d.append((dets[overlap] * weights[:, None]).sum(axis=0) / weights.sum())
        out_s.append(sc[0])
        dets, sc = dets[~overlap], sc[~overlap]
    width = detections.shape[1]
    if not out_d:
        return np.empty((0, width), np.float32), np.empty(0, np.float32)
    return np.asarray(out_d, np.float32), np.asarray(out_s, np.float32)
