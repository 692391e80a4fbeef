"""``streamlit`` with the WebRTC libraries' own log written to a file, for the webcam e2e.

Used as ``python streamlit_logged.py LOGFILE run app.py ...``. streamlit-webrtc and aiortc
log through Python's ``logging``, which Streamlit leaves unconfigured for other packages,
so by default their account of a connection (offer, answer, ICE and DTLS states, worker
start and stop) is lost. When a stream does not play in CI, this file is what says where
the connection stopped. INFO level: a few dozen lines per connection; aioice's per-packet
DEBUG lines stay off.
"""

import logging
import runpy
import sys

log_file = sys.argv.pop(1)
handler = logging.FileHandler(log_file)
handler.setFormatter(logging.Formatter("%(asctime)s %(threadName)s %(name)s %(levelname)s %(message)s"))
for name in ("streamlit_webrtc", "aiortc", "aioice"):
    logger = logging.getLogger(name)
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
sys.argv[0] = "streamlit"
runpy.run_module("streamlit", run_name="__main__", alter_sys=True)
