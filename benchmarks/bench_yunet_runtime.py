"""Which runtime runs YuNet fastest here: OpenCV's FaceDetectorYN, onnxruntime, or LiteRT.

The same network, on the same frames, one call of each in turn (so each sees the same load;
the ratio to onnxruntime is the figure that travels between machines). OpenCV's time
includes its own decoding and NMS, which is how the app would use it; onnxruntime's and
LiteRT's are the network alone (our decoding, :func:`maskpatrol.detectors.yunet.decode`,
adds well under a millisecond). Memory: RSS after loading each runtime and running it once,
each in a fresh process.

Run from the project root::

    .venv/bin/python -m benchmarks.bench_yunet_runtime
    .venv/bin/python -m benchmarks.bench_yunet_runtime --tflite /tmp/yunet_float32.tflite --json

OpenCV needs a fixed-size export (``yunet_n_640_640.onnx`` from ``../shared/models/yunet/``,
OpenCV resizes it to each input size). LiteRT needs a conversion of the dynamic ONNX model,
which this project does not ship (``onnx2tf -i models/yunet/yunet_n_dynamic.onnx -o OUT``, in
a throwaway environment: onnx2tf pulls its own TensorFlow); pass it with ``--tflite``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
DYNAMIC = ROOT / "models" / "yunet" / "yunet_n_dynamic.onnx"
FIXED = ROOT.parent / "shared" / "models" / "yunet" / "yunet_n_640_640.onnx"
SIZES = ((640, 480), (320, 256))

_RSS_CHILD = r"""
import sys, numpy as np, psutil
kind, path = sys.argv[1], sys.argv[2]
w, h = 640, 480
if kind == "onnxruntime":
    import onnxruntime as ort
    o = ort.SessionOptions(); o.intra_op_num_threads = 1
    s = ort.InferenceSession(path, o, providers=["CPUExecutionProvider"])
    s.run(None, {s.get_inputs()[0].name: np.zeros((1, 3, h, w), np.float32)})
elif kind == "opencv":
    import cv2
    d = cv2.FaceDetectorYN.create(path, "", (w, h)); d.detect(np.zeros((h, w, 3), np.uint8))
else:
    from ai_edge_litert.interpreter import Interpreter
    it = Interpreter(model_path=path, num_threads=1); i = it.get_input_details()[0]
    it.resize_tensor_input(i["index"], [1, h, w, 3]); it.allocate_tensors(); it.invoke()
import cv2  # every serving process has OpenCV loaded anyway: compare like with like
print(psutil.Process().memory_info().rss / 2**20)
"""


def runners(width: int, height: int, tflite: Path | None) -> dict[str, Callable[[], Any]]:
    import cv2
    import onnxruntime as ort

    rng = np.random.default_rng(0)
    bgr = rng.integers(0, 255, (height, width, 3), dtype=np.uint8)
    out: dict[str, Callable[[], Any]] = {}
    options = ort.SessionOptions()
    options.intra_op_num_threads, options.inter_op_num_threads = 1, 1
    session = ort.InferenceSession(str(DYNAMIC), options, providers=["CPUExecutionProvider"])
    nchw = np.ascontiguousarray(bgr.transpose(2, 0, 1)[None].astype(np.float32))
    name = session.get_inputs()[0].name
    out["onnxruntime"] = lambda: session.run(None, {name: nchw})
    if FIXED.is_file():
        detector = cv2.FaceDetectorYN.create(str(FIXED), "", (width, height), 0.5, 0.3, 5000)
        out["opencv"] = lambda: detector.detect(bgr)
    if tflite is not None:
        from ai_edge_litert.interpreter import Interpreter

        it = Interpreter(model_path=str(tflite), num_threads=1)
        inp = it.get_input_details()[0]
        it.resize_tensor_input(inp["index"], [1, height, width, 3])
        it.allocate_tensors()
        nhwc = bgr[None].astype(np.float32)
        outs = [o["index"] for o in it.get_output_details()]

        def litert() -> None:
            it.set_tensor(inp["index"], nhwc)
            it.invoke()
            for o in outs:
                it.get_tensor(o)
        out["litert"] = litert
    return out


def timed(fns: dict[str, Callable[[], Any]], runs: int) -> dict[str, float]:
    times: dict[str, list[float]] = {k: [] for k in fns}
    for i in range(runs + 3):
        for key, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            if i >= 3:
                times[key].append((time.perf_counter() - t0) * 1000.0)
    return {k: statistics.median(v) for k, v in times.items()}


def rss(kind: str, path: Path) -> float:
    out = subprocess.run([sys.executable, "-c", _RSS_CHILD, kind, str(path)], capture_output=True, text=True,
                         timeout=120, check=True)
    return round(float(out.stdout.strip().splitlines()[-1]), 1)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=60)
    p.add_argument("--tflite", type=Path, default=None, help="a LiteRT conversion of the dynamic model")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    import cv2

    cv2.setNumThreads(1)  # one thread each, as the app runs every model
    report: dict[str, Any] = {"runs": args.runs, "sizes": {}}
    for w, h in SIZES:
        ms = timed(runners(w, h, args.tflite), args.runs)
        base = ms["onnxruntime"]
        report["sizes"][f"{w}x{h}"] = {k: {"ms": round(v, 2), "ratio_to_onnxruntime": round(v / base, 2)}
                                       for k, v in ms.items()}
    kinds = {"onnxruntime": DYNAMIC, **({"opencv": FIXED} if FIXED.is_file() else {}),
             **({"litert": args.tflite} if args.tflite else {})}
    report["rss_mb"] = {k: rss(k, path) for k, path in kinds.items()}
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    names = list(kinds)
    print("| runtime | " + " | ".join(f"{s} ms (ratio)" for s in report["sizes"]) + " | RSS MB (OpenCV loaded) |")
    print("| --- |" + " --- |" * (len(report["sizes"]) + 1))
    for n in names:
        cells = [f"{v[n]['ms']:.1f} ({v[n]['ratio_to_onnxruntime']:.2f}x)" for v in report["sizes"].values()]
        print(f"| {n} | " + " | ".join(cells) + f" | {report['rss_mb'][n]:.0f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
