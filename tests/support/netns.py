"""Private network namespaces: servers that must not be reachable from this machine's network.

``unshare -n`` (root) gives a process a network stack of its own, with only a loopback
interface, so whatever it listens on, even every interface, nothing outside the namespace
can reach. A test talks to such a server from a thread that has joined the namespace
(``setns(2)`` moves only the calling thread): :func:`joined`.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import ctypes
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

#: The namespace's one address besides loopback, from 198.18.0.0/15 (RFC 2544, for tests;
#: never routed): a client there reaches the server as another machine would, not over 127.0.0.1.
ADDRESS = "198.18.0.1"
_CLONE_NEWNET = 0x40000000


def namespace_unavailable() -> str | None:
    """Why this machine cannot make a private network namespace, or None when it can."""
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        return "needs unshare(1) and ip(8) (util-linux, iproute2)"
    if os.geteuid() != 0:
        return "needs root for an isolated network namespace (unshare -n)"
    probe = subprocess.run(["unshare", "-n", "true"], capture_output=True, timeout=30)
    if probe.returncode != 0:
        return f"unshare -n is not permitted here: {probe.stderr.decode(errors='replace').strip()}"
    return None


def isolated(command: Sequence[str]) -> list[str]:
    """``command`` run in a new network namespace whose loopback is up and also holds
    :data:`ADDRESS`; the command keeps the process id (``exec``), so signals reach it."""
    setup = f'ip link set lo up && ip addr add {ADDRESS}/32 dev lo && exec "$@"'
    return ["unshare", "-n", "sh", "-c", setup, "sh", *command]


def _namespace_of(pid: int | str) -> str:
    return os.readlink(f"/proc/{pid}/ns/net")


def _enter(pid: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(f"/proc/{pid}/ns/net", os.O_RDONLY)
    try:
        if libc.setns(fd, _CLONE_NEWNET) != 0:
            errno = ctypes.get_errno()
            raise OSError(errno, f"setns into the network namespace of {pid}: {os.strerror(errno)}")
    finally:
        os.close(fd)


@contextlib.contextmanager
def joined(pid: int, timeout: float = 30) -> Iterator[Callable[..., Any]]:
    """A function ``call(fn, *args, **kwargs)`` that runs ``fn`` on a thread inside the
    network namespace of process ``pid``, once that process has left this one's."""
    deadline = time.monotonic() + timeout
    while _namespace_of(pid) == _namespace_of("self"):
        if time.monotonic() > deadline:
            raise TimeoutError(f"process {pid} did not enter a network namespace of its own")
        time.sleep(0.05)
    with concurrent.futures.ThreadPoolExecutor(1, "netns", initializer=_enter, initargs=(pid,)) as thread:
        yield lambda fn, *args, **kwargs: thread.submit(fn, *args, **kwargs).result()


def kill_namespace(pid: int) -> None:
    """Kill every process in the network namespace of ``pid`` (which nothing else on the
    machine shares): a runner and all it started, even those it lost track of."""
    try:
        netns = _namespace_of(pid)
    except OSError:
        return
    if netns == _namespace_of("self"):  # not (or no longer) isolated: never kill this machine's processes
        return
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if os.readlink(entry / "ns" / "net") == netns:
                    os.kill(int(entry.name), signal.SIGKILL)
            except (OSError, ProcessLookupError):
                continue


def run_isolated_runner(command: Sequence[str], env: dict[str, str], timeout_s: float, tag: str) -> tuple[dict, str]:
    """Run a runner script that starts its own servers inside ``unshare -n`` and prints one
    line ``TAG {json}``; returns that JSON and the runner's stderr. On a timeout every process
    of its namespace is killed and the test fails; a runner that printed no result fails it too."""
    import json

    import pytest

    proc = subprocess.Popen(["unshare", "-n", *command], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env)
    try:
        stdout, stderr = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        kill_namespace(proc.pid)
        stdout, stderr = proc.communicate(timeout=30)
        pytest.fail(f"{tag} runner timed out after {timeout_s:.0f}s:\n{stderr[-3000:]}")
    lines = [line for line in stdout.splitlines() if line.startswith(f"{tag} ")]
    assert lines, f"the runner printed no result (exit {proc.returncode}):\n{stdout[-3000:]}\n{stderr[-3000:]}"
    return json.loads(lines[-1].removeprefix(f"{tag} ")), stderr
