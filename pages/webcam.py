"""Live webcam page: each frame judged in the visitor's browser, or on the server over WebRTC.

Layout and wording only. The server mode's frame callback, counters and FPS meter live in
``maskpatrol.live``, its STUN/TURN configuration in ``maskpatrol.ice``; the browser mode's
component, default choice and readings in ``maskpatrol.web``. Both modes fill the same
:class:`maskpatrol.live.LivePanel`, so the panel reads the same either way.
"""

import pandas as pd
import streamlit as st
from streamlit_webrtc import WebRtcMode, webrtc_streamer

from maskpatrol.annotate import INCORRECT_RGB, MASK_RGB, NO_MASK_RGB
from maskpatrol.detectors import DetectorSettings, yunet
from maskpatrol.ice import IceConfigError, rtc_configuration, streamlit_secrets
from maskpatrol.live import LiveOptions, LiveSession, Snapshot, alert_text
from maskpatrol.live.sound import beep_wav
from maskpatrol.tracking.people import PersonRecord, people_csv_text
from maskpatrol.ui import get_patrol, sidebar_settings
from maskpatrol.web.component import bundle_present, browser_settings, live_component, pipeline_config
from maskpatrol.web.mode import BROWSER, OPTIONS, default_mode
from maskpatrol.web.readings import BrowserFeed

WEBCAM_DETECTOR_DEFAULTS = DetectorSettings(min_face_px=80)

st.title(":material/videocam: Live webcam")
patrol = get_patrol()
# Faces in front of a webcam are large: starting at 80 px lets the detector scan a 4x
# smaller image than at 40 px (docs/performance.md, "Live webcam"). Users can lower it.
settings, show_prob = sidebar_settings(patrol, key_prefix="webcam_", defaults=WEBCAM_DETECTOR_DEFAULTS,
                                       people=True)
mirror = st.sidebar.toggle("Mirror view", value=True, key="webcam_mirror", persist_state="session",
                           help="Flip the picture left-right, as in a mirror. Changes apply to the running stream.")
sound = st.sidebar.toggle("Sound for each new alert", value=False, key="webcam_sound", persist_state="session",
                          help="A short beep when a new person is found not properly masked, once per person. "
                               "Off until you turn it on: browsers play sound only after a click on the page.")
CAMERAS = {"user": "Front (selfie)", "environment": "Rear"}
camera = st.sidebar.radio("Camera on phones", list(CAMERAS), format_func=CAMERAS.get, horizontal=True,
                          key="webcam_camera", persist_state="session",
                          help="Which camera of a phone or tablet to use; a computer's one webcam is used either way.")

# One bundle per browser session, reused across reruns and start/stop: nothing is
# allocated per stream, so restarting cannot make the server grow.
if "webcam_live" not in st.session_state:
    st.session_state["webcam_live"] = LiveSession(patrol)
    st.session_state["webcam_feed"] = BrowserFeed()
live: LiveSession = st.session_state["webcam_live"]
feed: BrowserFeed = st.session_state["webcam_feed"]
options = LiveOptions(settings, show_prob, mirror, sound, camera)
# The callback reads this on every frame: sidebar changes reach the running stream.
live.options.set(options)

static_ok = bool(st.get_option("server.enableStaticServing")) and bundle_present()
default = default_mode(secrets=streamlit_secrets(), server_address=st.get_option("server.address"),
                       static_serving=static_ok)
mode = st.radio("Analyse in", OPTIONS, index=OPTIONS.index(default.option), horizontal=True,
                key="webcam_analyse_in",
                help="**This browser**: your camera's picture never leaves your device; only the counts "
                     "reach the server. **Server (WebRTC)**: the video goes to the server and comes back "
                     "annotated (needs a WebRTC connection, which a hosted app gets only through a TURN relay).")
if mode == default.option:
    st.caption(f"Analysing in **{mode.lower() if mode == BROWSER else 'the server'}**, "
               f"the default here because {default.reason}.")
else:
    st.caption(f"You chose **{mode}**. The default here is {default.option} because {default.reason}.")


def _hex(rgb: tuple[int, int, int]) -> str:
    return "#{:02x}{:02x}{:02x}".format(*rgb)


# A model with the third class tells a mask below the nose from a proper one; a binary model
# cannot, so its panel shows two counts, as before.
SEES_BELOW_NOSE = patrol.card.has_incorrect
BELOW_NOSE_HELP = ("A mask worn below the nose or on the chin. It is counted as not properly masked: "
                   "it raises the alert, as no mask does.")


def show_people(playing: bool, records: list[PersonRecord]) -> None:
    """People since Start, each counted once; after Stop, their CSV; the alert sound."""
    people = live.panel.people
    row = st.columns(2)
    row[0].metric("People since Start", people.total,
                  help="Each face is followed from frame to frame and counted once, however long it stays.")
    row[1].metric("Not properly masked", people.not_masked,
                  help="People judged without a mask" + (" or with the mask below the nose" if SEES_BELOW_NOSE else "")
                       + ", from all their frames: one alert each.")
    if not playing and records is not None:
        st.download_button("People seen (CSV)", people_csv_text(records), file_name="people.csv", mime="text/csv",
                           key="webcam_people_csv", icon=":material/download:", on_click="ignore",
                           help="One row per person: " + ", ".join(PersonRecord.CSV_HEADER) + ".")


