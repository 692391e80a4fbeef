"""Mask Patrol: find every face in an image and tell whether it wears a face mask.

The serving path (this package minus ``maskpatrol.training``, ``maskpatrol.train`` and
``maskpatrol.evaluate``) deliberately never imports TensorFlow: it runs the exported
``.tflite`` model with LiteRT so the app fits a 512 MB Heroku dyno.
"""

__version__ = "0.1.0"
