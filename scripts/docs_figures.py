"""The figure tables of README.md and docs/, generated from the files that hold the measurements.

Why: a figure typed into a README goes stale the day the code changes, and nobody notices.
Here each table sits between ``<!-- figures:NAME -->`` and ``<!-- /figures:NAME -->`` and is
rendered from its source, and ``tests/unit/test_docs.py`` fails when the text in the file is
not what the source renders today:

* ``headline`` (README.md) and ``model`` (docs/model.md): accuracy from ``reports/metrics.json``
  (written by ``make evaluate``), the default detector's end-to-end catch rate from
  ``comparison.json``, plus the speed, slug and memory of the last recorded test runs;
* ``third_class`` (docs/model.md): the 3-class figures of ``reports/metrics.json``;
* ``detectors`` (docs/detectors.md): ``maskpatrol/detectors/comparison.json``
  (``python -m benchmarks.bench_detectors --write-figures``), through the same rows the Model page shows;
* ``heroku`` (docs/deployment.md): the Heroku check's budgets and last recorded figures.

Speed and memory are measured by tests into ``tests/artifacts/`` (not committed, and different
on every machine). ``--record`` copies the figures the docs quote, with their same-run baselines
and the date of the run, into the committed ``docs/figures.json``; ``--write`` then regenerates
the tables. ``make docs-figures`` does both. Without options the script only checks (exit 1 when
a table differs from its source): ``PYTHONPATH=tests .venv/bin/python -m scripts.docs_figures``
from the project root (``tests/`` on the path, as for :mod:`scripts.heroku_check`, whose
budgets it quotes).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from maskpatrol.detectors import DEFAULT_DETECTOR
from maskpatrol.detectors import comparison
# The Heroku check's budgets. Cheap to import (the standard library and the tests' stdlib-only
# browser and network helpers, so tests/ must be on the path: see the module docstring).
from scripts import heroku_check as hc

ROOT = Path(__file__).resolve().parent.parent
METRICS = ROOT / "reports" / "metrics.json"
RECORDED = ROOT / "docs" / "figures.json"
ARTIFACTS = ROOT / "tests" / "artifacts"

#: recorded key -> (artifact file, the fields the docs quote). Baselines and ratios travel
#: with each absolute figure, as tests/figures.py writes them.
SOURCES: dict[str, tuple[str, tuple[str, ...]]] = {
    "heroku": ("heroku_check.json", ("slug_mb", "slug_uncompressed_mb", "boot_s",
                                     "boot_baseline_import_streamlit_s", "ratio_boot_to_baseline",
                                     "rss_after_photo_mb", "peak_rss_40mp_mb", "peak_rss_four_visitors_mb",
                                     "peak_rss_mb")),
    "webcam_browser": ("webcam_browser.json", ("browser_fps_median", "browser_ms_per_frame",
                                               "baseline_python_ms_per_frame", "ratio_browser_ms_to_python_ms")),
    "webcam_server": (f"webcam_{DEFAULT_DETECTOR}.json", ("detector", "panel_fps_median", "analysis_ms_mean",
                                                         "baseline_in_process_analysis_ms",
                                                         "ratio_analysis_ms_to_baseline")),
}


def _load(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def record(artifacts: Path = ARTIFACTS, out: Path = RECORDED) -> list[str]:
    """Copy the quoted fields of the artifact files present into ``out``; returns what was
    recorded. A missing artifact keeps the figures recorded before."""
    recorded = _load(out)
    done = []
    for key, (name, fields) in SOURCES.items():
        data = _load(artifacts / name)
        if not data or any(f not in data for f in fields):
            continue
        when = datetime.fromtimestamp((artifacts / name).stat().st_mtime, timezone.utc)
        recorded[key] = {"source": f"tests/artifacts/{name}", "measured": when.strftime("%Y-%m-%d"),
                         **{f: data[f] for f in fields}}
        done.append(key)
    out.write_text(json.dumps(recorded, indent=2, sort_keys=True) + "\n")
    return done


def _pct(x: float) -> str:
    return f"{100 * x:.2f}%"


def render_headline(metrics: dict[str, Any], rec: dict[str, Any]) -> str:
    rows = ["| | measured | source |", "| --- | --- | --- |"]
    allt = metrics.get("metrics", {}).get("all_test")
    if allt:
        rows.append(f"| Accuracy on held-out test faces | {_pct(allt['accuracy'])} on {allt['n']:,} faces from two "
                    f"sources (no-mask recall {_pct(allt['recall'])}) | `make evaluate` ([the model](docs/model.md)) |")
    third = metrics.get("three_class", {}).get("drawn_and_maskedfacenet/test")
    if third:
        inc = third["per_class"]["incorrect"]
        rows.append(f"| Mask below nose, held-out **drawn** masks | recall {_pct(inc['recall'])}, precision "
                    f"{_pct(inc['precision'])} ({third['n']:,} faces; no real photos) | "
                    "`make evaluate` ([third class](docs/model.md#the-third-class-a-mask-below-the-nose)) |")
    det = comparison.FIGURES.get(DEFAULT_DETECTOR)
    if det:
        rows.append(f"| Unmasked people caught end to end (face found, alert raised) | "
                    f"{det['flagged_all']:.1%} of "
                    f"{comparison.N_IMAGES.get('no_mask', 0):,} unmasked photos with `{DEFAULT_DETECTOR}`, the "
                    f"default detector | `bench_detectors.py` "
                    f"([detectors](docs/detectors.md#measured-figures)) |")
    b = rec.get("webcam_browser")
    if b:
        rows.append(f"| Live webcam, analysed in the browser | {b['browser_fps_median']:g} frames/s; "
                    f"{b['browser_ms_per_frame']:g} ms a frame, {b['ratio_browser_ms_to_python_ms']:g}x the "
                    f"{b['baseline_python_ms_per_frame']:g} ms of the server's Python pipeline on the same frame "
                    f"in the same run | browser e2e test, {b['measured']} "
                    f"([performance](docs/performance.md#live-webcam)) |")
    s = rec.get("webcam_server")
    if s:
        rows.append(f"| Live webcam, analysed on the server | {s['panel_fps_median']:g} frames/s; "
                    f"{s['analysis_ms_mean']:g} ms a frame, {s['ratio_analysis_ms_to_baseline']:g}x the "
                    f"{s['baseline_in_process_analysis_ms']:g} ms the same frame took in the test's own process "
                    f"meanwhile | "
                    f"webcam e2e test ({s['detector']}), {s['measured']} ([testing](docs/testing.md#the-webcam-end-to-end)) |")
    h = rec.get("heroku")
    if h:
        rows.append(f"| Heroku slug | {h['slug_mb']:g} MB compressed (Heroku's limit: 500 MB) | "
                    f"Heroku check, {h['measured']} ([deployment](docs/deployment.md#limits-checked-in-ci)) |")
        rows.append(f"| Server memory on a 512 MB dyno | {h['rss_after_photo_mb']:g} MB after a photo; peaks "
                    f"{h['peak_rss_40mp_mb']:g} MB (40 MP), {h['peak_rss_four_visitors_mb']:g} MB (four visitors) | "
                    f"Heroku check, {h['measured']} |")
    return "\n".join(rows)


def render_model(metrics: dict[str, Any], rec: dict[str, Any]) -> str:
    names = {"kaggle12k/test": "kaggle12k/test", "chandrikadeb7/test": "chandrikadeb7 held-out",
             "all_test": "both"}
    rows = ["| test split | faces | accuracy | no-mask recall | specificity | ROC AUC |", "|---|---|---|---|---|---|"]
    for key, label in names.items():
        m = metrics.get("metrics", {}).get(key)
        if m:
            rows.append(f"| {label} | {m['n']} | {_pct(m['accuracy'])} | {_pct(m['recall'])} | "
                        f"{_pct(m['specificity'])} | {m['roc_auc']:.4f} |")
    if len(rows) == 2:
        return "_No evaluation report yet: run `make evaluate`._"
    return "\n".join(rows) + f"\n\nDecision threshold {metrics['threshold']:.3f}; model `{metrics.get('model', '?')}`."


def render_third_class(metrics: dict[str, Any], rec: dict[str, Any]) -> str:
    """Per held-out split: how "Mask below nose" is found (recall) and how often it is right
    (precision), and the real masked photos wrongly called it."""
    three = metrics.get("three_class")
    if not three:
        return "_The shipped model has two classes; no 3-class report yet (`make evaluate`)._"
    names = {"synthetic/test": "drawn on held-out faces", "maskedfacenet/test": "MaskedFace-Net held-out",
             "drawn_and_maskedfacenet/test": "both (the acceptance set)", "kaggle12k/test": "kaggle12k/test",
             "chandrikadeb7/test": "chandrikadeb7 held-out", "all_test": "every test split"}
    rows = ["| test split | faces | 3-class accuracy | below nose: recall | below nose: precision | "
            "masked called below nose | no-mask recall |", "|---|---|---|---|---|---|---|"]
    for key, label in names.items():
        m = three.get(key)
        if m:
            inc, bare, masked = (m["per_class"][c] for c in ("incorrect", "no_mask", "mask"))
            cell = lambda v, n: _pct(v) if n else "-"  # noqa: E731
            wrong = m["matrix"][0][2] / masked["n"] if masked["n"] else 0.0
            rows.append(f"| {label} | {m['n']} | {_pct(m['accuracy'])} | {cell(inc['recall'], inc['n'])} | "
                        f"{cell(inc['precision'], inc['n'])} | {cell(wrong, masked['n'])} | "
                        f"{cell(bare['recall'], bare['n'])} |")
    checks = three.get("cross_check", {})
    lines = [f"- {name}: {_pct(c['called_incorrect'])} of {c['n']} called \"Mask below nose\"."
             for name, c in checks.items()]
    return ("\n".join(rows) + f"\n\nThreshold on p(incorrect) {metrics['incorrect_threshold']:.2f}. Real masked "
            "photos wrongly called \"Mask below nose\" (the training split included in the second line):\n\n"
            + "\n".join(lines))


def render_detectors(metrics: dict[str, Any], rec: dict[str, Any]) -> str:
    rows = comparison.rows()
    if not rows:
        return f"_Not measured yet: run `{comparison.COMMAND}`, then `make docs-figures`._"
    head = list(rows[0])
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    lines += ["| " + " | ".join(str(r[k]) for k in head) + " |" for r in rows]
    return "\n".join(lines) + "\n\n" + comparison.method()


def render_heroku(metrics: dict[str, Any], rec: dict[str, Any]) -> str:
    h = rec.get("heroku")
    measured = (lambda text: text) if h else (lambda text: "not recorded yet")
    rows = ["| limit | Heroku | our budget | measured |", "|---|---|---|---|"]
    rows.append(f"| compressed slug | 500 MB | < {hc.SLUG_BUDGET_MB:g} MB | "
                + measured(h and f"{h['slug_mb']:g} MB ({h['slug_uncompressed_mb']:g} MB unpacked; "
                           "Heroku's Python runtime comes on top)") + " |")
    rows.append(f"| bind `$PORT` after start | 60 s | < {hc.BOOT_BUDGET_S:g} s | "
                + measured(h and f"{h['boot_s']:g} s to `/_stcore/health`, {h['ratio_boot_to_baseline']:g}x the "
                           f"{h['boot_baseline_import_streamlit_s']:g} s the slug's Python takes to import Streamlit")
                + " |")
    rows.append(f"| memory (Basic dyno) after a photo | 512 MB | <= {hc.RSS_AFTER_PHOTO_BUDGET_MB:g} MB | "
                + measured(h and f"{h['rss_after_photo_mb']:g} MB") + " |")
    rows.append(f"| memory, peak of a 40 MP photo | 512 MB | <= {hc.RSS_40MP_BUDGET_MB:g} MB | "
                + measured(h and f"{h['peak_rss_40mp_mb']:g} MB") + " |")
    rows.append(f"| memory, peak of four visitors' 12 MP photos at once | 512 MB | "
                f"<= {hc.RSS_FOUR_VISITORS_BUDGET_MB:g} MB | "
                + measured(h and f"{h['peak_rss_four_visitors_mb']:g} MB ({h['peak_rss_mb']:g} MB over the whole "
                           "check)") + " |")
    note = f"\n\nLast recorded run: {h['measured']}." if h else ""
    return "\n".join(rows) + note


#: block name -> (file it lives in, renderer).
BLOCKS: dict[str, tuple[str, Callable[[dict[str, Any], dict[str, Any]], str]]] = {
    "headline": ("README.md", render_headline),
    "model": ("docs/model.md", render_model),
    "third_class": ("docs/model.md", render_third_class),
    "detectors": ("docs/detectors.md", render_detectors),
    "heroku": ("docs/deployment.md", render_heroku),
}


def block_pattern(name: str) -> re.Pattern[str]:
    return re.compile(rf"(<!-- figures:{name} -->\n)(.*?)(<!-- /figures:{name} -->)", re.S)


def rendered() -> dict[str, str]:
    """Each block's text as its sources give it today."""
    metrics, rec = _load(METRICS), _load(RECORDED)
    return {name: render(metrics, rec) for name, (_, render) in BLOCKS.items()}


