"""Prove Heroku's limits locally: slug size, boot time and memory of the web dyno.

We cannot push to Heroku from CI, so this rebuilds what Heroku would run and measures it:

1. **Slug**: ``requirements.txt`` alone is installed into a fresh, empty virtualenv (no dev
   packages, no TensorFlow), the app files (tracked and new files, minus ``.slugignore``) are
   copied beside it, and both are packed as tar.gz at gzip's default level. Budget: 400 MB,
   which leaves room under Heroku's 500 MB slug limit for the Python runtime itself.
2. **Boot**: the ``web:`` line of the Procfile is parsed and run with ``bash -c`` (as Heroku
   does) from that copy, with ``PORT`` set to a free port, ``HOME`` set to an empty folder and
   only the fresh virtualenv on ``PATH``. ``/_stcore/health`` must answer within 30 s
   (Heroku kills a web process that has not bound ``$PORT`` after 60 s). This script's exit
   code holds to that; ``tests/heroku`` reports the boot time beside a same-machine baseline
   (:func:`import_baseline_s`) instead, since a busy CI machine is not Heroku.
3. **Memory**: headless Chromium visitors upload photos on the Photos page and wait for the
   verdict, while the server's RSS (process and all children) is sampled, with
   ``MASKPATROL_MEMORY_MB=512`` as a Basic dyno's cgroup gives it. Budgets of a 512 MB dyno:
   200 MB after one photo, 300 MB at the peak of a 40 MP photo, 450 MB at the peak of four
   visitors uploading 12 MP photos at the same time.

Usage: ``.venv/bin/python -m pytest tests/heroku`` runs these steps under pytest (marker
``heroku``). By hand, from the project root, with ``tests/`` on the import path as pytest puts
it there (the browser flags and loopback helpers are the tests'):
``PYTHONPATH=tests .venv/bin/python -m scripts.heroku_check [--json FILE]``; exits 1 when a
budget is exceeded.
"""

from __future__ import annotations

import argparse
import fnmatch
import re
import io
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import venv
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Iterator

from support.browser import CHROMIUM_ARGS
from support.net import free_port, wait_healthy as wait_health_check

ROOT = Path(__file__).resolve().parent.parent

SLUG_BUDGET_MB = 400.0
BOOT_BUDGET_S = 30.0
#: Memory budgets of a Basic dyno (512 MB): after one photo, the peak of one 40 MP photo,
#: the peak of four visitors' 12 MP photos at once.
RSS_AFTER_PHOTO_BUDGET_MB = 200.0
RSS_40MP_BUDGET_MB = 300.0
RSS_FOUR_VISITORS_BUDGET_MB = 450.0
#: The dyno's memory, as its cgroup tells the app (this machine's has no limit).
DYNO_MEMORY_MB = 512
MB = 1024 * 1024
#: What a user sees on the Photos page for skimage's astronaut (one bare face).
ASTRONAUT_SUMMARY = "1 face: 0 mask, 1 no mask"
#: Photos as phone cameras take them (support.images.phone_photo: four bare faces).
PHOTO_12MP = (4032, 3024)
PHOTO_40MP = (7296, 5472)
#: Its verdict: the four bare faces called No mask (the detector may box one more thing).
PHONE_PHOTO_VERDICT = re.compile(r"\d+ faces: \d+ mask, 4 no mask")
VISITORS = 4


# --- Procfile and .slugignore ------------------------------------------------------------

def parse_procfile(path: Path) -> dict[str, str]:
    """Process types of a Procfile (``name: command`` per line), as Heroku reads them."""
    processes: dict[str, str] = {}
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, command = line.partition(":")
        if not sep or not name.strip().isidentifier() or not command.strip():
            raise ValueError(f"{path}: not a 'name: command' line: {raw!r}")
        if name.strip() in processes:
            raise ValueError(f"{path}: process type {name.strip()!r} defined twice")
        processes[name.strip()] = command.strip()
    return processes


def slugignore_patterns(path: Path) -> list[str]:
    """Patterns of a ``.slugignore`` (gitignore-like; Heroku does not support ``!`` negation)."""
    if not path.exists():
        return []
    patterns = []
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("!"):
            raise ValueError(f"{path}: Heroku's .slugignore has no '!' negation: {line!r}")
        patterns.append(line)
    return patterns


