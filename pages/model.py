"""Model page: the model card."""

import streamlit as st

from maskpatrol.ui import get_patrol

st.title("Model")
st.json(get_patrol().card.raw)
