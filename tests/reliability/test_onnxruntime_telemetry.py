"""onnxruntime writes nothing to disk, whichever entry point loads it.

onnxruntime (YuNet) bundles Microsoft's telemetry SDK: importing it writes a session file
(``.ses``) into TMPDIR and a device id and a database under ``~/.cache/Microsoft``, unless
ORT_DISABLE_TELEMETRY is "1" when it is imported. ``maskpatrol/__init__.py`` sets it, and each
entry point imports the package before onnxruntime: app.py, ``python -m maskpatrol``, the
Ray workers (they import ``maskpatrol.batch.job`` to run their actor) and scripts/. Here
each of them runs in a fresh process whose TMPDIR and HOME are empty folders and whose
environment has the variable at "0" (telemetry on), and must leave no such file. The pytest
process has imported maskpatrol, so its children would otherwise inherit the variable.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import requests

from support.paths import ROOT
from support.server import streamlit_server

YUNET = ROOT / "models" / "yunet" / "yunet_n_dynamic.onnx"
RUN_TIMEOUT_S = 180


#: Variables by which onnxruntime's telemetry recognises a CI machine and writes nothing
#: there (seen: with ``CI=true``, as CI runs these tests, the control below wrote no file).
#: Emptied in every process these tests start, so that each test can fail on CI too.
CI_MARKERS = ("CI", "TF_BUILD", "GITHUB_ACTIONS", "GITLAB_CI", "TRAVIS", "CIRCLECI", "JENKINS_URL",
              "TEAMCITY_VERSION", "BUILDKITE", "APPVEYOR", "BITBUCKET_BUILD_NUMBER", "CODEBUILD_BUILD_ID",
              "SYSTEM_TEAMFOUNDATIONCOLLECTIONURI")
NOT_CI = {name: "" for name in CI_MARKERS}


def _fresh(tmp_path: Path) -> tuple[dict[str, str], Path, Path]:
    """An environment with empty TMPDIR and HOME folders, the telemetry left on, and no sign
    of a CI machine."""
    tmp, home = tmp_path / "tmp", tmp_path / "home"
    tmp.mkdir()
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("XDG_")}
    env.update(TMPDIR=str(tmp), HOME=str(home), ORT_DISABLE_TELEMETRY="0", **NOT_CI)
    return env, tmp, home


def _files(*folders: Path) -> list[str]:
    return sorted(str(p) for folder in folders for p in folder.rglob("*") if p.is_file())


def _run(args: list[str], env: dict[str, str]) -> str:
    out = subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=RUN_TIMEOUT_S)
    assert out.returncode == 0, f"{args} failed:\n{out.stdout[-2000:]}\n{out.stderr[-3000:]}"
    return out.stdout


def test_onnxruntime_alone_writes_where_these_tests_look(tmp_path):
    """The control: without maskpatrol, this onnxruntime does write its files. When it no
    longer does, the variable and this module can go (docs/dependencies.md)."""
    env, tmp, home = _fresh(tmp_path)
    _run(["-c", "import onnxruntime as ort\n"
                f"ort.InferenceSession({str(YUNET)!r}, providers=['CPUExecutionProvider'])"], env)
    assert _files(tmp, home), "onnxruntime wrote nothing without ORT_DISABLE_TELEMETRY"


def test_the_command_line_writes_nothing(tmp_path, astronaut_png):
    env, tmp, home = _fresh(tmp_path)
    assert '"label": "no_mask"' in _run(["-m", "maskpatrol", "detect", "--json", str(astronaut_png)], env)
    assert _files(tmp, home) == []


def test_the_pipeline_a_batch_worker_runs_writes_nothing(tmp_path, astronaut_png):
    """What each Ray worker does, in a process that did not inherit the variable (a worker
    on a cluster node): its first maskpatrol import sets it."""
    env, tmp, home = _fresh(tmp_path)
    code = ("from maskpatrol.batch.work import BatchSettings, analyse\n"
            "from maskpatrol.pipeline import MaskPatrol\n"
            f"rows = analyse(MaskPatrol.load(), {str(astronaut_png)!r}, 'image', BatchSettings())\n"
            "print(rows[0]['label'])\n")
    assert _run(["-c", code], env).strip() == "no_mask"
    assert _files(tmp, home) == []


def test_the_browser_bundle_script_writes_nothing(tmp_path):
    """scripts/convert_classifier_web.py runs the ONNX classifier beside the LiteRT one."""
    env, tmp, home = _fresh(tmp_path)
    code = ("from scripts import convert_classifier_web as c\n"
            "from maskpatrol.model_card import load_card\n"
            "card = load_card(c.ROOT / 'models')\n"
            "print(c.max_difference(c.ROOT / 'models' / card.tflite_file, c.ROOT / 'models' / 'mask_classifier.onnx',"
            " card.input_size, outputs=c.outputs_per_face(card)))\n")
    assert float(_run(["-c", code], env)) <= 1e-4
    assert _files(tmp, home) == []


def test_the_app_writes_nothing_once_it_has_analysed_a_photo(tmp_path, astronaut_png):
    """``streamlit run app.py`` with the HTTP API answering one photo (YuNet loaded). Its HOME
    holds Streamlit's own folder, where setup.sh writes config.toml as on a dyno, and nothing else."""
    env, tmp, _ = _fresh(tmp_path)
    with streamlit_server(tmp_path, extra_env={"TMPDIR": env["TMPDIR"], "ORT_DISABLE_TELEMETRY": "0",
                                               **NOT_CI}) as server:
        response = requests.post(server.url + "/api/v1/detect", data=astronaut_png.read_bytes(),
                                 headers={"Content-Type": "image/png"}, timeout=120)
        assert response.status_code == 200, response.text
        home = tmp_path / "home"
        assert _files(tmp) == []
        assert [f for f in _files(home) if not f.startswith(f"{home / '.streamlit'}/")] == []
