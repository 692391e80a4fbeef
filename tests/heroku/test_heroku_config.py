"""Procfile, setup.sh, .python-version and .slugignore: what Heroku reads before the app runs."""

from __future__ import annotations

import ast
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from scripts import heroku_check as hc

pytestmark = pytest.mark.heroku
ROOT = hc.ROOT


def run_setup(app: Path, home: Path, port: str | None) -> subprocess.CompletedProcess:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home)}
    if port is not None:
        env["PORT"] = port
    return subprocess.run(["sh", "setup.sh"], cwd=app, env=env, capture_output=True, text=True, timeout=30)


@pytest.fixture()
def read_only_app(tmp_path) -> Path:
    app = hc.copy_app(ROOT, hc.app_files(ROOT), tmp_path / "app", read_only=True)
    yield app
    hc.make_writable(app)


def test_procfile_web_runs_setup_then_streamlit_app():
    processes = hc.parse_procfile(ROOT / "Procfile")
    assert list(processes) == ["web"], "Heroku needs exactly the web process for this app"
    words = shlex.split(processes["web"])
    assert words[:2] in (["sh", "setup.sh"], ["bash", "setup.sh"]) and words[2] == "&&", words
    command = [w for w in words[3:] if "=" not in w or w.startswith("-")]  # drop VAR=value prefixes
    assert command[:3] == ["streamlit", "run", "app.py"], words
    # Fewer glibc malloc arenas keep the server's memory flat across webcam sessions.
    assert "MALLOC_ARENA_MAX=2" in words[3:], words
    # The port must come from the config setup.sh writes from $PORT, not a flag that could drift.
    assert not any(w.startswith("--server.port") for w in words), words


def test_parse_procfile_refuses_malformed_lines(tmp_path):
    bad = tmp_path / "Procfile"
    bad.write_text("web streamlit run app.py\n")
    with pytest.raises(ValueError):
        hc.parse_procfile(bad)
    bad.write_text("web: a\nweb: b\n")
    with pytest.raises(ValueError):
        hc.parse_procfile(bad)


def test_setup_sh_writes_heroku_config_into_home_only(read_only_app, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    before = hc.snapshot(read_only_app)

    first = run_setup(read_only_app, home, "41234")
    assert first.returncode == 0, first.stderr
    config_path = home / ".streamlit" / "config.toml"
    config = tomllib.loads(config_path.read_text())
    assert config["server"]["port"] == 41234
    assert config["server"]["address"] == "0.0.0.0"
    assert config["server"]["headless"] is True
    assert config["server"]["enableXsrfProtection"] is True
    # Streamlit 1.67 warns that cross-origin access is unlimited when CORS is off; keep it on.
    assert config["server"]["enableCORS"] is True
    assert 10 <= config["server"]["maxUploadSize"] <= 50, "photos, not videos, go through the uploader"
    assert config["browser"]["gatherUsageStats"] is False

    # Safe to run twice: same file, nothing appended, nothing else left in HOME.
    text = config_path.read_text()
    second = run_setup(read_only_app, home, "41234")
    assert second.returncode == 0, second.stderr
    assert config_path.read_text() == text
    assert sorted(str(p.relative_to(home)) for p in home.rglob("*")) == [".streamlit", ".streamlit/config.toml"]
    # A new dyno start with another $PORT replaces the port.
    assert run_setup(read_only_app, home, "41235").returncode == 0
    assert tomllib.loads(config_path.read_text())["server"]["port"] == 41235
    # The app folder was never written to.
    assert hc.snapshot(read_only_app) == before


def test_setup_sh_refuses_a_non_numeric_port_and_defaults_without_one(read_only_app, tmp_path):
    bad = run_setup(read_only_app, tmp_path, "80; rm -rf /")
    assert bad.returncode != 0 and "PORT must be a number" in bad.stderr
    assert not (tmp_path / ".streamlit" / "config.toml").exists()
    ok = run_setup(read_only_app, tmp_path, None)
    assert ok.returncode == 0, ok.stderr
    assert tomllib.loads((tmp_path / ".streamlit" / "config.toml").read_text())["server"]["port"] == 8501


def test_python_version_pins_the_interpreter_we_test_with():
    pinned = (ROOT / ".python-version").read_text().strip()
    assert pinned.count(".") == 1 and all(p.isdigit() for p in pinned.split(".")), \
        f"Heroku wants major.minor (e.g. 3.11) so it picks up security releases, got {pinned!r}"
    # The slug check installs requirements.txt for this interpreter, so this is the tested set.
    assert pinned == f"{sys.version_info.major}.{sys.version_info.minor}"
    assert not (ROOT / "runtime.txt").exists(), "runtime.txt is deprecated and would override .python-version"


def test_slugignore_keeps_what_the_app_needs_and_drops_the_rest():
    shipped = set(hc.app_files(ROOT))
    needed = {"Procfile", "setup.sh", ".python-version", "requirements.txt", "app.py",
              "haarcascade_frontalface_default.xml", "models/mask_classifier.tflite", "models/model_card.json",
              "maskpatrol/pipeline.py", "maskpatrol/ui.py", "pages/photos.py"}
    assert needed <= shipped, sorted(needed - shipped)
    for prefix in ("tests/", "benchmarks/", "scripts/", "maskpatrol/training/"):
        assert not any(f.startswith(prefix) for f in shipped), prefix
    assert not any(f.endswith(".keras") for f in shipped)
    assert "requirements-dev.txt" not in shipped


def test_slugignore_matching_follows_gitignore_rules():
    patterns = ["/tests/", "*.ipynb", "/models/*.keras", "docs"]
    assert hc.is_slugignored("tests/unit/test_a.py", patterns)
    assert not hc.is_slugignored("maskpatrol/tests.py", patterns)
    assert hc.is_slugignored("notebooks/explore.ipynb", patterns)
    assert hc.is_slugignored("models/mask_classifier.keras", patterns)
    assert not hc.is_slugignored("models/mask_classifier.tflite", patterns)
    assert hc.is_slugignored("a/docs/x.png", patterns)


def _module_files(module: str) -> set[str]:
    path = module.replace(".", "/")
    return {f"{path}.py", f"{path}/__init__.py"}


def _maskpatrol_imports(path: Path) -> set[str]:
    """Every ``maskpatrol`` module a file imports, including ``from pkg import submodule``."""
    modules: set[str] = set()
    maybe: set[str] = set()  # "from pkg import name": a module only if such a file exists
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            modules |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative import inside the package
                package = ".".join(path.relative_to(ROOT).with_suffix("").parts[: -node.level])
                base = f"{package}.{node.module}" if node.module else package
            else:
                base = node.module or ""
            modules.add(base)
            maybe |= {f"{base}.{a.name}" for a in node.names}
    repo = set(hc.repo_files(ROOT))
    modules |= {m for m in maybe if _module_files(m) & repo}
    return {m for m in modules if m.split(".")[0] == "maskpatrol"}


def test_no_shipped_module_imports_a_file_the_slug_drops():
    shipped = set(hc.app_files(ROOT))
    missing = {}
    for name in sorted(f for f in shipped if f.endswith(".py")):
        for module in _maskpatrol_imports(ROOT / name):
            if not _module_files(module) & shipped:
                missing.setdefault(name, []).append(module)
    assert not missing, f"the slug drops modules these files import: {missing}"
