"""Model page: the model card and the evaluation reports, so users can judge the model.

Layout only: report files and their tables come from ``maskpatrol.reports``. A missing
report is not an error: the page says which command produces it.
"""

import streamlit as st

from maskpatrol import reports
from maskpatrol.detectors import comparison
from maskpatrol.html_table import html_table
from maskpatrol.model_card import ModelNotFoundError, binary_branches, load_card
from maskpatrol.paths import REPORTS_DIR, default_model_dir


def how_to_make(what: str, command: str, why: str = "") -> None:
    st.info(f"{what} not found in `{where}`.{why} Produce it with:", icon=":material/info:")
    st.code(command, language="bash", wrap_lines=True)


report_dir = reports.reports_dir()
where = "reports/" if report_dir == REPORTS_DIR else str(report_dir)

st.title(":material/analytics: Model")
st.caption("What the mask classifier is, what it was trained on and how well it does on faces it never saw.")

try:
    card = load_card(default_model_dir())
except ModelNotFoundError as exc:
    st.error(str(exc))
    st.stop()

raw = card.raw
st.header("Model card")
c1, c2, c3, c4 = st.columns(4)
c1.metric("Input", f"{card.input_size}x{card.input_size} RGB", help="Each face crop is resized to this.")
c2.metric("Decision threshold", f"{card.threshold:.3f}",
          help="A face counts as unmasked when p(no mask) is at or above this.")
if raw.get("model_bytes"):
    c3.metric("Model size", f"{raw['model_bytes'] / 1024:.0f} KB", help="The LiteRT (.tflite) file served.")
if raw.get("date"):
    c4.metric("Trained", str(raw["date"])[:10])
st.markdown(f"**Output**: {raw.get('output', 'probability that the face wears no mask')}.")
if raw.get("blend_weight") is not None:
    share = float(raw["blend_weight"])
    n_binary = len(binary_branches(raw.get("training") or {}))
    who = f"the mean of the {n_binary} mask / no-mask networks" if n_binary > 1 else "the mask / no-mask network"
    st.markdown(f"**Blend**: on mask against no mask, {who} has a share of {share:.2f} and "
                f"the 3-class network {1 - share:.2f}." + (f" Rule: {raw['blend_weight_rule']}." if raw.get(
                    "blend_weight_rule") else ""))
if raw.get("mirror_average"):
    views = raw.get("mirror_comparison") or {}
    loss = {k: views.get(k, {}).get("log_loss") for k in ("face_only", "face_and_mirror")}
    st.markdown("**Mirror**: every network sees each face twice, as it is and mirrored left to right, "
                "and their outputs are averaged (twice the work per face)."
                + (f" Validation log loss {loss['face_only']:.4f} for the face alone, {loss['face_and_mirror']:.4f} "
                   "with its mirror (lower is better)." if None not in loss.values() else ""))
if raw.get("threshold_rule"):
    st.markdown(f"**Threshold rule**: {raw['threshold_rule']}. Lower thresholds miss fewer unmasked "
                "faces but raise more false alarms; the sidebar of the Photos, Live webcam and Video pages "
                "lets you move it.")
if card.incorrect_threshold is not None:
    rule = raw.get("incorrect_threshold_rule")
    st.markdown(f"**Mask below nose threshold**: {card.incorrect_threshold:.3f}. A face not called unmasked "
                "is labelled **Mask below nose** (the mask leaves the nose or mouth uncovered; not properly "
                "masked) when p(mask below nose) is at or above it." + (f" Rule: {rule}" if rule else ""))

training = raw.get("training", {})
if training:
    st.subheader("Training data")
    st.markdown(f"Sources: {', '.join(training.get('sources', [])) or 'not recorded'}; "
                f"{reports.training_time(training)}.")
    counts = training.get("counts", {})
    if counts:
        below = any(isinstance(c, dict) and "incorrect" in c for c in counts.values())
        st.html(html_table([{"Split": split, "Mask": c.get("mask"), "No mask": c.get("no_mask"),
                             **({"Mask below nose": c.get("incorrect")} if below else {})}
                            for split, c in counts.items()]))
