"""Convert the served mask classifier (models/mask_classifier.tflite) to ONNX for the browser.

The Live webcam page's "This browser" mode runs both models with onnxruntime-web; YuNet is
ONNX already, the classifier is converted here from the very ``.tflite`` the server runs
(same weights, same graph: CONV_2D, DEPTHWISE_CONV_2D, MAX_POOL_2D, MEAN, FULLY_CONNECTED,
then LOGISTIC for a binary model's one output, SOFTMAX for a 3-class model's mask / no mask /
incorrect), with tf2onnx's TFLite reader. The browser reads either (``src/classify.js``
``asClassColumns``, as ``maskpatrol.classifier.as_class_columns``). The output, ``models/mask_classifier.onnx``, is
committed; ``make web`` copies it into the bundle. Run this again after retraining:

    make web-classifier        # installs tf2onnx + onnx into the dev venv, then runs this

tf2onnx 1.16.1 pins protobuf 3.20, which TensorFlow 2.21 cannot use, so it is installed with
``--no-deps`` (its TFLite path needs only numpy, onnx and flatbuffers, all present) and is
not in requirements-dev.txt, which pip must be able to resolve. Dev-only: the app never
imports it. The check at the end compares ONNX and LiteRT outputs on random inputs; the
tests compare them on real face crops in Chromium (tests/e2e/test_browser_pipeline_parity.py).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

from maskpatrol.model_card import ModelCard, load_card

ROOT = Path(__file__).resolve().parents[1]

#: The ONNX opset: 17 is well inside what onnxruntime-web 1.30 runs.
OPSET = 17
#: Largest |ONNX - LiteRT| accepted on the random check; the tests hold real crops to 1e-3.
TOLERANCE = 1e-4


def convert(tflite: Path, out: Path) -> None:
    """tflite -> onnx with a dynamic batch dimension (one run per frame, all faces in it)."""
    try:
        import tf2onnx
    except ImportError:
        sys.exit("tf2onnx is not installed: run `make web-classifier` (it installs tf2onnx and onnx "
                 "into the dev venv with --no-deps), or pip install --no-deps tf2onnx==1.16.1 onnx")
    with tempfile.TemporaryDirectory() as tmp:
        tmp_out = Path(tmp) / out.name
        tf2onnx.convert.from_tflite(str(tflite), opset=OPSET, output_path=str(tmp_out))
        # tf2onnx orders some graph entries differently from run to run: an existing file
        # that computes exactly the same is kept, so re-running does not churn the repo.
        if out.is_file() and _same_outputs(out, tmp_out):
            print(f"{out} already holds this conversion (same outputs): kept")
            return
        out.write_bytes(tmp_out.read_bytes())


def _same_outputs(a: Path, b: Path, size: int = 64) -> bool:
    try:
        import onnxruntime
    except ImportError:
        return False
    x = np.random.default_rng(1).uniform(-1, 1, (8, size, size, 3)).astype(np.float32)
    outs = []
    for path in (a, b):
        session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        try:
            outs.append(session.run(None, {session.get_inputs()[0].name: x})[0])
        except Exception:  # a different input shape: not the same model
            return False
    return outs[0].shape == outs[1].shape and bool(np.array_equal(outs[0], outs[1]))


def outputs_per_face(card: ModelCard) -> int:
    """1 for a binary card (one sigmoid, p(no mask)), else one softmax value per class."""
    return 1 if len(card.class_names) == 2 else len(card.class_names)


def max_difference(tflite: Path, onnx_path: Path, size: int, n: int = 16, seed: int = 0,
                   outputs: int = 1) -> float:
    """Largest output difference between the two models on ``n`` random inputs in [-1, 1];
    both must give ``outputs`` values per face."""
    import onnxruntime
    from ai_edge_litert.interpreter import Interpreter

    x = np.random.default_rng(seed).uniform(-1, 1, (n, size, size, 3)).astype(np.float32)
    interpreter = Interpreter(model_path=str(tflite))
    index = interpreter.get_input_details()[0]["index"]
    interpreter.resize_tensor_input(index, list(x.shape))
    interpreter.allocate_tensors()
    interpreter.set_tensor(index, x)
    interpreter.invoke()
    expected = interpreter.get_tensor(interpreter.get_output_details()[0]["index"])
    session = onnxruntime.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    got = session.run(None, {session.get_inputs()[0].name: x})[0]
    for name, out in (("LiteRT", expected), ("ONNX", got)):
        if out.size != n * outputs:
            raise ValueError(f"the {name} model gives {out.size // n} values per face; "
                             f"its model card's classes call for {outputs}")
    return float(np.abs(got.reshape(n, outputs) - expected.reshape(n, outputs)).max())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", type=Path, default=ROOT / "models", help="folder with model_card.json")
    ap.add_argument("--out", type=Path, default=None, help="default: <models>/mask_classifier.onnx")
    args = ap.parse_args(argv)
    card = load_card(args.models)
    tflite = args.models / card.tflite_file
    out = args.out or args.models / "mask_classifier.onnx"
    convert(tflite, out)
    try:
        diff = max_difference(tflite, out, card.input_size, outputs=outputs_per_face(card))
    except ImportError:
        print(f"wrote {out} (onnxruntime not installed here: the random-input check was skipped)")
        return 0
    except ValueError as exc:
        print(f"{exc}; not using {out}", file=sys.stderr)
        out.unlink()
        return 1
    if diff > TOLERANCE:
        print(f"ONNX and LiteRT disagree by {diff:.2e} (> {TOLERANCE}); not using {out}", file=sys.stderr)
        out.unlink()
        return 1
    print(f"wrote {out} ({outputs_per_face(card)} output(s) per face): largest difference from LiteRT "
          f"on random inputs {diff:.1e}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
