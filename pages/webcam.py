"""Live webcam page (built in its own issue)."""

import streamlit as st

st.title("Live webcam")
st.info("The live webcam page is being built; use the Photos page meanwhile.")
