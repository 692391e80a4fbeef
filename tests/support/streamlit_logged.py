"""``streamlit`` with the WebRTC libraries' own log written to a file, for the webcam e2e.

Used as ``python streamlit_logged.py LOGFILE run app.py ...``. streamlit-webrtc and aiortc
log through Python's ``logging``, which Streamlit leaves unconfigured for other packages,
so by default their account of a connection (offer, answer, ICE and DTLS states, worker
start and stop) is lost. When a stream does not play in CI, this file is what says where
the connection stopped. INFO level: a few dozen lines per connection; aioice's per-packet
DEBUG lines stay off.

With ``PEOPLE_TRACE_ENV`` set to a file, every frame the server's people see is appended to
it as one JSON line (time, frame size, each face's box and probabilities, the track and
person numbers given): what a wrong people count needs to be replayed and explained.
"""

import json
import logging
import os
import runpy
import sys

PEOPLE_TRACE_ENV = "MASKPATROL_TEST_PEOPLE_TRACE"


def trace_people(path: str) -> None:
    """Wrap ``People.update`` so each call is appended to ``path`` (one stream per People)."""
    from maskpatrol.tracking.people import People

    update = People.update

    def traced(self, faces, t, frame_size=None):
        result = update(self, faces, t, frame_size)
        row = {"stream": id(self), "t": t, "size": list(frame_size) if frame_size else None,
               "faces": [[[float(v) for v in f.box], round(f.p_no_mask, 6), round(f.p_incorrect, 6)] for f in faces],
               "tracks": result.tracks, "persons": [f.person for f in result.faces]}
        with open(path, "a") as out:
            out.write(json.dumps(row) + "\n")
        return result

    People.update = traced


def main() -> None:
    log_file = sys.argv.pop(1)
    handler = logging.FileHandler(log_file)
    handler.setFormatter(logging.Formatter("%(asctime)s %(threadName)s %(name)s %(levelname)s %(message)s"))
    for name in ("streamlit_webrtc", "aiortc", "aioice"):
        logger = logging.getLogger(name)
        logger.setLevel(logging.INFO)
        logger.addHandler(handler)
    if os.environ.get(PEOPLE_TRACE_ENV):
        trace_people(os.environ[PEOPLE_TRACE_ENV])
    sys.argv[0] = "streamlit"
    runpy.run_module("streamlit", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
