"""Mask Patrol: Streamlit entry point, started by ``streamlit run app.py`` (Procfile, ``make run``).

This file has two roles, told apart by the name Python gives it:

- Streamlit runs it for every browser session as the module ``__main__``: the page layout
  below (layout only; all work happens in ``maskpatrol``).
- ``streamlit run`` first imports it as the module ``app`` to look for an ``st.App``; finding
  one, it serves it with uvicorn on the usual address, port and flags. That app runs this
  same file for the pages and adds the HTTP API (:mod:`maskpatrol.api`, under ``/api/v1``)
  on the same port, so one dyno and one ``$PORT`` serve both.
"""

import streamlit as st

from maskpatrol.logs import apply_log_level
from maskpatrol.memory import tune_allocator

apply_log_level()  # MASKPATROL_LOG_LEVEL, read once per process
tune_allocator()  # freed picture buffers go back to the system (maskpatrol/memory.py)

if __name__ == "__main__":
    from maskpatrol.history import access as history_access

    st.set_page_config(page_title="Mask Patrol", page_icon="😷", layout="wide")

    pages = [
        st.Page("pages/home.py", title="Home", icon=":material/home:", default=True),
        st.Page("pages/photos.py", title="Photos", icon=":material/photo_library:"),
        st.Page("pages/webcam.py", title="Live webcam", icon=":material/videocam:"),
        st.Page("pages/video.py", title="Video", icon=":material/movie:"),
        st.Page("pages/model.py", title="Model", icon=":material/analytics:"),
        *([st.Page("pages/history.py", title="History", icon=":material/history:")]
          if history_access(None, st.get_option("server.address")).listed else []),
    ]
    st.navigation(pages).run()
else:
    import os

    from streamlit.runtime.pages_manager import PagesManager

    from maskpatrol.api import api_routes, load_config

    # The pages live in pages/, which Streamlit's legacy multipage mode also looks for: until
    # this script has called st.navigation once, a fresh server answers a first visit to a
    # page's address (a bookmark to /webcam after a dyno restart) by running that page file
    # alone, with the folder's file names as the menu. Our st.navigation is the only menu.
    PagesManager.uses_pages_directory = False
    # `streamlit run` has applied its flags, the config files and STREAMLIT_* variables before
    # it imports this module, so server.address is the address it is about to listen on, which
    # decides whether the API may be served without a token. Root-level secrets become
    # variables when Streamlit loads them, after this import; loading them now lets a token
    # set as a secret (Streamlit Community Cloud's only way to set one) count, while a variable
    # still wins over a secret of the same name. A setting that cannot work raises
    # ApiConfigError here, and the server stops before it serves anything.
    variables = dict(os.environ)
    st.secrets.load_if_toml_exists()
    api_config = load_config({**os.environ, **variables}, st.get_option("server.address"))
    app = st.App(__file__, routes=api_routes(api_config))
