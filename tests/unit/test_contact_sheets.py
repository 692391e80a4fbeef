"""Contact sheets for labelling by eye: numbered tiles, an index of which file each is, and
never inside the repository."""

from __future__ import annotations

import cv2
import numpy as np

from maskpatrol.training import contact_sheets
from support.paths import ROOT


def test_sheets_hold_the_files_in_order_and_say_which_tile_is_which(tmp_path):
    folder = tmp_path / "data" / "faces" / "src" / "with_mask"
    folder.mkdir(parents=True)
    for i in range(5):
        cv2.imwrite(str(folder / f"{i:02d}.jpg"), np.full((40 + 10 * i, 60, 3), 20 * i, np.uint8))
    files = contact_sheets.photos(tmp_path / "data", "faces/src/with_mask")
    placed = contact_sheets.write_sheets(tmp_path / "data", files, tmp_path / "sheets", columns=2, rows=2, side=64)
    assert [(s, t) for s, t, _ in placed] == [(0, 0), (0, 1), (0, 2), (0, 3), (1, 0)]
    assert [f for _, _, f in placed] == [f"faces/src/with_mask/{i:02d}.jpg" for i in range(5)]
    sheet = cv2.imread(str(tmp_path / "sheets" / "sheet_000.png"))
    assert sheet.shape == (2 * (64 + contact_sheets.CAPTION), 2 * 64, 3)
    assert (tmp_path / "sheets" / "sheet_001.png").is_file()


def test_sheets_may_not_be_written_inside_the_repository(tmp_path, capsys):
    (tmp_path / "faces").mkdir()
    assert contact_sheets.main(["faces", "--data", str(tmp_path), "--out", str(ROOT / "sheets")]) == 2
    assert "inside the repository" in capsys.readouterr().err
    assert not (ROOT / "sheets").exists()
