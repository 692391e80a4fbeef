"""The README's pictures of the app, made the way the browser tests see it: ``make screenshots``.

Why a script and not a test: the pictures are committed to ``docs/images/`` and should change
only when someone means to refresh them, while the browser tests run on every ``make test``.
It reuses the tests' harness rather than a second one: ``tests/support/server.py`` starts the
app as a Heroku dyno runs it and gives the Chromium flags, ``tests/support/webcam_clip.py`` writes
the fake camera's clip, ``tests/support/webcam_runner.py`` reads the webcam panel.

Only pictures we may publish go in: scikit-image's astronaut (public domain), as it is and
with a mask drawn by ``paint_mask`` (``tests/support/images.py``); never a dataset face.
Before any picture is taken, the pipeline must label the faces as we say (mask, mask below
nose, no mask), so the screenshots show the app doing what the README claims. Needs
Debian's Chromium; no data folder. Each page is reached from ``/`` through the sidebar, as a visitor does.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

# The tests' harness, imported as the tests import it: `make screenshots` sets
# PYTHONPATH=tests, the folder pytest puts on the path for the tests.
from support.images import paint_mask, png_bytes
from support.browser import BROWSER_MODE_CAMERA_ARGS, CHROMIUM_ARGS, PHOTOS_SETTLED_JS
from support.server import streamlit_server
from support.webcam_clip import FACE_SIDE, compose, frame_offsets, scene_is_clean, write_y4m
from support.webcam_runner import METRICS_JS, to_number, wait_for

ROOT = Path(__file__).resolve().parent.parent

OUT_DIR = ROOT / "docs" / "images"
VIEWPORT = {"width": 1400, "height": 950}
#: The Live webcam page's own "Smallest face" default: the clip must read cleanly at it.
WEBCAM_MIN_FACE_PX = 80
#: Colours in the saved PNGs: a palette keeps each file small (~100-200 kB) at full size.
PALETTE_COLOURS = 256


class ScreenshotError(RuntimeError):
    """A picture could not be made as promised; the message says what to look at."""


def astronaut_faces(patrol) -> tuple[np.ndarray, np.ndarray, tuple[int, int, int, int]]:
    """skimage's astronaut, bare and with a drawn mask, and her face box (default detector)."""
    from skimage import data

    bare = np.ascontiguousarray(data.astronaut())
    faces = patrol.analyze(bare)
    if len(faces) != 1 or faces[0].label != "no_mask":
        raise ScreenshotError(f"expected one unmasked face on the astronaut, the pipeline found {faces}")
    return bare, paint_mask(bare, faces[0].box), faces[0].box


