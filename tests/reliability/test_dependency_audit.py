"""Known vulnerabilities in the pinned dependencies: pip-audit, plus what PyPI itself says.

The audited set is this virtualenv, which ``make test`` builds from the locks
requirements-dev.txt and requirements-batch.txt (the first test checks that every pin of
them and of requirements.txt is what is installed), so every package the runtime, the
tests and the batch command install is covered.

pip-audit asks PyPI's per-release JSON (``/pypi/NAME/VERSION/json``) by default. Where
that endpoint is not served (this project's CI reaches package registries through a proxy
that answers only ``/pypi/NAME/json``, and OSV is unreachable), pip-audit reports each
package as "not found" and would pass vacuously. So every package it could not audit is
checked against ``/pypi/NAME/json``, whose ``vulnerabilities`` list is that of the latest
release: exact for a package pinned at its latest release. Any other package is listed as
not audited here (a warning in the test summary and tests/artifacts/pip_audit.json), never
counted as clean.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import urllib.request
import warnings
from concurrent.futures import ThreadPoolExecutor
from importlib import metadata

import pytest
from packaging.utils import canonicalize_name

from support import requirements as reqs
from support.paths import ROOT
from support.required import skip_or_fail

pytestmark = pytest.mark.slow

PYPI = "https://pypi.org/pypi"
AUDIT_TIMEOUT_S = 600
HTTP_TIMEOUT_S = 30


def _installed() -> dict[str, str]:
    return {canonicalize_name(d.metadata["Name"]): d.version for d in metadata.distributions()}


def test_every_pin_is_what_is_installed():
    """What is audited below is what the requirements files pin, not something else."""
    installed = _installed()
    for name in ("requirements.txt", "requirements-dev.txt", "requirements-batch.txt"):
        for entry in reqs.read(ROOT / name):
            version = installed.get(entry.name)
            assert version is not None, f"{entry.name} ({name}) is not installed: run make test"
            assert entry.requirement.specifier.contains(version, prereleases=True), \
                f"{entry.name} {version} installed, {name} pins {entry.requirement.specifier}"


def _pypi_reachable() -> bool:
    try:
        with urllib.request.urlopen(f"{PYPI}/pip/json", timeout=HTTP_TIMEOUT_S) as r:
            return r.status == 200
    except OSError:
        return False


def _project(name: str) -> dict | None:
    try:
        with urllib.request.urlopen(f"{PYPI}/{name}/json", timeout=HTTP_TIMEOUT_S) as r:
            return json.load(r)
    except OSError:
        return None


def _live_vulns(data: dict) -> list[dict]:
    return [v for v in data.get("vulnerabilities") or [] if not v.get("withdrawn")]


def test_no_known_vulnerability_in_pinned_dependencies(tmp_path, artifacts):
    if not _pypi_reachable():
        skip_or_fail("pypi.org is unreachable: the dependency audit needs PyPI's JSON API")
    out = subprocess.run(
        [sys.executable, "-m", "pip_audit", "--progress-spinner", "off", "--format", "json",
         "--cache-dir", str(tmp_path / "cache"), "--desc", "off"],
        cwd=ROOT, capture_output=True, text=True, timeout=AUDIT_TIMEOUT_S)
    assert out.stdout.strip(), f"pip-audit printed nothing (exit {out.returncode}): {out.stderr[-2000:]}"
    deps = json.loads(out.stdout)["dependencies"]
    vulnerable = {d["name"]: [v["id"] for v in d["vulns"]] for d in deps if d.get("vulns")}

    skipped = [d for d in deps if "skip_reason" in d]
    # pip-audit's JSON omits the version of a skipped package; it is in the reason text.
    installed = _installed()
    with ThreadPoolExecutor(max_workers=8) as pool:
        projects = dict(zip([d["name"] for d in skipped], pool.map(_project, [d["name"] for d in skipped])))
    latest_checked, not_audited = [], []
    for d in skipped:
        name = canonicalize_name(d["name"])
        version = installed.get(name) or (re.findall(r"\(([^()]+)\)$", d["skip_reason"]) or ["?"])[-1]
        data = projects[d["name"]]
        if data is None:
            not_audited.append({"name": name, "installed": version, "why": "not on PyPI"})
        elif data["info"]["version"] == version:
            latest_checked.append(name)
            if _live_vulns(data):
                vulnerable[name] = [v["id"] for v in _live_vulns(data)]
        else:
            not_audited.append({"name": name, "installed": version, "latest": data["info"]["version"],
                                "why": "older than PyPI's latest; per-release data unreachable here"})

    report = {"packages": len(deps), "audited_by_pip_audit": len(deps) - len(skipped),
              "audited_as_latest_release": len(latest_checked), "not_audited": not_audited,
              "vulnerable": vulnerable, "pip_audit_exit": out.returncode}
    (artifacts / "pip_audit.json").write_text(json.dumps(report, indent=2) + "\n")
    print("\ndependency audit:", json.dumps({k: v for k, v in report.items() if k != "not_audited"}),
          "not audited:", [f"{x['name']} {x['installed']}" for x in not_audited])
    assert not vulnerable, f"known vulnerabilities: {vulnerable} (see tests/artifacts/pip_audit.json)"
    # The audit must really have looked at almost everything, not passed vacuously.
    audited = report["audited_by_pip_audit"] + report["audited_as_latest_release"]
    assert audited >= 0.75 * len(deps), report
    if not_audited:
        warnings.warn(f"{len(not_audited)} of {len(deps)} packages could not be audited here "
                      f"(see tests/artifacts/pip_audit.json): "
                      + ", ".join(f"{x['name']} {x['installed']}" for x in not_audited), stacklevel=1)
