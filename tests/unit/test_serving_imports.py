"""The serving path must not import TensorFlow: ~615 MB RSS would not fit a 512 MB dyno."""

import subprocess
import sys

from support.paths import ROOT


def test_serving_path_does_not_import_tensorflow():
    code = (
        "import sys\n"
        "import maskpatrol.cli, maskpatrol.pipeline, maskpatrol.annotate, maskpatrol.ui\n"
        "from maskpatrol.pipeline import MaskPatrol\n"
        "import numpy as np\n"
        "MaskPatrol.load().analyze(np.zeros((120, 160, 3), np.uint8))\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras', 'tf_keras'))\n"
        "print(bad)\n"
        "sys.exit(1 if bad else 0)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
