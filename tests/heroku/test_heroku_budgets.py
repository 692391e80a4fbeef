"""Heroku's limits, measured on what Heroku would run: slug size, boot time, memory.

The ``slug`` fixture installs ``requirements.txt`` alone into a fresh virtualenv (a minute or
two; pip's download cache helps); ``dyno`` runs the Procfile's own ``web:`` line from a
read-only copy of the slug's app files. Tests run in file order on that one server.

Size and memory are asserted against their budgets (``scripts/heroku_check.py``): they do
not depend on how busy the machine is. Figures and their history: ``docs/performance.md``. Boot time does: it is
reported against its 30 s budget beside a baseline taken on the same machine just before
(the slug's Python importing Streamlit), and the test asserts only that the web process
boots and answers its health check, within a hang guard of twice Heroku's 60 s.
"""

from __future__ import annotations

import json
import shutil
import time
import tomllib
import urllib.error
import urllib.request

import pytest

from scripts import heroku_check as hc

pytestmark = pytest.mark.heroku
ARTIFACT = hc.ROOT / "tests" / "artifacts" / "heroku_check.json"
#: Figures measured in this session, written to ARTIFACT as each one arrives.
FIGURES: dict[str, float] = {}
#: Budgets and units of the figures that have one (others are shown for information).
BUDGETS = {"slug_mb": (hc.SLUG_BUDGET_MB, "MB"), "boot_s": (hc.BOOT_BUDGET_S, "s"),
           **{name: (budget, "MB") for name, budget in hc.MEMORY_BUDGETS.items()}}
#: Seconds the web process gets to answer its health check before the test gives up on it: a
#: bound for a hang, not a speed target (a boot takes 0.5-2 s on a quiet machine).
BOOT_HANG_GUARD_S = 120.0


@pytest.fixture()
def record_figure(capsys, record_property):
    """Keep a figure: JSON artifact, JUnit property, and a line on the terminal even under capture.

    (This folder has no conftest.py of its own, so there is no terminal-summary hook; capture
    is lifted for the one line instead.)
    """

    def record(name: str, value: float) -> None:
        FIGURES[name] = value
        ARTIFACT.parent.mkdir(parents=True, exist_ok=True)
        ARTIFACT.write_text(json.dumps(FIGURES, indent=2) + "\n")
        record_property(name, value)
        budget, unit = BUDGETS.get(name, (None, ""))
        limit = f" (budget < {budget:.0f} {unit})" if budget is not None else ""
        with capsys.disabled():
            print(f"\n[heroku check] {name} = {value}{limit}", flush=True)

    return record


@pytest.fixture(scope="module")
def slug(tmp_path_factory) -> dict:
    """requirements.txt installed alone into a fresh virtualenv, plus a read-only app copy."""
    base = tmp_path_factory.mktemp("slug")
    runtime = hc.install_runtime(hc.ROOT / "requirements.txt", base / "runtime")
    app = hc.copy_app(hc.ROOT, hc.app_files(hc.ROOT), base / "app", read_only=True)
    yield {"runtime": runtime, "app": app, "base": base}
    hc.make_writable(app)
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="module")
def dyno(slug, tmp_path_factory):
    """The Procfile's web process running from the slug, with its RSS sampled from the start."""
    home = tmp_path_factory.mktemp("home")
    env = hc.dyno_env(slug["runtime"], home, hc.free_port())
    import_s = hc.import_baseline_s(slug["runtime"], env)
    web = hc.start_web(slug["app"], env, home.parent / "web.log")
    rss = hc.PeakRss(web.proc.pid)
    try:
        with rss:
            boot_error = None
            try:
                boot_s = hc.wait_healthy(web, timeout=BOOT_HANG_GUARD_S)
            except (RuntimeError, TimeoutError) as exc:
                boot_s, boot_error = None, str(exc)
            yield {"web": web, "rss": rss, "home": home, "boot_s": boot_s, "boot_error": boot_error,
                   "import_s": import_s}
    finally:
        web.stop()


def test_slug_stays_under_400_mb(slug, record_figure):
    size = hc.slug_size(slug["app"], slug["runtime"])
    record_figure("slug_mb", round(size.compressed_mb, 1))
    record_figure("slug_uncompressed_mb", round(size.uncompressed_mb, 1))
    assert size.files > 1000, "the installed packages are missing from the slug"
    assert size.compressed_mb < hc.SLUG_BUDGET_MB, (
        f"slug is {size.compressed_mb:.1f} MB compressed; budget {hc.SLUG_BUDGET_MB:.0f} MB (Heroku's limit: 500)")


def test_runtime_holds_requirements_only(slug):
    """What the dyno runs was installed from requirements.txt alone: no TensorFlow, no pytest."""
    installed = {p.name.split("-")[0].lower() for p in hc.site_packages(slug["runtime"]).glob("*.dist-info")}
    assert {"streamlit", "ai_edge_litert", "numpy"} <= installed, sorted(installed)
    assert not {"tensorflow", "tensorflow_cpu", "keras", "pytest", "playwright"} & installed


def test_procfile_web_line_boots_and_answers_health(dyno, record_figure):
    assert dyno["boot_error"] is None, dyno["boot_error"]
    # A figure beside its same-machine baseline, not a verdict: see the module docstring.
    record_figure("boot_s", round(dyno["boot_s"], 2))
    record_figure("boot_baseline_import_streamlit_s", round(dyno["import_s"], 2))
    record_figure("ratio_boot_to_baseline", round(dyno["boot_s"] / dyno["import_s"], 2))
    # The port came from setup.sh's config in $HOME (the Procfile passes no --server.port).
    config = tomllib.loads((dyno["home"] / ".streamlit" / "config.toml").read_text())
    assert config["server"]["port"] == dyno["web"].port


