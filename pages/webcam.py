"""Live webcam page: the browser's camera over WebRTC, each frame judged on the server.

Layout and wording only; the frame callback, counters and FPS meter live in
``maskpatrol.live``, the STUN/TURN configuration in ``maskpatrol.ice``.
"""

import pandas as pd
import streamlit as st
from streamlit_webrtc import WebRtcMode, webrtc_streamer

from maskpatrol.annotate import MASK_RGB, NO_MASK_RGB
from maskpatrol.ice import IceConfigError, rtc_configuration
from maskpatrol.live import LiveOptions, LiveSession, Snapshot
from maskpatrol.detectors import DetectorSettings
from maskpatrol.ui import get_patrol, sidebar_settings

WEBCAM_DETECTOR_DEFAULTS = DetectorSettings(min_face_px=80)

st.title(":material/videocam: Live webcam")
patrol = get_patrol()
# Faces in front of a webcam are large: starting at 80 px lets the detector scan a 4x
# smaller image (measured ~22 fps vs ~11 fps at 40 px on 2 cores). Users can lower it.
settings, show_prob = sidebar_settings(patrol, key_prefix="webcam_", defaults=WEBCAM_DETECTOR_DEFAULTS)
mirror = st.sidebar.toggle("Mirror view", value=True, key="webcam_mirror", persist_state="session",
                           help="Flip the picture left-right, as in a mirror. Changes apply to the running stream.")

# One bundle per browser session, reused across reruns and start/stop: nothing is
# allocated per stream, so restarting cannot make the server grow.
if "webcam_live" not in st.session_state:
    st.session_state["webcam_live"] = LiveSession(patrol)
live: LiveSession = st.session_state["webcam_live"]
# The callback reads this on every frame: sidebar changes reach the running stream.
live.options.set(LiveOptions(settings, show_prob, mirror))

try:
    rtc = rtc_configuration()
except IceConfigError as exc:
    st.warning(f"The STUN/TURN settings are incomplete ({exc}); using the default servers, "
               "which may not connect across the internet.")
    rtc = None

video_col, panel_col = st.columns([3, 2], gap="large")
with video_col:
    ctx = webrtc_streamer(
        key="webcam",
        mode=WebRtcMode.SENDRECV,
        video_frame_callback=live.processor,
        media_stream_constraints={"video": True, "audio": False},
        rtc_configuration=rtc,
        async_processing=True,
    )
    st.caption("Press **Start** and allow camera access. Frames are analysed on the server "
               "and sent straight back; nothing is recorded or stored.")

playing = bool(ctx.state.playing)
live.on_playing(playing)


def _hex(rgb: tuple[int, int, int]) -> str:
    return "#{:02x}{:02x}{:02x}".format(*rgb)


def show_panel(snap: Snapshot | None) -> None:
    top = st.columns(2)
    bottom = st.columns(2)
    dash = "–"
    top[0].metric("Faces", snap.faces if snap else dash)
    top[1].metric("FPS", f"{snap.fps:.1f}" if snap else dash,
                  help="Frames analysed per second. Your camera sends 25-30; "
                       "a lower number means the server skips frames to keep up.")
    bottom[0].metric("Masked", snap.masked if snap else dash)
    bottom[1].metric("No mask", snap.no_mask if snap else dash)
    if snap is None:
        st.info("Waiting for video ..." if playing else "Start the camera to see live counts.")
    elif not playing:
        st.caption("Stopped: the last reading of the previous stream.")
    elif snap.error:
        st.warning(f"Some frames could not be analysed: {snap.error}")
    if snap is not None and snap.alert:
        people = "person" if snap.no_mask == 1 else "people"
        st.error(f"{snap.no_mask} {people} without a mask in view", icon=":material/warning:")
    elif snap is not None and snap.faces:
        st.success("Every face found wears a mask")
    data = live.panel.chart_data()
    if data["seconds"]:
        # Stacked: the top edge is the number of faces, the red band the unmasked ones.
        chart = pd.DataFrame(data).set_index("seconds")[["Masked", "No mask"]]
        st.area_chart(chart, height=180, x_label="last minute (seconds, 0 = now)", y_label="people",
                      color=[_hex(MASK_RGB), _hex(NO_MASK_RGB)], stack=True)
    frames, ms = live.processor.stats()
    if frames:
        st.caption(f"{frames} frames analysed in this stream, {ms:.0f} ms each on average.")


# While playing, redraw only this panel once a second from the callback's queue.
@st.fragment(run_every=1.0 if playing else None)
def live_panel() -> None:
    show_panel(live.refresh() if playing else live.panel.last)


with panel_col:
    st.subheader("Now in view")
    live_panel()
