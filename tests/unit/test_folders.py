"""The one folder walk behind ``detect`` and ``batch``: order, hidden files, unlistable folders."""

from __future__ import annotations

from pathlib import Path

from maskpatrol.folders import files_in, subfolder_hint


def make_tree(root: Path) -> None:
    for rel in ("b.png", "A.PNG", "notes.txt", ".hidden.png", "sub/c.png", ".git/d.png", "sub/.e.png"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(b"x")


def test_a_folder_gives_its_visible_files_sorted_by_their_path_in_it(tmp_path):
    make_tree(tmp_path)
    assert files_in(str(tmp_path), recursive=False) == ([tmp_path / "A.PNG", tmp_path / "b.png",
                                                          tmp_path / "notes.txt"], None)


def test_recursive_adds_the_visible_subfolders_files_in_the_same_order(tmp_path):
    make_tree(tmp_path)
    files, error = files_in(str(tmp_path), recursive=True)
    assert error is None
    assert [p.relative_to(tmp_path).as_posix() for p in files] == ["A.PNG", "b.png", "notes.txt", "sub/c.png"]


def test_a_folder_that_cannot_be_listed_gives_no_files_and_says_why_by_its_given_name(tmp_path, monkeypatch):
    def refuse(self):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "iterdir", refuse)
    assert files_in(f"{tmp_path}/", recursive=False) == ([], f"Could not list the folder {tmp_path}/: Permission denied")


def test_the_hint_to_look_in_subfolders_is_given_only_without_recursive():
    assert subfolder_hint(False) == " (add --recursive to look in subfolders)"
    assert subfolder_hint(True) == ""
