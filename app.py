"""Mask Patrol: Streamlit entry point. Layout only; all work happens in ``maskpatrol``."""

import streamlit as st

st.set_page_config(page_title="Mask Patrol", page_icon="😷", layout="wide")

pages = [
    st.Page("pages/home.py", title="Home", icon=":material/home:", default=True),
    st.Page("pages/photos.py", title="Photos", icon=":material/photo_library:"),
    st.Page("pages/webcam.py", title="Live webcam", icon=":material/videocam:"),
    st.Page("pages/video.py", title="Video", icon=":material/movie:"),
    st.Page("pages/model.py", title="Model", icon=":material/analytics:"),
]
st.navigation(pages).run()
