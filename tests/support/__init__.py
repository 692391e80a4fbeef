"""The one home of the helpers that tests, benchmarks and scripts share.

``tests/`` is on ``sys.path`` under pytest (rootdir conftest). Benchmarks and scripts that use
these helpers run as modules from the root with ``tests/`` on ``PYTHONPATH``, as pytest puts it
there (``PYTHONPATH=tests .venv/bin/python -m benchmarks.bench_api ...``; ``make screenshots``
and ``make docs-figures`` set it), and so does the webcam runner inside its namespace
(``python -m support.webcam_runner``): nothing edits ``sys.path``. ``conftest.py`` keeps
fixtures only and imports what it needs from here:

- :mod:`support.paths`: the repository root and the artifacts folder;
- :mod:`support.images`: generated test pictures (PNG bytes, a drawn mask);
- :mod:`support.net`: a free loopback port, waiting for a server's health check;
- :mod:`support.server`: one real ``streamlit run app.py`` configured as on Heroku;
- :mod:`support.netns`: private network namespaces (root), for servers other machines must not reach;
- :mod:`support.browser`: headless Chromium's flags and what a visitor does on a page;
- :mod:`support.figures`: speed and memory figures written to ``tests/artifacts/``;
- :mod:`support.requirements`: the requirements files and their locks, read as pip reads them;
- :mod:`support.records`: what every front end writes for fixed generated inputs (``tests/data/records/``);
- :mod:`support.required`: skip locally, fail in CI (``MASKPATROL_CI_REQUIRE``): the one switch;
- :mod:`support.cli`: ``python -m maskpatrol ...`` called in the test's own process;
- :mod:`support.api_client`: an API server with given settings, and plain HTTP calls to it;
- :mod:`support.corpus`: the bad-input corpus and the face grids of the load and soak tests;
- :mod:`support.html_table`: a table a page draws, read back by its columns;
- :mod:`support.three_class`: a 3-class (and a binary) model for page tests;
- :mod:`support.keras_subprocess`: a ``.keras`` model run in a child process (never TensorFlow in pytest's);
- :mod:`support.small_data`: a small copy of the data folder, for training runs that show the steps work;
- :mod:`support.video_clip`, :mod:`support.webcam_clip`: clips built at test time, with their faces known;
- :mod:`support.webcam_runner`, :mod:`support.streamlit_logged`: the server-mode webcam session
  inside a network namespace, and the server with the WebRTC libraries' log;
- the ``support.people_*`` modules: a clip of people walking, how well they were followed, and
  the page and browser runs that follow them.
"""
