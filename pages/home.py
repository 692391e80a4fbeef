"""Home page: what Mask Patrol does, how to use each page, and what happens to your pictures."""

import streamlit as st

from maskpatrol.ui import get_patrol

card = get_patrol().card
#: With a 3-class model (the shipped one) every example names the third label too.
below = card.has_incorrect

st.title(":material/masks: Mask Patrol")
st.markdown(
    "Mask Patrol finds every face in a photo or a webcam stream and tells whether that person "
    + ("wears a face mask, and whether it is pulled below the nose. " if below else "wears a face mask. ")
    + "Each face gets a box and a written label with the model's confidence, for example "
    + ("**Mask 97%**, **Mask below nose 87%** or **No mask 88%**." if below else "**Mask 97%** or **No mask 88%**.")
)

#: (page file, heading, what it does, link label): one column each.
PAGES = [
    ("pages/photos.py", ":material/photo_library: Photos",
     "Upload one or more photos (JPEG, PNG, WEBP, BMP, GIF, TIFF). For each you get the "
     "annotated picture, a summary such as "
     + ("*5 faces: 3 mask, 1 mask below nose, 1 no mask*" if below else "*5 faces: 4 mask, 1 no mask*")
     + ", a table of every face, "
     "and downloads of the picture (PNG) and the results (CSV, JSON).", "Check photos"),
    ("pages/webcam.py", ":material/videocam: Live webcam",
     "Point your camera at people; boxes and labels follow them live. "
     "Your browser asks for permission first; nothing is recorded.", "Open the webcam"),
    ("pages/video.py", ":material/movie: Video",
     "Upload a recording (MP4, MOV, M4V, AVI, WEBM, MKV). You get it back with every face boxed and labelled, "
     "a timeline of faces" + (", masks below the nose" if below else "") + " and unmasked faces per second, "
     "and per-frame counts (CSV).", "Annotate a video"),
    ("pages/model.py", ":material/analytics: Model",
     "What the classifier was trained on, how it scores on test faces, its confusion matrix, "
     "ROC and calibration plots, and the mistakes it makes.", "See the model"),
]
for column, (path, heading, text, link) in zip(st.columns(len(PAGES)), PAGES):
    with column:
        st.subheader(heading)
        st.markdown(text)
        st.page_link(path, label=link, icon=":material/arrow_forward:")

st.subheader("Reading the results")
st.markdown(
    "- **Mask**: thin box. "
    + ("**Mask below nose**: dashed box; the nose or mouth is uncovered, so it counts as not properly "
       "masked, like **No mask**. " if below else "")
    + "**No mask**: thick box. The label text is always written, so colour is never the only clue.\n"
    "- The percentage is the model's probability for the label shown. Because missing an unmasked "
    "person costs more than a false alarm, a face is labelled **No mask** from the decision "
    f"threshold up ({card.threshold:.0%} by default), so a *No mask 35%* label is a real "
    "flag, not a weak one.\n"
    "- In the sidebar you can make the detector find more (or fewer) faces and move the decision "
    "threshold: lower catches more unmasked faces but raises more false alarms."
)

st.subheader(":material/lock: Privacy")
st.markdown(
    "Uploads and camera frames are processed in memory and never stored or sent anywhere else. "
    "The one file written is the annotated video, into a temporary file while it is encoded, "
    "deleted as soon as it is finished or cancelled; the finished video then stays in your "
    "session's memory until you leave. So that moving a slider is instant, the results of a photo "
    "(with a reduced preview) stay in the server's memory for at most an hour, then are dropped."
)
