"""Skip locally, fail in CI: the one switch for what a test needs and may not find.

A test that needs the data folder, Chromium, a network namespace, a package only ``make
test`` installs, or anything else a developer's machine may lack is skipped with the reason
locally. In CI nothing may be skipped for want of it: ``.ci/run`` sets
``MASKPATROL_CI_REQUIRE=1``, and the same reason fails the test instead.

A variable of our own rather than ``CI``: tests start processes with ``CI`` emptied
(``tests/reliability/test_onnxruntime_telemetry.py``: onnxruntime behaves otherwise on a
machine it takes for CI), and some hosts set ``CI`` on machines that are not ours to judge.
"""

from __future__ import annotations

import importlib.util
import os
from typing import NoReturn

import pytest

#: ``1`` (any value but empty or ``0``): what a test needs must be there.
VARIABLE = "MASKPATROL_CI_REQUIRE"


def required() -> bool:
    """True when missing requirements fail tests (CI) instead of skipping them."""
    return os.environ.get(VARIABLE, "") not in ("", "0")


def skip_or_fail(reason: str) -> NoReturn:
    """Skip this test with ``reason``, or fail it with the same reason under the switch."""
    if required():
        pytest.fail(f"{reason} ({VARIABLE} is set: nothing may be skipped)")
    pytest.skip(reason, allow_module_level=True)  # also from a module's top, for an import


def require_module(name: str, reason: str) -> None:
    """``skip_or_fail(reason)`` unless module ``name`` can be imported (call it at the top of a
    test module that needs an optional package, before importing it)."""
    if importlib.util.find_spec(name) is None:
        skip_or_fail(reason)
