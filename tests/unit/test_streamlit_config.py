"""The limits every host serves with: ``.streamlit/config.toml`` holds them, so a host that
starts Streamlit its own way (Streamlit Community Cloud, Hugging Face Spaces, a VM) gets
the same upload cap and session TTL as a dyno, whose setup.sh adds only its port and
address. Read here as Streamlit itself reads them."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from support.paths import ROOT
from maskpatrol.api.config import MAX_BODY_MB

OPTIONS = ("server.maxUploadSize", "server.disconnectedSessionTTL", "server.enableXsrfProtection",
           "server.enableCORS", "browser.gatherUsageStats", "server.address")


def repo_config() -> dict:
    return tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())


def setup_sh_config(home: Path) -> dict:
    subprocess.run(["sh", "setup.sh"], cwd=ROOT, env={"HOME": str(home), "PORT": "8123", "PATH": "/usr/bin:/bin"},
                   check=True, capture_output=True, timeout=30)
    return tomllib.loads((home / ".streamlit" / "config.toml").read_text())


def streamlit_options(home: Path) -> dict:
    """The options ``streamlit run app.py`` in the repository would serve with, for this $HOME."""
    code = ("import json, sys; from streamlit import config; from streamlit.web import bootstrap; "
            "bootstrap.load_config_options({}); "
            f"print(json.dumps({{o: config.get_option(o) for o in {OPTIONS!r}}}))")
    env = {"HOME": str(home), "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_the_repository_config_holds_the_limits_for_every_host():
    config = repo_config()
    assert config["server"]["maxUploadSize"] == MAX_BODY_MB == 25  # the API takes what the pages take
    assert config["server"]["disconnectedSessionTTL"] == 15
    assert config["server"]["enableXsrfProtection"] is True and config["server"]["enableCORS"] is True
    assert config["browser"]["gatherUsageStats"] is False
    assert "address" not in config["server"] and "port" not in config["server"], "where to listen is each host's"


@pytest.mark.parametrize("dyno", [False, True], ids=["a-host-without-setup-sh", "a-dyno"])
def test_streamlit_serves_with_the_same_limits_with_or_without_setup_sh(tmp_path, dyno):
    if dyno:
        setup_sh_config(tmp_path)
    options = streamlit_options(tmp_path)
    assert options["server.maxUploadSize"] == 25 and options["server.disconnectedSessionTTL"] == 15
    assert options["server.enableXsrfProtection"] is True and options["server.enableCORS"] is True
    assert options["browser.gatherUsageStats"] is False
    assert options["server.address"] == ("0.0.0.0" if dyno else None)  # the dyno's own setting


def test_setup_sh_repeats_no_setting_of_the_repository_config_with_another_value(tmp_path):
    """Where both set a key the repository's wins, so a different value in setup.sh would be
    a dead letter that misleads whoever reads it."""
    dyno, repo = setup_sh_config(tmp_path), repo_config()
    for section, values in repo.items():
        for key, value in values.items():
            if key in dyno.get(section, {}):
                assert dyno[section][key] == value, f"[{section}] {key}: setup.sh {dyno[section][key]!r}, " \
                                                    f".streamlit/config.toml {value!r}"
