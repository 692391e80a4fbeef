"""Live webcam analysis: the WebRTC frame callback and what the page reads from it.

streamlit-webrtc calls the frame callback on its own worker thread, once per camera
frame, while the Streamlit script thread redraws the page. The two never share Streamlit
state (``st.*`` is not thread-safe and belongs to the script thread); they share three
small thread-safe objects instead, bundled per browser session in :class:`LiveSession`:

* :class:`OptionsBox` - the sidebar's current settings; the page writes it on every rerun
  and the callback reads it on every frame, so a slider moved while streaming applies to
  the next frame without restarting the stream.
* :class:`ResultQueue` - one small :class:`FrameResult` per processed frame; bounded and
  dropping the oldest, so a page that stops reading (closed tab) never makes it grow.
* :class:`LiveProcessor` - the callback itself, with an :class:`FpsMeter`.

:class:`LivePanel` lives on the page side only: it turns the drained results into the
numbers the page shows (a one-second summary plus a minute of history).

One job per module: ``channel`` (what the two threads share), ``fps``, ``processor`` (the
callback), ``panel`` (the page's summary and history) and ``session`` (the per-session
bundle). Import the names from ``maskpatrol.live``.
"""

from .channel import FrameResult, LiveOptions, OptionsBox, ResultQueue
from .fps import Clock, FpsMeter
from .panel import ALERT_SHARE, HistoryPoint, LivePanel, Snapshot, alert_text, summarize_window
from .processor import LiveProcessor
from .session import LiveSession, release_memory

__all__ = ["ALERT_SHARE", "Clock", "FpsMeter", "FrameResult", "HistoryPoint", "LiveOptions", "LivePanel",
           "LiveProcessor", "LiveSession", "OptionsBox", "ResultQueue", "Snapshot", "alert_text",
           "release_memory", "summarize_window"]