def photos_picture(patrol) -> np.ndarray:
    """Three people side by side, the astronaut each time: a drawn mask worn properly (left,
    mirrored), the same mask pulled below the nose, and no mask (right, mirrored)."""
    bare, masked, (x, y, w, h) = astronaut_faces(patrol)
    below = paint_mask(bare, (x, y, w, h), worn="below_nose")
    # Head and shoulders only, so the faces are large on the page (the picture column is narrow).
    top, left = max(0, y - h // 2), max(0, x - w)
    bottom, right = min(bare.shape[0], y + 2 * h + h // 2), min(bare.shape[1], x + 2 * w)
    crop = np.s_[top:bottom, left:right]
    picture = np.ascontiguousarray(np.concatenate([masked[crop][:, ::-1], below[crop], bare[crop][:, ::-1]], axis=1))
    labels = [f.label for f in sorted(patrol.analyze(picture), key=lambda f: f.box[0])]
    if labels != ["mask", "incorrect", "no_mask"]:
        raise ScreenshotError("the photo should read mask, mask below nose, no mask from left to right; "
                              f"the pipeline says {labels}")
    return picture


def webcam_faces(patrol) -> list[np.ndarray]:
    """The two face squares the fake camera shows (masked left, bare right), checked at the
    page's 80 px "Smallest face" on clean and codec-damaged frames, as the webcam tests do."""
    import cv2
    from maskpatrol.detectors import DetectorSettings
    from maskpatrol.pipeline import Settings

    bare, masked, (x, y, w, h) = astronaut_faces(patrol)
    side = int(w * 2.0)  # the face with hair and shoulders, as a camera frames a person
    x0 = max(0, min(bare.shape[1] - side, x + w // 2 - side // 2))
    y0 = max(0, min(bare.shape[0] - side, y + h // 2 - int(side * 0.45)))
    squares = [cv2.resize(img[y0:y0 + side, x0:x0 + side], (FACE_SIDE, FACE_SIDE), interpolation=cv2.INTER_AREA)
               for img in (masked, bare)]

    class AtPageDefaults:
        """The pipeline as the Live webcam page runs it (default detector, 80 px)."""
        card = patrol.card
        settings = Settings(DetectorSettings(min_face_px=WEBCAM_MIN_FACE_PX))

        def analyze(self, rgb, settings=None, timings=None):
            return patrol.analyze(rgb, self.settings, timings=timings)

    if not scene_is_clean(AtPageDefaults(), squares, ["mask", "no_mask"]):
        raise ScreenshotError("the webcam clip's faces are not read cleanly as mask, no mask at 80 px")
    return squares


def save_small(png: Path, out: Path) -> None:
    """The browser's PNG as a palette PNG (GitHub shows PNG everywhere)."""
    Image.open(png).convert("RGB").quantize(PALETTE_COLOURS, method=Image.Quantize.MEDIANCUT,
                                            dither=Image.Dither.NONE).save(out, optimize=True)


def open_page(page, url: str, link: str, heading: str) -> None:
    """Home first, then the sidebar link: a first request straight to a sub-page of a fresh
    server shows Streamlit's own page list instead of the app's navigation."""
    page.goto(url, wait_until="domcontentloaded", timeout=90_000)
    page.get_by_test_id("stSidebarNav").get_by_text(link, exact=True).click(timeout=90_000)
    page.get_by_role("heading", name=heading).wait_for(timeout=90_000)


def shoot_photos(browser, url: str, picture: np.ndarray, work: Path) -> Path:
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    try:
        open_page(page, url, "Photos", "Photos")
        uploader = page.get_by_test_id("stFileUploaderDropzoneInput")
        uploader.wait_for(state="attached", timeout=90_000)
        uploader.set_input_files([{"name": "three_people.png", "mimeType": "image/png", "buffer": png_bytes(picture)}])
        page.get_by_text("3 faces: 1 mask, 1 mask below nose, 1 no mask", exact=True).first.wait_for(timeout=120_000)
        page.wait_for_function(PHOTOS_SETTLED_JS, arg=1, timeout=120_000)
        img = page.get_by_test_id("stImage").locator("img").first
        page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=img.element_handle(),
                               timeout=30_000)
        # The table of faces: its thumbnails loaded.
        thumb = page.locator("table.mp-table img").first
        thumb.wait_for(timeout=60_000)
        page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=thumb.element_handle(),
                               timeout=30_000)
        page.mouse.move(5, 5)
        page.wait_for_timeout(3000)
        shot = work / "photos.png"
        page.screenshot(path=str(shot))
        return shot
    finally:
        context.close()


def shoot_webcam(chromium: str, url: str, clip: Path, work: Path) -> Path:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, timeout=60_000, args=CHROMIUM_ARGS
                                     + BROWSER_MODE_CAMERA_ARGS + [f"--use-file-for-fake-video-capture={clip}"])
        try:
            page = browser.new_page(viewport=VIEWPORT)
            page.goto(url, wait_until="domcontentloaded", timeout=90_000)
            page.get_by_role("link", name=re.compile("Live webcam")).first.click(timeout=90_000)
            page.get_by_role("heading", name="Live webcam").wait_for(timeout=90_000)
            page.get_by_role("button", name="Start", exact=True).click(timeout=60_000)

            def counts() -> dict[str, float | None]:
                return {k: to_number(v) for k, v in page.evaluate(METRICS_JS).items()}

            wait_for(lambda: counts().get("Masked") == 1 and counts().get("No mask") == 1, 120,
                     "the panel to count 1 masked and 1 unmasked face")
            time.sleep(8.0)  # the FPS reading and the last-minute chart fill up
            now = counts()
            if (now.get("Masked"), now.get("No mask")) != (1, 1):
                raise ScreenshotError(f"the panel changed to {now} before the picture")
            page.mouse.move(5, 5)
            shot = work / "webcam.png"
            page.screenshot(path=str(shot))
            return shot
        finally:
            browser.close()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=OUT_DIR)
    args = p.parse_args(argv)
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(chromium).exists():
        print("Debian's chromium is needed for the screenshots: apt-get install chromium", file=sys.stderr)
        return 2
    from maskpatrol.pipeline import MaskPatrol
    from playwright.sync_api import Error as PlaywrightError, sync_playwright

    patrol = MaskPatrol.load()
    args.out.mkdir(parents=True, exist_ok=True)
    try:
        picture = photos_picture(patrol)
        squares = webcam_faces(patrol)
        with tempfile.TemporaryDirectory(prefix="maskpatrol_shots_") as tmp:
            work = Path(tmp)
            clip = work / "clip.y4m"
            write_y4m(clip, (compose(squares, dx) for dx in frame_offsets(100)))
            # As a dyno without TURN runs it: the Live webcam page starts in the browser mode.
            env = {"DYNO": "web.1", "MASKPATROL_TURN_URL": "", "MASKPATROL_ANALYSE_IN": ""}
            with streamlit_server(work, extra_env=env) as server:
                with sync_playwright() as pw:
                    browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
                    try:
                        photos = shoot_photos(browser, server.url, picture, work)
                    finally:
                        browser.close()
                webcam = shoot_webcam(chromium, server.url, clip, work)
            for shot, name in ((photos, "photos_page.png"), (webcam, "live_webcam_page.png")):
                save_small(shot, args.out / name)
                print(f"wrote {args.out / name} ({(args.out / name).stat().st_size // 1024} kB)")
    except (ScreenshotError, TimeoutError, RuntimeError, PlaywrightError) as exc:
        print(f"screenshots not made: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
