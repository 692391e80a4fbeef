"""One pipeline of the side-by-side benchmark (``bench_peers``), in a process of its own.

``bench_peers`` starts one of these (``python -m benchmarks.peer_runner``, from the project root)
per pipeline (each detector we ship with our classifier, and the classic pipeline) and hands all
of them the same image in turn before moving to the next, so a burst of load from another
process on a shared machine hits every pipeline alike. A process per pipeline also keeps
TensorFlow (the classic pipeline's) out of ours, and gives each pipeline a peak RSS of its own.

Protocol: one JSON object per line on stdin, one JSON answer per line on the original stdout.
Whatever else would reach stdout (TensorFlow's messages, the library's progress bars) is sent to
stderr so it cannot garble an answer.

* first line out: ``{"ready": true, "load_s": ..., ...}`` or ``{"error": "..."}``;
* ``{"op": "run", "set": "canvas" | "frame", "i": 3}`` -> ``{"faces": [[x, y, w, h, label,
  p_no_mask], ...], "ms": ..., "detect_ms": ..., "classify_ms": ...}``;
* ``{"op": "check", "set": ..., "i": ...}`` (classic only) -> the reproduction against the
  library itself (:func:`classic_pipeline.compare`);
* ``{"op": "finish"}`` -> ``{"peak_rss_mb": ..., "tensorflow_imported": ...}``, then exit.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path
from typing import Any, Callable, Sequence, TextIO

import numpy as np

CLASSIC = "classic"
#: Files, in the inputs folder, holding each set's RGB images under keys "0", "1", ...
SETS = ("canvas", "frame")


def inputs_file(folder: Path, name: str) -> Path:
    return Path(folder) / f"{name}.npz"


def tensorflow_imported() -> bool:
    return any(m.split(".")[0] in ("tensorflow", "keras", "tf_keras") for m in sys.modules)


def peak_rss_mb() -> float:
    """This process's own peak RSS. Not ``ru_maxrss``: Linux carries that over ``execve`` from
    the forked parent, so every child would report at least the benchmark's own size."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # not Linux: best there is


Analyze = Callable[[np.ndarray], tuple[list[list[Any]], dict[str, float]]]


def ours(detector: str, min_face_px: int) -> tuple[Analyze, dict[str, Any]]:
    """Our pipeline (LiteRT classifier, one of our detectors) as the app runs it."""
    import cv2

    from maskpatrol.detectors import DetectorSettings
    from maskpatrol.pipeline import MaskPatrol, Settings

    patrol = MaskPatrol.load(detector=detector)
    settings = Settings(DetectorSettings(name=detector, min_face_px=min_face_px))

    def analyze(rgb: np.ndarray) -> tuple[list[list[Any]], dict[str, float]]:
        timings: dict[str, float] = {}
        faces = patrol.analyze(rgb, settings, timings)
        return [[*map(int, f.box), f.label, round(f.p_no_mask, 6)] for f in faces], timings

    analyze(np.zeros((480, 640, 3), np.uint8))  # builds the detector (lazy) before "ready"
    return analyze, {"cv2_threads": cv2.getNumThreads(),
                     "classifier_threads": getattr(patrol.classifier, "num_threads", None),
                     "threshold": patrol.card.threshold}


def classic() -> tuple[Analyze, dict[str, Any], Any]:
    """The classic pipeline; takes our RGB images and hands it BGR, as ``cv2.imread`` gives it."""
    import cv2

    from benchmarks.classic_pipeline import ClassicPipeline

    pipe = ClassicPipeline()

    def analyze(rgb: np.ndarray) -> tuple[list[list[Any]], dict[str, float]]:
        bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
        timings: dict[str, float] = {}
        faces = pipe.analyze(bgr, timings)
        return [[*f.box, f.label, round(f.p_no_mask, 6)] for f in faces], timings

    # TensorFlow builds its predict function on the first call: not part of any image's time.
    pipe.model.predict(np.zeros((1, 224, 224, 3), np.float32), verbose=0)
    analyze(np.zeros((480, 640, 3), np.uint8))
    import tensorflow as tf

    return analyze, {"cv2_threads": cv2.getNumThreads(),
                     "tf_intra_op_threads": tf.config.threading.get_intra_op_parallelism_threads(),
                     "tensorflow": tf.__version__}, pipe


def serve(lines: TextIO, out: TextIO, analyze: Analyze, load_image: Callable[[str, int], np.ndarray],
          check: Callable[[np.ndarray], dict[str, Any]] | None) -> None:
    """Answer commands until ``finish`` (or the end of stdin)."""
    for line in lines:
        cmd = json.loads(line)
        if cmd["op"] == "finish":
            break
        rgb = load_image(cmd["set"], int(cmd["i"]))
        if cmd["op"] == "check":
            answer = check(rgb) if check is not None else {"error": "only the classic pipeline is checked"}
        else:
            t0 = time.perf_counter()
            faces, timings = analyze(rgb)
            answer = {"faces": faces, "ms": (time.perf_counter() - t0) * 1000.0, **timings}
        out.write(json.dumps(answer) + "\n")
        out.flush()


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("pipeline", help=f"'{CLASSIC}' or one of our detector names")
    p.add_argument("inputs", type=Path, help="folder with canvas.npz and frame.npz")
    p.add_argument("--min-face-px", type=int, required=True)
    args = p.parse_args(argv)
    # Answers go to the real stdout; everything else printed to fd 1 lands on stderr.
    out = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    files = {name: np.load(inputs_file(args.inputs, name)) for name in SETS}

    def load_image(name: str, i: int) -> np.ndarray:
        return files[name][str(i)]  # read per command: the sets stay out of the peak RSS

    t0 = time.perf_counter()
    try:
        if args.pipeline == CLASSIC:
            from benchmarks.classic_pipeline import compare, library_faces

            analyze, info, pipe = classic()

            def check(rgb: np.ndarray) -> dict[str, Any]:
                import cv2

                bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
                return compare(pipe.analyze(bgr), library_faces(pipe, bgr))
        else:
            analyze, info = ours(args.pipeline, args.min_face_px)
            check = None
    except Exception as exc:  # told to the parent, which names the pipeline and the fix
        out.write(json.dumps({"error": f"{type(exc).__name__}: {exc}"}) + "\n")
        out.flush()
        return 1
    out.write(json.dumps({"ready": True, "load_s": time.perf_counter() - t0, **info}) + "\n")
    out.flush()
    serve(sys.stdin, out, analyze, load_image, check)
    extra = {"empty_boxes": pipe.empty_boxes} if args.pipeline == CLASSIC else {}
    out.write(json.dumps({"peak_rss_mb": round(peak_rss_mb(), 1),
                          "tensorflow_imported": tensorflow_imported(), **extra}) + "\n")
    out.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