def current(name: str, root: Path = ROOT) -> str | None:
    """The text between a block's markers in its file (None when the markers are missing)."""
    match = block_pattern(name).search((root / BLOCKS[name][0]).read_text())
    return None if match is None else match.group(2).rstrip("\n")


def write(root: Path = ROOT) -> list[str]:
    """Regenerate every block whose markers are present; returns the files changed."""
    changed = []
    for name, text in rendered().items():
        path = root / BLOCKS[name][0]
        old = path.read_text()
        new = block_pattern(name).sub(lambda m: m.group(1) + text + "\n" + m.group(3), old)
        if new != old:
            path.write_text(new)
            changed.append(str(path.relative_to(root)))
    return changed


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--record", action="store_true", help="copy tests/artifacts' figures into docs/figures.json")
    p.add_argument("--write", action="store_true", help="regenerate the tables in README.md and docs/")
    args = p.parse_args(argv)
    if args.record:
        print("recorded:", ", ".join(record()) or "nothing (no test artifacts found)")
    if args.write:
        print("updated:", ", ".join(write()) or "nothing")
    stale = [f"{BLOCKS[n][0]} ({n})" for n, text in rendered().items() if current(n) != text]
    for s in stale:
        print(f"out of date or missing markers: {s}; run `make docs-figures`", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    raise SystemExit(main())
