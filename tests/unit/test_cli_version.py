"""`maskpatrol --version`, and the one place the version is written (maskpatrol/__init__.py)."""

from __future__ import annotations

import importlib.metadata
import tomllib

import pytest

import maskpatrol
from maskpatrol import cli
from support.paths import ROOT
from support.required import skip_or_fail


def test_version_flag_prints_the_package_version_and_exits_0(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out == f"maskpatrol {maskpatrol.__version__}\n"


def test_pyproject_takes_the_version_from_the_package():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "version" not in project["project"], "write the version once, in maskpatrol/__init__.py"
    assert "version" in project["project"]["dynamic"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "maskpatrol.__version__"}
    assert project["project"]["scripts"]["maskpatrol"] == "maskpatrol.cli:main"


def test_installed_metadata_matches_the_package():
    """`make test` installs the package editable; its metadata must carry today's version."""
    try:
        installed = importlib.metadata.version("maskpatrol")
    except importlib.metadata.PackageNotFoundError:
        skip_or_fail("maskpatrol is not installed in this environment (make test installs it: pip install -e .)")
    assert installed == maskpatrol.__version__, "the installed metadata is stale: run `make test` (pip install -e .)"
    [script] = importlib.metadata.entry_points(group="console_scripts", name="maskpatrol")
    assert script.value == "maskpatrol.cli:main"
