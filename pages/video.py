"""Video page: upload a clip, get it back with every face boxed, plus counts over time.

Layout and wording only: decoding, analysis, drawing and encoding live in
``maskpatrol.video``. Cancelling needs no code of its own: clicking any widget (the Cancel
button is one) makes Streamlit stop this script at its next progress update, and
``annotate_video`` deletes its partial output on the way out, so only finished videos are
ever offered. A click on any other widget stops the run the same way; the next run says so.
"""

from pathlib import Path

import streamlit as st

from maskpatrol import results, video
from maskpatrol.tracking.people import PersonRecord, people_csv_text
from maskpatrol.ui import get_patrol, sidebar_settings

st.title(":material/movie: Video")
patrol = get_patrol()
three_class = patrol.card.has_incorrect
labels = ("**Mask** (thin box), **Mask below nose** (dashed box) or **No mask** (thick box)" if three_class
          else "**Mask** (thin box) or **No mask** (thick box)")
st.caption(f"Every face in every frame gets a box and a written label: {labels}. Each person is followed "
           "from frame to frame, numbered and judged once (\"#7 No mask 91%\"). You get the annotated video "
           "(H.264 MP4), the people seen, a timeline and per-frame counts (CSV).")
if three_class:
    st.caption(results.INCORRECT_LEGEND)

settings, show_prob = sidebar_settings(patrol, key_prefix="video_", defaults=video.VIDEO_DETECTOR_DEFAULTS,
                                       people=True)
limit_mb = int(st.get_option("server.maxUploadSize"))

upload = st.file_uploader(
    "Upload a video", type=list(video.VIDEO_EXTENSIONS), key="video_upload",
    help=f"MP4, MOV, M4V, AVI, WEBM or MKV, up to {limit_mb} MB. Videos larger than 1280x720 are "
         "scaled down to 1280x720 (keeping their shape). The sound is kept.")
st.caption(f"Up to **{limit_mb} MB** per video. Processing time grows with length and frame size; a "
           "progress bar shows the time left. The video is processed on the server and not stored.")
every = st.number_input(
    "Analyse every Nth frame", min_value=1, max_value=30, value=1, step=1, key="video_every", persist_state="session",
    help="1 analyses every frame. 3 roughly halves the processing time of a long video.")
if every > 1:
    st.caption(f"Only 1 frame in {every} is analysed; the {every - 1} frame{'s' if every > 2 else ''} after "
               "it keep its boxes and labels (and its counts), so boxes can lag behind fast movement.")

# Set while a video is being annotated (to the upload's name) and cleared when the
# run ends by itself: still set now means a click elsewhere (a setting, the upload, another
# page) made Streamlit stop that run midway. Taken before anything here can stop this run.
running = st.session_state.pop("video_running", None)


def say_interrupted(name: str, then: str) -> None:
    st.warning(f"Annotating {name} stopped before it finished, because something on the page changed while "
               f"it ran (a setting, the upload, or a visit to another page); nothing was kept. {then}",
               icon=":material/pause_circle:")


if upload is None:
    if running is not None:
        say_interrupted(running, "Upload it again to start over.")
    st.info("Upload a video to see who wears a mask, frame by frame. Tune the detector and the "
            "decision threshold in the sidebar before you start.")
    st.stop()

