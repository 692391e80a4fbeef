"""The one home of the helpers that tests, benchmarks and scripts share.

``tests/`` is on ``sys.path`` under pytest (rootdir conftest); benchmarks and scripts put it
there themselves. ``conftest.py`` keeps fixtures only and imports what it needs from here:

- :mod:`support.paths`: the repository root and the artifacts folder;
- :mod:`support.images`: generated test pictures (PNG bytes, a drawn mask);
- :mod:`support.net`: a free loopback port, waiting for a server's health check;
- :mod:`support.server`: one real ``streamlit run app.py`` configured as on Heroku;
- :mod:`support.netns`: private network namespaces (root), for servers other machines must not reach;
- :mod:`support.browser`: headless Chromium's flags and what a visitor does on a page;
- :mod:`support.figures`: speed and memory figures written to ``tests/artifacts/``;
- :mod:`support.requirements`: the requirements files and their locks, read as pip reads them;
- :mod:`support.records`: what every front end writes for fixed generated inputs (``tests/data/records/``).
"""
