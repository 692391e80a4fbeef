"""Shared fixtures, and fixtures only: the helpers they use live in ``tests/support/``.
Every committed test image is generated, never copied."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from support.images import png_bytes
from support.paths import ARTIFACTS, module_of
from support.required import skip_or_fail

# Each test's wall and CPU time, to tests/artifacts/test_cost.json.
pytest_plugins = ["support.cost"]


#: Modules that play a clip to Chromium's fake camera in real time and count what the page
#: saw: run one after another on one worker, never two at once (each is a Chromium and a
#: server at full tilt; two together starve both, and the counts are what they test).
REAL_TIME_CLIPS = ("tests/e2e/test_people_live.py", "tests/e2e/test_webcam.py",
                   "tests/e2e/test_webcam_browser_mode.py")
#: A module with any of these marks is costly: it is handed out before the cheap ones, so that
#: no long module starts last and ends the run alone.
COSTLY = ("slow", "browser", "heroku")


def pytest_collection_modifyitems(config, items):
    """The real-time clip modules first, then the costly ones, then the rest; each module's
    tests keep their order."""
    costly = {module_of(item.nodeid) for item in items if any(item.get_closest_marker(m) for m in COSTLY)}
    items.sort(key=lambda item: (module_of(item.nodeid) not in REAL_TIME_CLIPS, module_of(item.nodeid) not in costly))


def pytest_xdist_make_scheduler(config, log):
    """How ``make test``'s two workers (pytest-xdist, ``-n 2``) share the suite: each module
    goes whole to one worker, so its module fixtures (a server, a browser session) are made
    once; the real-time clip modules go together, one after another. Handed out in the order
    above (``--no-loadscope-reorder``). A scheduler of our own, not ``--dist loadgroup``: with
    pytest 9.2 that mode no longer sees ``xdist_group`` marks (pytest-xdist issue 1386) and
    hands out tests one by one, building each module fixture once per worker."""
    from xdist.scheduler import LoadScopeScheduling

    class ModuleScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            module = module_of(nodeid)
            return "real-time clips" if module in REAL_TIME_CLIPS else module

    return ModuleScheduling(config, log)


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The training-data folder; skip (or fail, in CI: ``support.required``) when it is absent."""
    value = os.environ.get("MASKPATROL_DATA_DIR")
    path = Path(value) if value else None
    if path is None or not (path / "faces").is_dir():
        skip_or_fail(f"training data not found: set MASKPATROL_DATA_DIR to the folder holding faces/ "
                     f"(got {value!r})")
    return path


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
    if path is None:
        skip_or_fail("Debian's chromium is not installed (apt-get install chromium)")
    return path


@pytest.fixture(scope="session")
def network_namespace() -> None:
    """Private network namespaces can be made (root, unshare, ip); skip (or fail, in CI)
    when not."""
    from support.netns import namespace_unavailable

    reason = namespace_unavailable()
    if reason is not None:
        skip_or_fail(reason)


@pytest.fixture(scope="module")
def browser(chromium_path):
    """Headless Debian Chromium driven by Playwright (sync API), one per test module."""
    from playwright.sync_api import sync_playwright

    from support.browser import CHROMIUM_ARGS

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def astronaut_rgb() -> np.ndarray:
    from skimage import data

    return np.ascontiguousarray(data.astronaut())


@pytest.fixture(scope="session")
def astronaut_png(astronaut_rgb, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("img") / "astronaut.png"
    path.write_bytes(png_bytes(astronaut_rgb))
    return path


@pytest.fixture(scope="session")
def patrol():
    from maskpatrol.pipeline import MaskPatrol

    return MaskPatrol.load()


@pytest.fixture(scope="session")
def postgres_cluster():
    """A running throwaway cluster; skipped (failed in CI) without PostgreSQL or psycopg."""
    from support.postgres import PG_BIN, PgCluster

    if not (PG_BIN / "initdb").exists():
        skip_or_fail(f"PostgreSQL is not installed ({PG_BIN}/initdb missing): apt-get install -y postgresql")
    try:
        import psycopg  # noqa: F401
    except ImportError:
        skip_or_fail('psycopg is not installed: pip install "psycopg[binary]"')
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        skip_or_fail("running as root without runuser: cannot start PostgreSQL as the postgres user")
    cluster = PgCluster()
    try:
        cluster.init()
        cluster.start()
    except BaseException:
        cluster.destroy()
        raise
    yield cluster
    cluster.destroy()


@pytest.fixture
def postgres_url(postgres_cluster) -> str:
    """A fresh database in the throwaway cluster."""
    return postgres_cluster.create_database()
