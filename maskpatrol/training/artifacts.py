"""A trained model's files and the lines every model card ends with: the ``.keras`` and the
``.tflite`` the app serves, written side by side, then the served file's size, the date and
the code version. Training one network and composing the served model both finish this way."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import subprocess
from pathlib import Path
from typing import Any

from ..paths import MODEL_BASENAME, REPO_ROOT


def code_version() -> str:
    """``git describe`` of the checkout, so a card says which code trained its model."""
    try:
        out = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=REPO_ROOT,
                             capture_output=True, text=True, timeout=10)
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def save_model(model, out_dir: Path) -> tuple[Path, Path]:
    """Write ``model`` (Keras) into ``out_dir`` as ``.keras`` and as the LiteRT ``.tflite``;
    returns both paths."""
    import tensorflow as tf

    out_dir.mkdir(parents=True, exist_ok=True)
    keras_path, tflite_path = out_dir / f"{MODEL_BASENAME}.keras", out_dir / f"{MODEL_BASENAME}.tflite"
    model.save(keras_path)
    with contextlib.redirect_stdout(io.StringIO()):  # the converter prints every tensor spec
        tflite_path.write_bytes(tf.lite.TFLiteConverter.from_keras_model(model).convert())
    return keras_path, tflite_path


def stamp(tflite_path: Path) -> dict[str, Any]:
    """The model card's last entries: the served file's size, when, and from which code."""
    return {
        "model_bytes": tflite_path.stat().st_size,
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "code_version": code_version(),
    }
