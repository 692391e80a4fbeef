"""The locks (requirements*.txt) match their inputs (requirements*.in): no network, no pip.

``make lock`` compiles each input into its lock; a pin edited in an input without running it
again, or a lock edited by hand, fails here rather than at Heroku's build (docs/dependencies.md).
"""

from __future__ import annotations

import pytest

from support import requirements as reqs
from support.paths import ROOT

#: Input -> lock, in the order ``make lock`` compiles them (each input is held to the lock
#: before it by a -c line).
LOCKS = {"requirements.in": "requirements.txt", "requirements-dev.in": "requirements-dev.txt",
         "requirements-batch.in": "requirements-batch.txt"}


@pytest.mark.parametrize("lock", LOCKS.values())
def test_a_lock_pins_every_package_exactly_with_its_hashes(lock):
    """pip turns on hash-checking mode as soon as one line has a hash; then every package it
    installs needs an exact pin and a hash, or the install stops."""
    path = ROOT / lock
    assert "make lock" in "".join(path.read_text().splitlines(keepends=True)[:8]), \
        f"{lock} should say in its header how it is made (make lock)"
    entries = reqs.read(path, follow_includes=False)
    assert entries, f"{lock} lists no package"
    for entry in entries:
        assert entry.pinned_version is not None, f"{lock}: {entry.requirement} is not an exact == pin"
        assert entry.hashes and all(h.startswith("sha256:") for h in entry.hashes), \
            f"{lock}: {entry.requirement} has no --hash=sha256:..."
    assert not [line for line in reqs.logical_lines(path) if line.split()[0] in ("-r", "-c", "-e")], \
        f"{lock} should stand alone (no -r, -c or -e lines)"


@pytest.mark.parametrize("source,lock", LOCKS.items())
def test_a_lock_holds_every_requirement_of_its_input_and_no_stale_one(source, lock):
    locked = reqs.pins(ROOT / lock)
    wanted = reqs.read(ROOT / source)  # with the files its -r lines include
    for entry in wanted:
        assert entry.name in locked, f"{entry.requirement} ({entry.path.name}) is not in {lock}: run make lock"
        assert entry.requirement.specifier.contains(locked[entry.name], prereleases=True), \
            f"{lock} has {entry.name} {locked[entry.name]}, {entry.path.name} asks for {entry.requirement}: run make lock"
    # The other way: a package the lock says an input asked for by name is still asked for there.
    by_file: dict[str, set[str]] = {}
    for entry in wanted:
        by_file.setdefault(entry.path.name, set()).add(entry.name)
    for name, files in reqs.direct_sources(ROOT / lock).items():
        for file in files:
            assert name in by_file.get(file, set()), \
                f"{lock} was compiled when {file} asked for {name}; it no longer does: run make lock"


def test_the_locks_agree_on_every_package_they_share():
    """One version of each package across runtime, dev and batch, and the dev lock holds the
    whole runtime: the tests run the packages Heroku installs."""
    runtime, dev, batch = (reqs.pins(ROOT / lock) for lock in LOCKS.values())
    assert {k: dev.get(k) for k in runtime} == runtime, "requirements-dev.txt differs from requirements.txt"
    for name in batch.keys() & dev.keys():
        assert batch[name] == dev[name], f"{name}: requirements-batch.txt {batch[name]}, requirements-dev.txt {dev[name]}"
