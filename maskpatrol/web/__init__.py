"""The Live webcam page's "This browser" mode: the same models run in the visitor's browser.

In that mode the camera never leaves the device: the page's JavaScript (``src/``, built
into ``static/live/`` by ``make web``) runs YuNet and the mask classifier with
onnxruntime-web, draws the boxes, and sends Python only the per-frame counts, once a
second, which feed the same :class:`maskpatrol.live.LivePanel` as the server mode.

Modules: :mod:`.mode` (which mode a page starts in, and why), :mod:`.component` (the
Streamlit component and the settings it gets), :mod:`.readings` (the browser's
counts -> :class:`maskpatrol.live.FrameResult`).
"""
