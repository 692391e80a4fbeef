"""Mask Patrol: find every face in an image and tell whether it wears a face mask.

The serving path (this package minus ``maskpatrol.training``, ``maskpatrol.train`` and
``maskpatrol.evaluate``) deliberately never imports TensorFlow: it runs the exported
``.tflite`` model with LiteRT so the app fits a 512 MB Heroku dyno.
"""

import os

# onnxruntime (YuNet) bundles Microsoft's telemetry SDK, which on import writes a session file
# into TMPDIR and a device id under ~/.cache unless this variable is set; setting it after the
# import is too late. Every entry point (app.py, the CLI, Ray workers, scripts/) imports this
# package first, as Python does for any maskpatrol module. Set, not defaulted: an empty or "0"
# value inherited from the environment would turn the writes back on. docs/dependencies.md.
os.environ["ORT_DISABLE_TELEMETRY"] = "1"

__version__ = "0.1.0"
