"""The committed in-browser bundle (static/live/) is what `make web` builds from the lockfile.

Running the app never needs Node.js, so the built files are committed; these tests make
sure they are not stale or hand-edited: every file matches the hash the build recorded,
the models in it are the server's own models, and (where npm is installed) a clean
rebuild from maskpatrol/web/package-lock.json gives the same files.
"""

from __future__ import annotations

import gzip
import hashlib
import shutil
import subprocess
from pathlib import Path

import pytest

from support.paths import ROOT
from support.required import skip_or_fail

STATIC = ROOT / "static" / "live"
WEB = ROOT / "maskpatrol" / "web"
REBUILD_TIMEOUT_S = 600


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _recorded(folder: Path) -> dict[str, str]:
    lines = (folder / "SHA256SUMS").read_text().splitlines()
    return {name: digest for digest, name in (line.split("  ", 1) for line in lines if line.strip())}


def _files(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file() and p.name != "SHA256SUMS"}


def test_every_committed_file_matches_its_recorded_hash():
    recorded = _recorded(STATIC)
    assert set(recorded) == _files(STATIC), "files added or removed by hand: run `make web`"
    stale = [name for name, digest in recorded.items() if _sha256(STATIC / name) != digest]
    assert not stale, f"changed since the build recorded them: {stale}; run `make web`"


def test_the_bundle_carries_the_servers_own_models():
    """The browser must run exactly the models the server runs (the classifier as its ONNX
    conversion, itself checked against the .tflite in tests/e2e/test_browser_pipeline_parity.py)."""
    for name in ("yunet/yunet_n_dynamic.onnx", "yunet/LICENSE", "mask_classifier.onnx"):
        assert _sha256(STATIC / "models" / name) == _sha256(ROOT / "models" / name), name


def test_the_page_finds_the_bundle_where_it_looks():
    from maskpatrol.web.component import bundle_present, STATIC_DIR

    assert STATIC_DIR == STATIC and bundle_present()


def _content(path: Path) -> bytes:
    """A file's content; for .gz the unpacked bytes (zlib versions may pack differently)."""
    data = path.read_bytes()
    return gzip.decompress(data) if path.suffix == ".gz" else data


@pytest.mark.slow
def test_a_clean_rebuild_from_the_lockfile_gives_the_committed_files(tmp_path):
    npm, node = shutil.which("npm"), shutil.which("node")
    if not (npm and node):
        skip_or_fail("Node.js and npm are needed to rebuild the browser bundle (only for this check)")
    src = tmp_path / "web"
    shutil.copytree(WEB, src, ignore=shutil.ignore_patterns("node_modules", "__pycache__", "*.py"))
    out = tmp_path / "out"
    for cmd in ([npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund"],
                [node, "build.mjs", "--out", str(out), "--models", str(ROOT / "models")]):
        done = subprocess.run(cmd, cwd=src, capture_output=True, text=True, timeout=REBUILD_TIMEOUT_S)
        assert done.returncode == 0, f"{' '.join(cmd[:2])} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
    assert _files(out) == _files(STATIC)
    differing = [name for name in sorted(_files(out)) if _content(out / name) != _content(STATIC / name)]
    assert not differing, f"the committed bundle differs from a rebuild: {differing}; run `make web`"


def test_the_conversion_check_compares_every_output_the_card_calls_for():
    """scripts/convert_classifier_web.py's check on the shipped pair (the .tflite and its
    committed ONNX): they agree on every output, and a card whose classes call for another
    number of outputs than the model gives is refused, not compared on a reshaped array."""
    from scripts import convert_classifier_web as convert
    from maskpatrol.model_card import load_card

    card = load_card(ROOT / "models")
    tflite, onnx_file = ROOT / "models" / card.tflite_file, ROOT / "models" / "mask_classifier.onnx"
    outputs = convert.outputs_per_face(card)
    assert outputs == (3 if card.has_incorrect else 1)
    assert convert.max_difference(tflite, onnx_file, card.input_size, outputs=outputs) <= convert.TOLERANCE
    wrong = 1 if outputs == 3 else 3
    with pytest.raises(ValueError, match=f"{outputs} values per face; its model card's classes call for {wrong}"):
        convert.max_difference(tflite, onnx_file, card.input_size, outputs=wrong)