def show_panel(snap: Snapshot | None, playing: bool, stats: tuple[int, float], fps_help: str,
               records: list[PersonRecord] | None = None) -> None:
    # The beep only in the redraw that follows a new alert, and gone from the next: an
    # autoplaying element that stayed would sound again whenever it is drawn anew. The
    # browser mode beeps by itself.
    beeped, st.session_state["webcam_beeped"] = st.session_state.get("webcam_beeped", 0), live.panel.alerts
    if playing and sound and live.panel.alerts > beeped and mode != BROWSER:
        st.audio(beep_wav(live.panel.alerts), format="audio/wav", autoplay=True, width=1)
    top = st.columns(2)
    bottom = st.columns(3 if SEES_BELOW_NOSE else 2)
    dash = "–"
    top[0].metric("Faces", snap.counts.total if snap else dash)
    top[1].metric("FPS", f"{snap.fps:.1f}" if snap else dash, help=fps_help)
    bottom[0].metric("Masked", snap.counts.mask if snap else dash)
    if SEES_BELOW_NOSE:
        bottom[1].metric("Mask below nose", snap.counts.incorrect if snap else dash, help=BELOW_NOSE_HELP)
    bottom[-1].metric("No mask", snap.counts.no_mask if snap else dash)
    if SEES_BELOW_NOSE:
        st.caption("A mask below the nose counts as **not properly masked**: it raises the alert, as no mask does.")
    if snap is None:
        st.info("Waiting for video ..." if playing else "Start the camera to see live counts.")
    elif not playing:
        st.caption("Stopped: the last reading of the previous stream.")
    elif snap.error:
        st.warning(f"Some frames could not be analysed: {snap.error}")
    if snap is not None and snap.counts.alert:
        st.error(alert_text(snap), icon=":material/warning:")
    elif snap is not None and snap.counts.total:
        st.success("Every face found wears a mask" + (" over the nose" if SEES_BELOW_NOSE else ""))
    data = live.panel.chart_data()
    if data["seconds"]:
        # Stacked: the top edge is the number of faces, the red band the unmasked ones (and,
        # with a 3-class model, the amber band the masks below the nose).
        series = {"Masked": MASK_RGB, **({"Mask below nose": INCORRECT_RGB} if SEES_BELOW_NOSE else {}),
                  "No mask": NO_MASK_RGB}
        chart = pd.DataFrame(data).set_index("seconds")[list(series)]
        st.area_chart(chart, height=180, x_label="last minute (seconds, 0 = now)", y_label="people",
                      color=[_hex(c) for c in series.values()], stack=True)
    frames, ms = stats
    if frames:
        st.caption(f"{frames} frames analysed in this stream, {ms:.0f} ms each on average.")
    st.subheader("Since Start")
    show_people(playing, records)


SERVER_FPS_HELP = ("Frames analysed per second. Your camera sends 25-30; "
                   "a lower number means the server skips frames to keep up.")
BROWSER_FPS_HELP = ("Frames this browser analysed per second. Your camera sends 25-30; "
                    "a lower number means this device skips frames to keep up.")


def server_mode() -> None:
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
            media_stream_constraints={"video": {"facingMode": camera}, "audio": False},
            rtc_configuration=rtc,
            async_processing=True,
        )
        st.caption("Press **Start** and allow camera access. Frames are analysed on the server "
                   "and sent straight back; nothing is recorded or stored.")

    playing = bool(ctx.state.playing)
    live.on_playing(playing)

    # While playing, redraw only this panel once a second from the callback's queue.
    @st.fragment(run_every=1.0 if playing else None)
    def live_panel() -> None:
        show_panel(live.refresh(playing), playing, live.processor.stats(), SERVER_FPS_HELP,
                   None if playing or live.panel.last is None else live.processor.people_records())

    with panel_col:
        st.subheader("Now in view")
        live_panel()


@st.fragment
def browser_mode() -> None:
    """The camera, the models and the drawing run in the page; once a second the component
    sends the frames' counts, which rerun only this fragment to redraw the panel."""
    if not static_ok:
        st.error("This server does not serve the in-browser analysis: start the app from its folder "
                 "(`make run`), where `.streamlit/config.toml` enables static file serving, and run "
                 "`make web` if `static/live/` is missing. Or choose **Server (WebRTC)** above.")
        return
    video_col, panel_col = st.columns([3, 2], gap="large")
    with video_col:
        result = live_component("webcam_browser", pipeline_config(patrol.card),
                                browser_settings(options, patrol.threshold(settings),
                                                 patrol.incorrect_threshold(settings)))
        st.caption("Press **Start** and allow camera access. Frames are analysed by this browser: "
                   "the picture never leaves your device, only the counts reach the server.")
        if settings.detector.name != yunet.YuNetDetector.name:
            st.caption("This browser always runs the YuNet detector; the sidebar's detector choice "
                       "applies to the server mode.")
    playing = bool(result.playing)
    if live.on_playing(playing):
        feed.reset()
    for item in feed.results(result.reading, live.panel.clock()):
        live.results.put(item)
    if result.problem and not playing:
        st.warning(result.problem)
    with panel_col:
        st.subheader("Now in view")
        show_panel(live.refresh(playing), playing, feed.stats(), BROWSER_FPS_HELP,
                   None if playing or live.panel.last is None else feed.people_records())


if mode == BROWSER:
    browser_mode()
else:
    server_mode()
