"""The memory budget: where the limit comes from, how many photos fit in it, and the shared
slots that make the next photo wait instead of running the server out of memory."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from maskpatrol import budget
from maskpatrol.budget import (MEMORY_ENV, PHOTO_MB, SERVER_MB, BudgetConfigError, PhotoSlots,
                               memory_limit_mb, photo_slots)

#: Longest any test waits for another thread: far above what a free slot takes to be taken,
#: so a pass is never luck, and a hang fails the test instead of stalling the run.
WAIT_S = 5.0
#: How long a test watches a thread that must stay blocked: short, because a thread that
#: would get through does so in microseconds.
BLOCKED_S = 0.3
#: v1's "no limit": the kernel writes the largest page-aligned 64-bit number.
V1_UNLIMITED = "9223372036854771712"


def _files(tmp_path: Path, v2: str | None, v1: str | None) -> tuple[Path, Path]:
    """Stand-ins for the cgroup v2 and v1 limit files; None leaves that file absent."""
    v2_path, v1_path = tmp_path / "memory.max", tmp_path / "memory.limit_in_bytes"
    for path, text in ((v2_path, v2), (v1_path, v1)):
        if text is not None:
            path.write_text(text + "\n")  # the kernel ends the value with a newline
    return v2_path, v1_path


@pytest.fixture
def machine_mb() -> int:
    """This machine's memory, as the fallback reads it (the test machine has some)."""
    mb = budget._machine_mb()
    assert mb is not None and mb > 0
    return mb


# --- memory_limit_mb: the variable -------------------------------------------------------

def test_the_variable_sets_the_limit_in_megabytes(tmp_path):
    # A cgroup limit is present too: the variable wins over it.
    files = _files(tmp_path, v2=str(2048 * 1024 * 1024), v1=None)
    assert memory_limit_mb({MEMORY_ENV: "512"}, cgroup_files=files) == 512


def test_the_variable_may_carry_surrounding_spaces(tmp_path):
    assert memory_limit_mb({MEMORY_ENV: " 768 \n"}, cgroup_files=_files(tmp_path, None, None)) == 768


@pytest.mark.parametrize("value", ["half", "512MB", "1.5", "-1", "0"])
def test_an_unusable_variable_is_refused_naming_the_variable(tmp_path, value):
    with pytest.raises(BudgetConfigError) as caught:
        memory_limit_mb({MEMORY_ENV: value}, cgroup_files=_files(tmp_path, None, None))
    assert MEMORY_ENV in str(caught.value)
    assert repr(value) in str(caught.value)  # the operator sees what they wrote


def test_an_empty_variable_counts_as_unset(tmp_path):
    files = _files(tmp_path, v2=str(300 * 1024 * 1024), v1=None)
    assert memory_limit_mb({MEMORY_ENV: "  "}, cgroup_files=files) == 300


# --- memory_limit_mb: the container's limit ----------------------------------------------

def test_a_cgroup_v2_limit_is_read_in_megabytes(tmp_path):
    files = _files(tmp_path, v2=str(512 * 1024 * 1024), v1=None)
    assert memory_limit_mb({}, cgroup_files=files) == 512


def test_cgroup_v2_max_means_no_limit_so_the_machine_memory_counts(tmp_path, machine_mb):
    # A v1 file with a limit beside it is not consulted: v2's "max" is the answer.
    files = _files(tmp_path, v2="max", v1=str(256 * 1024 * 1024))
    assert memory_limit_mb({}, cgroup_files=files) == machine_mb


def test_a_cgroup_v1_limit_is_read_when_there_is_no_v2_file(tmp_path):
    files = _files(tmp_path, v2=None, v1=str(1024 * 1024 * 1024))
    assert memory_limit_mb({}, cgroup_files=files) == 1024


def test_cgroup_v1_huge_number_means_no_limit_so_the_machine_memory_counts(tmp_path, machine_mb):
    files = _files(tmp_path, v2=None, v1=V1_UNLIMITED)
    assert memory_limit_mb({}, cgroup_files=files) == machine_mb


def test_without_any_cgroup_file_the_machine_memory_counts(tmp_path, machine_mb):
    assert memory_limit_mb({}, cgroup_files=_files(tmp_path, None, None)) == machine_mb


# --- photo_slots -------------------------------------------------------------------------

