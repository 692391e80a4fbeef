"""Home page: what Mask Patrol does and how to use it."""

import streamlit as st

st.title("😷 Mask Patrol")
st.markdown(
    """
Mask Patrol finds every face in a photo and tells whether that person wears a face mask.

**Photos**: upload one or more photos; each face gets a box and a label,
*Mask* (green, thin box) or *No mask* (red, thick box), with the model's confidence.

**Privacy**: uploads and camera frames are processed in memory and never stored.
"""
)
