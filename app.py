"""Mask Patrol: Streamlit entry point. Layout only; all work happens in ``maskpatrol``."""

import streamlit as st

st.set_page_config(page_title="Mask Patrol", page_icon="😷", layout="wide")

pages = [
    st.Page("pages/home.py", title="Home", icon="🏠", default=True),
    st.Page("pages/image.py", title="Photos", icon="🖼️", url_path="photos"),
    st.Page("pages/webcam.py", title="Live webcam", icon="🎥", url_path="webcam"),
    st.Page("pages/model.py", title="Model", icon="📊", url_path="model"),
]
st.navigation(pages).run()
