"""People across frames: a face tracker (``tracker``) and one judgement per person
(``people``), with the settings they share (``settings``).

Import the modules themselves; this package file stays empty so that ``pipeline`` can
import the leaf ``settings`` without loading the rest.
"""