def test_uploads_without_the_xsrf_token_are_refused(dyno):
    if dyno["boot_error"]:
        pytest.fail(f"the app did not boot: {dyno['boot_error']}")
    request = urllib.request.Request(f"http://127.0.0.1:{dyno['web'].port}/_stcore/upload_file/s/f",
                                     data=b"x", method="PUT")
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.build_opener(urllib.request.ProxyHandler({})).open(request, timeout=10)
    assert err.value.code == 403, f"expected 403 (XSRF), got {err.value.code}: {err.value.read()[:200]!r}"


def test_photo_page_judges_a_photo_on_the_slug(dyno, chromium_path, artifacts, tmp_path, record_figure):
    if dyno["boot_error"]:
        pytest.fail(f"the app did not boot: {dyno['boot_error']}")
    image = hc.write_astronaut_png(tmp_path / "astronaut.png")
    shot = artifacts / "heroku_photo.png"
    with hc.chromium_page(chromium_path) as page:
        started = time.monotonic()
        limit_text = hc.drive_photo(page, dyno["web"].port, image, screenshot=shot)
        record_figure("first_photo_s", round(time.monotonic() - started, 1))
        # The upload limit from setup.sh is what the uploader tells the user.
        assert "25MB per file" in limit_text, limit_text
        assert "_streamlit_xsrf" in {c["name"] for c in page.context.cookies()}
        assert page.locator('[data-testid="stException"]').count() == 0
        dyno["photo_done"] = True
    after_photo = round(dyno["rss"].peak_mb, 1)
    record_figure("rss_after_photo_mb", after_photo)
    assert after_photo <= hc.RSS_AFTER_PHOTO_BUDGET_MB, (
        f"the server took {after_photo} MB up to its first photo; budget {hc.RSS_AFTER_PHOTO_BUDGET_MB:.0f} MB")


def test_a_40_megapixel_photo_is_judged_within_300_mb(dyno, chromium_path, tmp_path, record_figure):
    """The largest photo the page accepts: analysed shrunk (the page says so), the server's
    peak within a Basic dyno's share for it."""
    if not dyno.get("photo_done"):
        pytest.fail("the first photo did not go through, so this figure would mean nothing")
    image = hc.write_phone_photo(tmp_path / "40mp.jpg", hc.PHOTO_40MP)
    dyno["rss"].restart_peak()
    with hc.chromium_page(chromium_path) as page:
        verdict, text = hc.upload_photo(page, dyno["web"].port, image)
    peak = round(dyno["rss"].peak_mb, 1)
    record_figure("peak_rss_40mp_mb", peak)
    assert hc.PHONE_PHOTO_VERDICT.fullmatch(verdict), verdict
    assert "to stay within this server's memory it was analysed at 3648x2736 pixels" in text, text[:2000]
    assert peak <= hc.RSS_40MP_BUDGET_MB, f"peak {peak} MB with a 40 MP photo; budget {hc.RSS_40MP_BUDGET_MB:.0f} MB"


def test_four_visitors_uploading_12_megapixel_photos_at_once_all_get_results(dyno, chromium_path, tmp_path,
                                                                               record_figure):
    """Four visitors at the same moment: the dyno's photo slots (one, at 512 MB) make the
    others wait with a message, and every one of them gets the verdict."""
    if not dyno.get("photo_done"):
        pytest.fail("the first photo did not go through, so this figure would mean nothing")
    photos = [hc.write_phone_photo(tmp_path / f"12mp_{i}.jpg", hc.PHOTO_12MP, seed=i) for i in range(hc.VISITORS)]
    dyno["rss"].restart_peak()
    started = time.monotonic()
    verdicts = hc.visitors_at_once(chromium_path, dyno["web"].port, photos)
    record_figure("four_visitors_s", round(time.monotonic() - started, 1))
    peak = round(dyno["rss"].peak_mb, 1)
    record_figure("peak_rss_four_visitors_mb", peak)
    assert all(v and hc.PHONE_PHOTO_VERDICT.fullmatch(v) for v in verdicts), verdicts
    assert peak <= hc.RSS_FOUR_VISITORS_BUDGET_MB, (
        f"peak {peak} MB with {hc.VISITORS} visitors at once; budget {hc.RSS_FOUR_VISITORS_BUDGET_MB:.0f} MB")


@pytest.mark.parametrize("path", hc.OTHER_PAGES)
def test_other_pages_render_from_the_slug(dyno, chromium_path, path):
    """Pages the photo does not touch still import and render with the slug's files only."""
    if dyno["boot_error"]:
        pytest.fail(f"the app did not boot: {dyno['boot_error']}")
    with hc.chromium_page(chromium_path) as page:
        errors = hc.page_errors(page, dyno["web"].port, path)
    assert not errors, errors


def test_the_server_stays_within_a_basic_dyno_after_every_page(dyno, record_figure):
    """Since the four visitors: every other page visited too (their imports included)."""
    if not dyno.get("photo_done"):
        pytest.fail("no photo went through the Photos page, so the peak RSS would mean nothing")
    rss = dyno["rss"]
    peak_mb = max(rss.peak_mb, rss.sample() / hc.MB)
    record_figure("peak_rss_mb", round(peak_mb, 1))
    assert rss.samples > 10, "the RSS sampler did not run"
    assert peak_mb < hc.RSS_FOUR_VISITORS_BUDGET_MB, (
        f"server peak RSS {peak_mb:.0f} MB; budget {hc.RSS_FOUR_VISITORS_BUDGET_MB:.0f} MB of {hc.DYNO_MEMORY_MB}")