def is_slugignored(relpath: str, patterns: list[str]) -> bool:
    """Whether Heroku would drop ``relpath`` (a file path relative to the repo, '/'-separated).

    A pattern matches the file or any folder above it; a pattern without an inner '/' matches
    a name at any depth, one with a leading or inner '/' is anchored at the repo root.
    """
    parts = relpath.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    for pattern in patterns:
        dir_only = pattern.endswith("/")
        body = pattern.strip("/")
        anchored = pattern.startswith("/") or "/" in body
        for i, prefix in enumerate(prefixes):
            is_dir = i < len(parts) - 1
            if dir_only and not is_dir:
                continue
            candidate = prefix if anchored else parts[i]
            if fnmatch.fnmatchcase(candidate, body):
                return True
    return False


def repo_files(root: Path = ROOT) -> list[str]:
    """Files a ``git push`` would carry once committed: tracked and new, minus .gitignore'd."""
    out = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                         cwd=root, capture_output=True, check=True, timeout=60).stdout
    names = sorted({n for n in out.decode().split("\0") if n})
    return [n for n in names if (root / n).is_file()]


def app_files(root: Path = ROOT) -> list[str]:
    """The files that end up in the slug: :func:`repo_files` minus ``.slugignore``."""
    patterns = slugignore_patterns(root / ".slugignore")
    return [n for n in repo_files(root) if not is_slugignored(n, patterns)]


def copy_app(root: Path, files: list[str], dest: Path, read_only: bool = True) -> Path:
    """Copy ``files`` into ``dest``; read-only so a write by the app fails (unless run as root)."""
    for name in files:
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / name, target)
    if read_only:
        make_read_only(dest)
    return dest


def make_read_only(folder: Path) -> None:
    for path in sorted(folder.rglob("*"), reverse=True) + [folder]:
        mode = path.stat().st_mode
        path.chmod(mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))


