"""``python -m maskpatrol ...`` called in the test's own process.

A new interpreter per call costs a second or two of imports and model loading and shows
nothing about the command that ``cli.main`` does not: the arguments, what is printed on
stdout and stderr, and the exit status are the same. The real command is run once, in
``tests/unit/test_cli.py`` (``test_the_real_command_and_the_installed_one_run``); tests of a
process-level property (the environment onnxruntime sees, a signal, what a fresh process
imports) start their own processes.
"""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class CliRun:
    """What a run of the command gave: named as ``subprocess.CompletedProcess`` names them."""

    returncode: int
    stdout: str
    stderr: str


def run_cli(*args: str, cwd: Path | None = None) -> CliRun:
    """``python -m maskpatrol ARGS`` (from ``cwd``, when given) in this process. Usage errors,
    which argparse ends with ``SystemExit``, give their exit status as the command does; any
    other exception is not caught: a traceback fails the test."""
    from maskpatrol import cli

    out, err = io.StringIO(), io.StringIO()
    with contextlib.ExitStack() as stack:
        if cwd is not None:
            stack.enter_context(contextlib.chdir(cwd))
        stack.enter_context(contextlib.redirect_stdout(out))
        stack.enter_context(contextlib.redirect_stderr(err))
        try:
            code = cli.main(list(args))
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return CliRun(code, out.getvalue(), err.getvalue())
