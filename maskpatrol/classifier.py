"""The mask classifier served with LiteRT: preprocessing, batching, thread safety."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
from ai_edge_litert.interpreter import Interpreter

from .pool import Pool
from .preprocess import resize_face, scale_pixels

#: One LiteRT thread: a webcam frame holds few faces, and a second thread would compete
#: with concurrent sessions and the detector for the 2 cores (per-face times on 1 and 2
#: threads: docs/model.md, "Training"; docs/performance.md, "The pipeline, frame by frame").
DEFAULT_NUM_THREADS = 1


class _Runner:
    """One interpreter plus its reusable buffers, owned by one thread at a time."""

    def __init__(self, model_path: Path, input_size: int, num_threads: int) -> None:
        self.interpreter = Interpreter(model_path=str(model_path), num_threads=num_threads)
        inp = self.interpreter.get_input_details()[0]
        self.input_index = inp["index"]
        self.output_index = self.interpreter.get_output_details()[0]["index"]
        self.size = input_size
        self.batch = 0
        self.u8 = np.empty((0, input_size, input_size, 3), np.uint8)
        self.f32 = np.empty((0, input_size, input_size, 3), np.float32)

    def run(self, faces: Sequence[np.ndarray]) -> np.ndarray:
        n = len(faces)
        if n != self.batch:
            # Resizing the input re-plans the interpreter; only do it when the number of
            # faces changes, which in a live stream is rare.
            self.interpreter.resize_tensor_input(self.input_index, [n, self.size, self.size, 3])
            self.interpreter.allocate_tensors()
            self.u8 = np.empty((n, self.size, self.size, 3), np.uint8)
            self.f32 = np.empty((n, self.size, self.size, 3), np.float32)
            self.batch = n
        for i, face in enumerate(faces):
            resize_face(face, self.size, out=self.u8[i])
        scale_pixels(self.u8, out=self.f32)
        self.interpreter.set_tensor(self.input_index, self.f32)
        self.interpreter.invoke()
        return self.interpreter.get_tensor(self.output_index).reshape(n, -1).astype(np.float64)


#: Column order of ``MaskClassifier.predict_classes``, whatever the model's own output.
CLASS_COLUMNS = ("mask", "no_mask", "incorrect")


def as_class_columns(raw: np.ndarray) -> np.ndarray:
    """(N, 3) probabilities in ``CLASS_COLUMNS`` order from a model's raw output.

    A binary model has one sigmoid output, p(no mask); it never says "incorrect", so that
    column is 0 and older model folders keep working. A 3-class model's softmax is already
    in this order (training writes ``class_names`` in it)."""
    if raw.shape[1] == 1:
        p = raw[:, 0]
        return np.stack([1.0 - p, p, np.zeros_like(p)], axis=1)
    if raw.shape[1] == len(CLASS_COLUMNS):
        return raw
    raise ValueError(f"the classifier has {raw.shape[1]} outputs; expected 1 (binary) or 3")


class MaskClassifier:
    """Class probabilities for face crops, all faces of a call in ONE interpreter invocation."""

    def __init__(self, model_path: str | Path, input_size: int,
                 num_threads: int = DEFAULT_NUM_THREADS) -> None:
        self.model_path = Path(model_path)
        if not self.model_path.is_file():
            raise FileNotFoundError(f"Classifier model not found at {self.model_path}")
        self.input_size = input_size
        self.num_threads = num_threads
        self._pool: Pool[_Runner] = Pool(lambda: _Runner(self.model_path, input_size, num_threads))

    def predict_classes(self, faces: Sequence[np.ndarray]) -> np.ndarray:
        """(N, 3) probabilities of mask / no mask / incorrect, in input order."""
        if len(faces) == 0:
            return np.empty((0, len(CLASS_COLUMNS)), dtype=np.float64)
        with self._pool.borrow() as runner:
            return as_class_columns(runner.run(faces))

    def predict(self, faces: Sequence[np.ndarray]) -> np.ndarray:
        """Probabilities that each face wears no mask, in input order."""
        return self.predict_classes(faces)[:, 1]
