"""Run a .keras model in a child process.

TensorFlow must never be imported into the test process: its bundled native libraries
clash with aiortc's (pylibsrtp segfaults on import after TensorFlow), and the webcam
tests import aiortc later in the same pytest run.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np

from support.paths import ROOT

_CODE = """
import sys, numpy as np, keras
model = keras.models.load_model(sys.argv[1])
np.save(sys.argv[3], model.predict(np.load(sys.argv[2]), verbose=0))
"""


def keras_predict(model_path: Path, inputs_npy: Path) -> np.ndarray:
    """The Keras model's raw output, (N, 3) class probabilities (or (N, 1) p(no mask) for a
    binary model), for the float32 batch saved in ``inputs_npy``."""
    out = inputs_npy.with_suffix(".keras_out.npy")
    proc = subprocess.run([sys.executable, "-c", _CODE, str(model_path), str(inputs_npy), str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return np.load(out)