if card.metrics:
    st.subheader("Metrics recorded at training time")
    st.html(html_table(reports.metrics_rows(card.metrics)))
three_class = reports.three_class_metrics(card.metrics)
if three_class:
    st.subheader("Three classes: mask, mask below nose, no mask")
    st.caption("Each row is the true class, each column the label the model gave at the shipped thresholds; "
               "the diagonal is right. Precision: of the faces given a label, the share truly of it. "
               "Recall: of the faces truly of a class, the share given its label.")
    for split, m in three_class.items():
        st.markdown(reports.three_class_heading(split, m))
        matrix, per_class = st.columns([3, 2])
        matrix.html(html_table(reports.confusion_rows(m)))
        per_class.html(html_table(reports.per_class_rows(m)))
with st.expander("Preprocessing and the full model card"):
    st.json(raw)

st.header("Evaluation on the test splits")
st.caption("Positive class = no mask (p(no mask) at or above the decision threshold). No-mask recall is the "
           "share of unmasked faces caught; specificity the share of masked faces left alone"
           + (", where a face called Mask below nose counts as left alone: the three-class tables above "
              "show those." if card.has_incorrect else "."))
missing = reports.missing_reports(report_dir)
if len(missing) == len(reports.EVALUATION_FILES):
    st.info(f"No evaluation reports in `{where}` yet ({', '.join(missing)}). Produce them all with:",
            icon=":material/info:")
    st.code(reports.EVALUATE_COMMAND, language="bash", wrap_lines=True)
else:
    metrics = reports.read_json(report_dir / "metrics.json")
    if metrics and isinstance(metrics.get("metrics"), dict):
        st.html(html_table(reports.metrics_rows(metrics["metrics"])))
    else:
        how_to_make("`metrics.json`", reports.EVALUATE_COMMAND)
    # Three plots side by side, the mistakes gallery (wide) below them.
    places = [*st.columns(3), st.container()]
    for place, (file, title, caption) in zip(places, reports.REPORT_FIGURES):
        with place:
            st.subheader(title)
            if (report_dir / file).is_file():
                st.image(str(report_dir / file), caption=caption)
            else:
                how_to_make(f"`{file}`", reports.EVALUATE_COMMAND, reports.UNPUBLISHED.get(file, ""))

st.header("Across data sources")
st.caption("Trained on one source, tested on the other: a model that learned masks, not a source's "
           "framing, keeps its accuracy.")
cross = reports.read_json(report_dir / "cross_source.json") or raw.get("cross_source")
if cross:
    st.html(html_table(reports.cross_source_rows(cross)))
else:
    how_to_make("`cross_source.json`", reports.CROSS_SOURCE_COMMAND)

st.header("Face detectors")
st.caption("The classifier only judges faces a detector found. Pick the detector in the sidebar of the "
           "Photos, Live webcam and Video pages.")
st.markdown(
    "- **YuNet** (the default; OpenCV Zoo's network, run with onnxruntime): a 75,000-parameter neural "
    "detector trained on WIDER FACE, which includes masked, small and partly hidden faces. The photo is "
    "searched at a few scales (the smallest wanted face enlarged enough to be seen, the whole picture "
    "shrunk for a face that fills it; large photos in tiles), so it finds faces from about 16 pixels to "
    "the full frame. Fast enough for every webcam frame.\n"
    "- **Haar cascade** (OpenCV): the classic detector of the original design. It looks for the eyes, "
    "nose and mouth pattern of a frontal face; a mask hides two of the three, so it misses most masked "
    "people.\n"
    "- **BlazeFace short range** (Google MediaPipe, run with LiteRT): sees the whole picture at 128x128 "
    "pixels; for one face close to the camera. Faces narrower than about a tenth of the picture are too "
    "small for it.\n"
    "- **BlazeFace full range**: the same family at 192x192 pixels, for groups a few metres away.\n\n"
    "Each neural detector frames faces a little differently from Haar, so its boxes are moved and scaled "
    "by a fixed, measured amount: the classifier sees the same crop whichever detector ran.")
if comparison.FIGURES:
    st.html(html_table(comparison.rows()))
    st.caption(comparison.method())
    st.code(comparison.COMMAND, language="bash", wrap_lines=True)
