"""Photo page: upload images, see every face judged."""

import streamlit as st

from maskpatrol.annotate import annotate
from maskpatrol.images import SUPPORTED_EXTENSIONS, ImageError, load_image
from maskpatrol.pipeline import summarize
from maskpatrol.ui import get_patrol, sidebar_settings

st.title("Photos")
patrol = get_patrol()
settings, show_prob = sidebar_settings(patrol)
files = st.file_uploader("Upload photos", type=list(SUPPORTED_EXTENSIONS), accept_multiple_files=True)
for f in files or []:
    st.subheader(f.name)
    try:
        rgb = load_image(f.getvalue(), name=f.name)
    except ImageError as exc:
        st.error(str(exc))
        continue
    faces = patrol.analyze(rgb, settings)
    st.image(annotate(rgb, faces, show_prob), caption=summarize(faces))
    st.write(summarize(faces))
