"""Photos page: upload photos, see every face judged, download the results.

Layout and wording only: analysis and advice live in ``maskpatrol.results``, the downloads
in ``maskpatrol.export``, caching in ``maskpatrol.ui``.
"""

import contextlib
from pathlib import Path

import streamlit as st

from maskpatrol import export, results
from maskpatrol.budget import WORK_PIXELS
from maskpatrol.html_table import html_table
from maskpatrol.images import MAX_PIXELS, SUPPORTED_EXTENSIONS
from maskpatrol.ui import analyze_upload, annotated_download, get_patrol, sidebar_settings, slots_busy_text

st.title(":material/photo_library: Photos")
patrol = get_patrol()
three_class = patrol.card.has_incorrect
labels = ("**Mask** (thin box), **Mask below nose** (dashed box) or **No mask** (thick box)" if three_class
          else "**Mask** (thin box) or **No mask** (thick box)")
st.caption(f"Every face gets a box and a written label: {labels}, "
           "so the result never depends on telling red from green. Photos are processed in memory "
           "and never written to disk; results stay in the server's memory for at most an hour.")
if three_class:
    st.caption(results.INCORRECT_LEGEND)

settings, show_prob = sidebar_settings(patrol, key_prefix="photos_")
threshold, incorrect_threshold = patrol.threshold(settings), patrol.incorrect_threshold(settings)

files = st.file_uploader(
    "Upload photos", type=list(SUPPORTED_EXTENSIONS), accept_multiple_files=True, key="photos_upload",
    help=f"JPEG, PNG, WEBP, BMP, GIF or TIFF, up to {MAX_PIXELS // 1_000_000} megapixels each. "
         "Select several files at once to check a whole set.")
if not files:
    st.info("Upload one or more photos to check who wears a mask. Tune the detector and the "
            "decision threshold in the sidebar; results update as you move a slider.")
    st.stop()

# Analyse all files first (a progress bar for a batch), then show everything. Downloads use
# on_click="ignore": saving a file must not rerun the page under the user's cursor.
progress = st.progress(0.0, text="Starting ...") if len(files) > 1 else None
waiting = st.empty()
judged: list[results.ImageResult] = []
with st.spinner("Looking for faces ...") if progress is None else contextlib.nullcontext():
    for i, f in enumerate(files):
        if progress is not None:
            progress.progress(i / len(files), text=f"Analysing {f.name} ({i + 1} of {len(files)}) ...")
        result = analyze_upload(f.getvalue(), f.name, settings.detector,
                                on_wait=lambda slots: waiting.info(slots_busy_text(slots), icon=":material/hourglass_top:"))
        waiting.empty()
        judged.append(results.relabel(result, threshold, incorrect_threshold))
if progress is not None:
    progress.empty()

if len(judged) > 1:
    st.subheader("Summary")
    st.markdown(f"**{results.overall_summary(judged)}**")
    if results.total_counts(judged).alert:
        text = results.not_masked_text(judged)
        st.warning(f"Across these photos, {text}." if ":" in text else f"{text} across these photos.",
                   icon=":material/warning:")
    st.html(html_table(results.summary_rows(judged, three_class or None)))

with st.container(horizontal=True):
    st.download_button("Results (CSV)", export.to_csv(judged), file_name="mask_patrol_results.csv",
                       mime="text/csv", key="photos_csv", icon=":material/download:", on_click="ignore",
                       help="One row per face: box, label, p(no mask)"
                            + (", p_incorrect (mask below nose)." if three_class else "."))
    st.download_button("Results (JSON)", export.to_json(judged), file_name="mask_patrol_results.json",
                       mime="application/json", key="photos_json", icon=":material/download:", on_click="ignore",
                       help="The same fields as `python -m maskpatrol detect --json`, one item per photo.")

for i, (f, r) in enumerate(zip(files, judged)):
    st.divider()
    st.subheader(r.name)
    if not r.ok:
        st.error(r.error, icon=":material/error:")
        continue
    picture, details = st.columns(2)
    with picture:
        st.image(results.annotated_preview(r, show_prob), caption=f"{r.summary} · {r.width}x{r.height} px",
                 width="stretch")
    with details:
        st.markdown(f"#### {r.summary}")
        if r.first_frame_note:
            st.info(r.first_frame_note, icon=":material/burst_mode:")
        if r.shrunk_note:
            st.info(r.shrunk_note, icon=":material/photo_size_select_large:")
        if r.counts.alert:
            st.warning(f"{results.not_masked_text([r])}.", icon=":material/warning:")
        elif r.faces:
            found = "The face found wears" if len(r.faces) == 1 else f"All {len(r.faces)} faces found wear"
            st.success(f"{found} a mask. A face the detector missed is not checked: look over the photo too.",
                       icon=":material/check_circle:")
        else:
            st.info("No faces found in this photo. Things to try:\n\n"
                    + "\n".join(f"- {tip}" for tip in results.no_face_advice(r, settings.detector)),
                    icon=":material/search:")
        if r.faces:
            st.html(html_table(results.face_rows(r, show_prob, three_class or None), images=("Thumbnail",),
                               headers={"Face": "#", "Thumbnail": "Face"},
                               formats={"p(no mask)": ".3f", "p(mask below nose)": ".3f"}))
            st.download_button(
                "Annotated image (PNG)", file_name=f"{Path(r.name).stem}.annotated.png", mime="image/png",
                key=f"photos_png_{i}", icon=":material/download:", on_click="ignore",
                help=f"At the size the photo was analysed (full size up to {WORK_PIXELS // 1_000_000} megapixels); "
                     "built when you click.",
                data=lambda f=f, r=r, show_prob=show_prob: annotated_download(f.getvalue(), r, show_prob))