def make_writable(folder: Path) -> None:
    """Undo :func:`make_read_only` so the temporary copy can be deleted."""
    if not folder.exists():
        return
    for path in [folder, *folder.rglob("*")]:
        if not path.is_symlink():
            path.chmod(path.stat().st_mode | stat.S_IWUSR)


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file under ``folder`` with its size and mtime: compare two to see any write."""
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in folder.rglob("*") if p.is_file()}


# --- 1. slug -------------------------------------------------------------------------------

def install_runtime(requirements: Path, dest: Path, timeout: float = 900) -> Path:
    """A fresh virtualenv holding ``requirements`` and nothing else; returns its folder.

    The environment has no pip of its own: this interpreter's pip installs into it with
    ``--python``, so nothing but the requirements (and their dependencies) lands there.
    """
    venv.create(dest, with_pip=False, symlinks=True, clear=True)
    python = dest / "bin" / "python"
    cmd = [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet",
           "--disable-pip-version-check", "--no-input", "-r", str(requirements)]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if out.returncode != 0:
        raise RuntimeError(f"pip install -r {requirements} failed:\n{out.stdout[-4000:]}\n{out.stderr[-4000:]}")
    return dest


def site_packages(runtime: Path) -> Path:
    found = sorted(runtime.glob("lib/python3*/site-packages"))
    if len(found) != 1:
        raise RuntimeError(f"expected one site-packages under {runtime}, found {found}")
    return found[0]


class _CountingSink(io.RawIOBase):
    """A write-only file that keeps only the number of bytes written to it."""

    def __init__(self) -> None:
        self.size = 0

    def writable(self) -> bool:
        return True

    def write(self, b) -> int:  # type: ignore[override]
        n = len(memoryview(b))
        self.size += n
        return n


@dataclass
class SlugSize:
    compressed_bytes: int
    uncompressed_bytes: int
    files: int

    @property
    def compressed_mb(self) -> float:
        return self.compressed_bytes / MB

    @property
    def uncompressed_mb(self) -> float:
        return self.uncompressed_bytes / MB


def slug_size(app_dir: Path, runtime: Path) -> SlugSize:
    """tar.gz size (gzip's default level 6) of the app plus its installed packages.

    Laid out as on a dyno (``app/`` and ``.heroku/python/...``); streamed into a byte counter
    so no half-gigabyte archive is written to disk.
    """
    sink = _CountingSink()
    sp = site_packages(runtime)
    raw = files = 0
    with tarfile.open(fileobj=sink, mode="w:gz", compresslevel=6) as tar:  # type: ignore[call-overload]
        for base, arc in ((app_dir, "app"), (sp, f".heroku/python/{sp.relative_to(runtime)}")):
            for path in sorted(base.rglob("*")):
                if path.is_file() and not path.is_symlink():
                    tar.add(path, arcname=f"{arc}/{path.relative_to(base)}", recursive=False)
                    raw += path.stat().st_size
                    files += 1
    return SlugSize(sink.size, raw, files)


# --- 2. boot -------------------------------------------------------------------------------

def dyno_env(runtime: Path, home: Path, port: int) -> dict[str, str]:
    """A bare environment like a dyno's: the slug's Python first on PATH, nothing inherited."""
    return {"PATH": f"{runtime / 'bin'}:/usr/local/bin:/usr/bin:/bin", "HOME": str(home), "PORT": str(port),
            "LANG": "C.UTF-8", "PYTHONUNBUFFERED": "1", "TMPDIR": str(home),
            "MASKPATROL_MEMORY_MB": str(DYNO_MEMORY_MB)}


@dataclass
class WebProcess:
    """The Procfile's web process, started in its own process group."""

    proc: subprocess.Popen
    port: int
    log_path: Path
    started: float = field(default_factory=time.monotonic)

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def stop(self, grace: float = 10.0) -> None:
        """SIGTERM the process group we created (Heroku does the same), then SIGKILL."""
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(grace)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(grace)
            except ProcessLookupError:
                pass


def start_web(app_dir: Path, env: dict[str, str], log_path: Path) -> WebProcess:
    """Run the Procfile's ``web:`` command line itself, from ``app_dir``, with ``bash -c``."""
    command = parse_procfile(app_dir / "Procfile")["web"]
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(["bash", "-c", command], cwd=app_dir, env=env, stdin=subprocess.DEVNULL,
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    return WebProcess(proc, int(env["PORT"]), log_path)


def wait_healthy(web: WebProcess, timeout: float = 60.0) -> float:
    """Seconds from start until ``/_stcore/health`` answers ``ok``; raises on exit or timeout."""
    def alive() -> None:
        if web.proc.poll() is not None:
            raise RuntimeError(f"web process exited with {web.proc.returncode}:\n{web.log_tail()}")

    left = max(0.0, timeout - (time.monotonic() - web.started))
    try:
        wait_health_check(f"http://127.0.0.1:{web.port}", left, alive, interval=0.1, what="the web process")
    except TimeoutError as exc:
        raise TimeoutError(f"{exc}:\n{web.log_tail()}") from None
    return time.monotonic() - web.started


def import_baseline_s(runtime: Path, env: dict[str, str]) -> float:
    """Seconds the slug's own Python takes to start and ``import streamlit``, cold, measured
    just before the boot: the floor under any boot on this machine at this moment, so a boot
    time read on a busy CI machine can be told from a slower app (the ratio of the two)."""
    started = time.monotonic()
    subprocess.run([str(runtime / "bin" / "python"), "-c", "import streamlit"], env=env, check=True,
                   capture_output=True, timeout=300)
    return time.monotonic() - started


# --- 3. memory -----------------------------------------------------------------------------

class PeakRss:
    """Samples the RSS of a process and all its descendants in a thread; keeps the peak."""

    def __init__(self, pid: int, interval: float = 0.1) -> None:
        import psutil

        self._psutil = psutil
        self._root = psutil.Process(pid)
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="peak-rss", daemon=True)
        self.peak_bytes = 0
        self.samples = 0

    def sample(self) -> int:
        total = 0
        try:
            procs = [self._root, *self._root.children(recursive=True)]
        except self._psutil.Error:
            return 0
        for p in procs:
            try:
                total += p.memory_info().rss
            except self._psutil.Error:
                pass
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak_bytes = max(self.peak_bytes, self.sample())
            self.samples += 1
            self._stop.wait(self._interval)

    def __enter__(self) -> "PeakRss":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(5)
        self.peak_bytes = max(self.peak_bytes, self.sample())

    def restart_peak(self) -> None:
        """Start a new peak from now (the memory of one step)."""
        self.peak_bytes = self.sample()

    @property
    def peak_mb(self) -> float:
        return self.peak_bytes / MB


def write_phone_photo(path: Path, size: tuple[int, int], seed: int = 0) -> Path:
    """A phone-sized JPEG of four bare faces (:func:`support.images.phone_photo`)."""
    from support.images import phone_photo  # NumPy and Pillow: not for docs_figures' import

    path.write_bytes(phone_photo(*size, seed=seed))
    return path


def write_astronaut_png(path: Path) -> Path:
    """The test photo, generated (skimage's astronaut: one unmasked face)."""
    import numpy as np
    from PIL import Image
    from skimage import data

    Image.fromarray(np.ascontiguousarray(data.astronaut())).save(path, format="PNG")
    return path


@contextmanager
def chromium_page(chromium: str) -> Iterator:
    """A fresh headless Chromium page (Playwright, the system's Chromium binary)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            yield context.new_page()
        finally:
            browser.close()


def wait_script_done(page, timeout_ms: int = 60_000) -> None:
    """Wait until Streamlit has finished running the page script."""
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=timeout_ms)


def drive_photo(page, port: int, image: Path, screenshot: Path | None = None) -> str:
    """Open the app, go to Photos as a user would, upload ``image``, wait for the verdict.

    Returns the uploader's instructions as shown before the upload (they state the size limit).
    """
    page.goto(f"http://127.0.0.1:{port}/", timeout=60_000)
    page.locator('a[href$="/photos"]').first.click(timeout=60_000)
    page.wait_for_url("**/photos", timeout=30_000)
    file_input = page.locator('input[type="file"]').first
    file_input.wait_for(state="attached", timeout=60_000)
    instructions = page.locator('[data-testid="stFileUploaderDropzoneInstructions"]')
    limit_text = " ".join(instructions.all_inner_texts())
    file_input.set_input_files(str(image), timeout=60_000)
    page.get_by_text(ASTRONAUT_SUMMARY).first.wait_for(timeout=90_000)
    wait_script_done(page)
    if screenshot is not None:
        page.screenshot(path=str(screenshot), full_page=True)
    return limit_text


def upload_photo(page, port: int, image: Path, timeout_ms: int = 180_000) -> tuple[str, str]:
    """A visitor opens the Photos page, uploads ``image`` and waits for the verdict; returns
    the verdict (the photo's summary, "4 faces: ...") and the page's text then."""
    page.goto(f"http://127.0.0.1:{port}/photos", timeout=60_000)
    file_input = page.locator('input[type="file"]').first
    file_input.wait_for(state="attached", timeout=60_000)
    file_input.set_input_files(str(image), timeout=60_000)
    verdict = page.locator("h4").first
    verdict.wait_for(timeout=timeout_ms)
    wait_script_done(page, timeout_ms)
    return verdict.inner_text(), page.inner_text("body")


def visitors_at_once(chromium: str, port: int, images: list[Path]) -> list[str | None]:
    """One headless Chromium per image, all uploading at the same time; each one's verdict
    (None where a visitor got none: the reason is logged)."""
    verdicts: list[str | None] = [None] * len(images)
    start = threading.Barrier(len(images))

    def visit(i: int) -> None:
        try:
            with chromium_page(chromium) as page:
                page.goto(f"http://127.0.0.1:{port}/photos", timeout=60_000)
                page.locator('input[type="file"]').first.wait_for(state="attached", timeout=60_000)
                start.wait(120)
                verdicts[i], _ = upload_photo(page, port, images[i])
        except Exception as exc:  # noqa: BLE001 - this visitor got no verdict; the others go on
            print(f"visitor {i + 1} got no verdict: {type(exc).__name__}: {exc}", file=sys.stderr)

    threads = [threading.Thread(target=visit, args=(i,), name=f"visitor-{i + 1}") for i in range(len(images))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(600)
    return verdicts


def page_errors(page, port: int, path: str) -> list[str]:
    """Open ``/path`` and return the text of every exception box Streamlit shows there."""
    page.goto(f"http://127.0.0.1:{port}/{path}", timeout=60_000)
    page.locator("h1").first.wait_for(timeout=60_000)
    wait_script_done(page)
    return page.locator('[data-testid="stException"]').all_inner_texts()


#: Pages the photo does not touch; visited so the memory figure covers every page's imports.
OTHER_PAGES = ("", "model", "webcam")


# --- the whole check, for the command line -------------------------------------------------

def run_check(workdir: Path, chromium: str, screenshot: Path | None = None) -> dict[str, float]:
    """All three measurements; returns the figures (the caller compares them to the budgets)."""
    runtime = install_runtime(ROOT / "requirements.txt", workdir / "runtime")
    app = copy_app(ROOT, app_files(ROOT), workdir / "app")
    try:
        size = slug_size(app, runtime)
        home = workdir / "home"
        home.mkdir()
        web = start_web(app, dyno_env(runtime, home, free_port()), workdir / "web.log")
        try:
            with PeakRss(web.proc.pid) as rss:
                boot_s = wait_healthy(web, timeout=60)
                with chromium_page(chromium) as page:
                    drive_photo(page, web.port, write_astronaut_png(workdir / "astronaut.png"), screenshot)
                    after_photo = rss.peak_mb
                    rss.restart_peak()
                    upload_photo(page, web.port, write_phone_photo(workdir / "40mp.jpg", PHOTO_40MP))
                    peak_40mp = rss.peak_mb
                rss.restart_peak()
                photos = [write_phone_photo(workdir / f"12mp_{i}.jpg", PHOTO_12MP, seed=i) for i in range(VISITORS)]
                verdicts = visitors_at_once(chromium, web.port, photos)
                peak_four = rss.peak_mb
                if not all(v and PHONE_PHOTO_VERDICT.fullmatch(v) for v in verdicts):
                    raise RuntimeError(f"not every visitor got the verdict: {verdicts}")
                with chromium_page(chromium) as page:
                    errors = {p: e for p in OTHER_PAGES if (e := page_errors(page, web.port, p))}
                    if errors:
                        raise RuntimeError(f"pages show errors: {errors}")
        finally:
            web.stop()
    finally:
        make_writable(app)
    return {"slug_mb": round(size.compressed_mb, 1), "slug_uncompressed_mb": round(size.uncompressed_mb, 1),
            "boot_s": round(boot_s, 2), "rss_after_photo_mb": round(after_photo, 1),
            "peak_rss_40mp_mb": round(peak_40mp, 1), "peak_rss_four_visitors_mb": round(peak_four, 1),
            "peak_rss_mb": round(rss.peak_mb, 1)}


#: Each memory figure of :func:`run_check` and its budget.
MEMORY_BUDGETS = {"rss_after_photo_mb": RSS_AFTER_PHOTO_BUDGET_MB, "peak_rss_40mp_mb": RSS_40MP_BUDGET_MB,
                  "peak_rss_four_visitors_mb": RSS_FOUR_VISITORS_BUDGET_MB}


def over_budget(figures: dict[str, float]) -> list[str]:
    problems = []
    if figures["slug_mb"] >= SLUG_BUDGET_MB:
        problems.append(f"slug {figures['slug_mb']} MB >= {SLUG_BUDGET_MB:.0f} MB")
    if figures["boot_s"] >= BOOT_BUDGET_S:
        problems.append(f"boot {figures['boot_s']} s >= {BOOT_BUDGET_S:.0f} s")
    for name, budget in MEMORY_BUDGETS.items():
        if figures[name] > budget:
            problems.append(f"{name} {figures[name]} MB > {budget:.0f} MB")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="heroku-check-") as tmp:
        figures = run_check(Path(tmp), args.chromium)
    text = json.dumps(figures, indent=2)
    print(text)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(text + "\n")
    problems = over_budget(figures)
    for p in problems:
        print(f"OVER BUDGET: {p}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
