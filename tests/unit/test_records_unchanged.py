"""Every front end writes, byte for byte, what it wrote when ``tests/data/records/`` was
recorded: ``detect`` and ``classify`` (JSON, text and exit status), the Photos page's CSV and
JSON downloads, the HTTP API's answers and the batch rows (see :mod:`support.records`)."""

from __future__ import annotations

import pytest

from support.records import RECORDS, outputs


@pytest.fixture(scope="module")
def written(patrol) -> dict[str, str]:
    return outputs(patrol)


def test_the_recorded_files_are_exactly_the_outputs_made(written):
    assert sorted(written) == sorted(p.name for p in RECORDS.iterdir())


@pytest.mark.parametrize("name", sorted(p.name for p in RECORDS.iterdir()))
def test_each_front_end_writes_what_was_recorded(written, name):
    assert written[name] == (RECORDS / name).read_text()