def test_a_512_mb_dyno_analyses_one_photo_at_a_time():
    assert photo_slots(512) == 1


def test_a_gigabyte_holds_what_is_left_beside_the_server_in_photos():
    assert photo_slots(1024) == (1024 - SERVER_MB) // PHOTO_MB
    assert photo_slots(1024) > 1


def test_a_limit_below_the_server_itself_still_gives_one_slot():
    assert photo_slots(SERVER_MB // 2) == 1


def test_an_unknown_limit_gives_one_slot():
    assert photo_slots(None) == 1


# --- PhotoSlots --------------------------------------------------------------------------

class _Holder:
    """Holds a slot in its own thread until told to let go."""

    def __init__(self, slots: PhotoSlots, on_wait=None) -> None:
        self.entered, self.release = threading.Event(), threading.Event()
        self._slots, self._on_wait = slots, on_wait
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        with self._slots.slot(on_wait=self._on_wait):
            self.entered.set()
            self.release.wait(WAIT_S)

    def finish(self) -> None:
        self.release.set()
        self.thread.join(WAIT_S)
        assert not self.thread.is_alive(), "a slot holder did not finish"


def test_a_second_caller_waits_while_the_first_holds_the_only_slot():
    slots = PhotoSlots(1)
    first = _Holder(slots)
    assert first.entered.wait(WAIT_S)
    second = _Holder(slots)
    try:
        assert not second.entered.wait(BLOCKED_S), "the second caller got in while the only slot was held"
    finally:
        first.finish()
    assert second.entered.wait(WAIT_S), "the second caller never got the slot the first gave back"
    second.finish()


def test_on_wait_is_called_once_for_the_waiter_and_never_for_the_first():
    slots = PhotoSlots(1)
    calls: list[tuple[str, PhotoSlots, int]] = []
    waiting = threading.Event()

    def on_wait(name):
        def record(s: PhotoSlots) -> None:
            calls.append((name, s, s.busy))
            waiting.set()
        return record

    first = _Holder(slots, on_wait=on_wait("first"))
    assert first.entered.wait(WAIT_S)
    second = _Holder(slots, on_wait=on_wait("second"))
    assert waiting.wait(WAIT_S), "on_wait was not called for the caller left waiting"
    first.finish()
    assert second.entered.wait(WAIT_S)
    second.finish()
    # Once, for the waiter, with the pool itself: busy shows the slot it is waiting for.
    assert calls == [("second", slots, 1)]


def test_busy_counts_the_slots_held_now():
    slots = PhotoSlots(3)
    assert slots.busy == 0
    holders = [_Holder(slots) for _ in range(2)]
    for holder in holders:
        assert holder.entered.wait(WAIT_S)
    assert slots.busy == 2
    holders[0].finish()
    assert slots.busy == 1
    holders[1].finish()
    assert slots.busy == 0


def test_callers_within_the_slot_count_never_wait():
    slots = PhotoSlots(2)
    waited = []
    holders = [_Holder(slots, on_wait=waited.append) for _ in range(2)]
    try:
        for holder in holders:
            assert holder.entered.wait(WAIT_S)
        assert waited == []
    finally:
        for holder in holders:
            holder.finish()


def test_the_slot_is_given_back_when_the_block_raises():
    slots = PhotoSlots(1)
    with pytest.raises(RuntimeError, match="decoder failed"):
        with slots.slot():
            raise RuntimeError("decoder failed")
    assert slots.busy == 0
    # The only slot is free again: taking it does not wait (on_wait would be called).
    waited = []
    done = threading.Event()

    def take() -> None:
        with slots.slot(on_wait=waited.append):
            done.set()

    thread = threading.Thread(target=take, daemon=True)
    thread.start()
    assert done.wait(WAIT_S), "the slot a failed photo held was never given back"
    thread.join(WAIT_S)
    assert waited == []


def test_leaving_a_slot_hands_freed_memory_back(monkeypatch):
    # The promise of PhotoSlots' docstring: every photo's end trims the allocator.
    trims = []
    monkeypatch.setattr(budget, "release_freed", lambda: trims.append(1))
    slots = PhotoSlots(1)
    with slots.slot():
        assert trims == []
    with pytest.raises(ValueError):
        with slots.slot():
            raise ValueError
    assert trims == [1, 1]