run_key = (upload.file_id, settings, int(every), bool(show_prob))
cancelled = st.session_state.get("video_cancel", False)
kept = st.session_state.get("video_result")
interrupted = running is not None and not (kept is not None and kept["key"][0] == upload.file_id)
if st.button("Annotate video", type="primary", key="video_start", icon=":material/play_arrow:"):
    st.session_state.pop("video_result", None)  # never show an older run's video for this request
    st.session_state["video_running"] = upload.name
    cancel = st.empty()  # shown only while the video is being processed
    cancel.button("Cancel", key="video_cancel", icon=":material/stop:", help="Stops at once; nothing is kept.")
    progress = st.progress(0.0, text="Opening the video ...")

    def report(p: video.Progress) -> None:
        progress.progress(p.fraction or 0.0, text=p.describe())

    try:
        mp4, result = video.annotate_video_bytes(upload.getvalue(), patrol, settings, every=int(every),
                                                 show_probability=show_prob, on_progress=report,
                                                 max_pixels=video.PAGE_MAX_PIXELS)
    except video.VideoError as exc:
        st.session_state.pop("video_running", None)
        cancel.empty()
        progress.empty()
        st.error(f"{upload.name}: {exc}", icon=":material/error:")
        st.stop()
    except Exception:  # a crash is reported by Streamlit; it is not the user's doing
        st.session_state.pop("video_running", None)
        raise
    # Keep the result before anything a click could interrupt, then drop the flag.
    st.session_state["video_result"] = {"key": run_key, "name": upload.name, "mp4": mp4, "result": result}
    st.session_state.pop("video_running", None)
    cancel.empty()
    progress.empty()
elif cancelled:
    st.info("Cancelled: nothing was kept. Press **Annotate video** to start again.", icon=":material/stop:")
elif interrupted:
    say_interrupted(running, "Press **Annotate video** to start again with the settings now shown.")

done = st.session_state.get("video_result")
if done is None or done["key"][0] != upload.file_id:
    st.stop()
if done["key"] != run_key:
    st.info("The settings changed since this video was annotated; press **Annotate video** to apply them.")

result: video.VideoResult = done["result"]
st.markdown(f"**{result.summary()}**")
people = result.people_counts
with st.container(horizontal=True):
    st.metric("People seen", people.total, border=True)
    st.metric("Not properly masked", people.not_masked, border=True,
              help="People judged without a mask" + (" or with the mask below the nose" if three_class else "")
                   + ", each counted once however long they stay in view.")
warning = result.not_masked_text()
if warning:
    st.warning(warning, icon=":material/warning:")
elif result.max_faces:
    st.success("Every face found in this video wears a mask. A face the detector missed is not checked.",
               icon=":material/check_circle:")
else:
    st.info("No faces found. Things to try:\n\n"
            + "\n".join(f"- {tip}" for tip in results.no_face_advice(result, done["key"][1].detector, kind="video")),
            icon=":material/search:")

st.video(done["mp4"], format="video/mp4")
stem = Path(done["name"]).stem
with st.container(horizontal=True):
    st.download_button("Annotated video (MP4)", done["mp4"], file_name=f"{stem}.annotated.mp4",
                       mime="video/mp4", key="video_mp4", icon=":material/download:", on_click="ignore")
    st.download_button("People (CSV)", people_csv_text(result.people), file_name=f"{stem}.people.csv",
                       mime="text/csv", key="video_people_csv", icon=":material/download:", on_click="ignore",
                       help="One row per person: " + ", ".join(PersonRecord.CSV_HEADER) + ".")
    st.download_button("Per-frame counts (CSV)", result.counts.csv_text(), file_name=f"{stem}.counts.csv",
                       mime="text/csv", key="video_csv", icon=":material/download:", on_click="ignore",
                       help="One row per frame: " + ", ".join(video.FrameCounts.CSV_HEADER) + ".")

st.subheader("Timeline")
if three_class or result.frames_with_incorrect:
    st.caption("Per second of video: the bar is as tall as the most faces seen in one frame; its red part "
               "is the most faces without a mask, its amber part the most masks below the nose.")
    series, colours = ["No mask", "Mask below nose", "Mask"], ["#e61e1e", "#ff9600", "#00c853"]
else:
    st.caption("Per second of video: the bar is as tall as the most faces seen in one frame; "
               "its red part is the most faces without a mask.")
    series, colours = ["No mask", "Mask"], ["#e61e1e", "#00c853"]
st.bar_chart(video.timeline(result.counts), x="Second", y=series, color=colours,
             x_label="Second of video", y_label="Faces", stack=True)
