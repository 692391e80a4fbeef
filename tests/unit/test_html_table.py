"""Tables drawn as HTML: what a visitor sees in each cell, and what a test reads back."""

from __future__ import annotations

from html.parser import HTMLParser

from maskpatrol.html_table import html_table
from support.html_table import read_table


class _Cells(HTMLParser):
    """Every <th>/<td> as (tag, attributes, text), and every <img>'s attributes: the markup
    as a browser would build it, independent of support.html_table."""

    def __init__(self) -> None:
        super().__init__()
        self.cells: list[tuple[str, dict, str]] = []
        self.images: list[dict] = []
        self._open: tuple[str, dict, list[str]] | None = None

    def handle_starttag(self, tag, attrs):
        if tag in ("th", "td"):
            self._open = (tag, dict(attrs), [])
        elif tag == "img":
            self.images.append(dict(attrs))
        elif tag in ("b", "script"):
            raise AssertionError(f"user text became a <{tag}> element")

    def handle_endtag(self, tag):
        if tag in ("th", "td") and self._open is not None:
            self.cells.append((self._open[0], self._open[1], "".join(self._open[2])))
            self._open = None

    def handle_data(self, data):
        if self._open is not None:
            self._open[2].append(data)


def _parse(html: str) -> _Cells:
    cells = _Cells()
    cells.feed(html)
    return cells


def _td(html: str, column: str) -> list[tuple[dict, str]]:
    return [(attrs, text) for tag, attrs, text in _parse(html).cells if tag == "td" and attrs["data-column"] == column]


def test_text_is_escaped_and_shown_as_written():
    name = '<b>&"x"</b>'
    html = html_table([{"file": name}])
    assert "<b>" not in html and '"x"' not in html.split("<tbody>")[1]
    [(_, text)] = _td(html, "file")
    assert text == name  # escaped in the markup, the same characters on screen


def test_a_key_with_markup_is_escaped_in_heading_and_attribute():
    key = 'a"<b>'
    html = html_table([{key: 1}])
    cells = _parse(html).cells
    assert [(tag, attrs["data-column"], text) for tag, attrs, text in cells] == [("th", key, key), ("td", key, "1")]


def test_none_cells_are_empty():
    [(attrs, text)] = _td(html_table([{"p": None}]), "p")
    assert text == ""
    assert "class" not in attrs  # not styled as a number either


def test_image_columns_become_pictures_with_their_url():
    url = "data:image/jpeg;base64,AAA=&x=\"1\""
    html = html_table([{"face": url, "label": "mask"}], images=("face",))
    assert [img["src"] for img in _parse(html).images] == [url]
    [(_, text)] = _td(html, "face")
    assert text == ""  # the URL is the picture, not text beside it
    [(_, label)] = _td(html, "label")
    assert label == "mask"  # other columns stay text


def test_a_column_not_named_as_images_shows_a_url_as_text():
    url = "data:image/png;base64,AAA="
    html = html_table([{"face": url}])
    assert _parse(html).images == []
    assert _td(html, "face")[0][1] == url


def test_number_formats_apply_to_their_column_only():
    html = html_table([{"p": 0.123456, "q": 0.123456, "n": 7}], formats={"p": ".3f"})
    assert _td(html, "p")[0][1] == "0.123"
    assert _td(html, "q")[0][1] == "0.123456"
    assert _td(html, "n")[0][1] == "7"


def test_numbers_are_right_aligned_and_booleans_are_not_numbers():
    html = html_table([{"n": 3, "x": 1.5, "ok": True, "s": "3"}], formats={"ok": ".2f"})
    classes = {attrs["data-column"]: attrs.get("class") for tag, attrs, _ in _parse(html).cells if tag == "td"}
    assert classes == {"n": "mp-number", "x": "mp-number", "ok": None, "s": None}
    assert _td(html, "ok")[0][1] == "True"  # the ".2f" format was not applied to a bool


def test_headers_change_only_the_heading():
    rows = [{"p_no_mask": 0.5}]
    plain, renamed = html_table(rows), html_table(rows, headers={"p_no_mask": "P(no mask)"})
    heads = [(attrs["data-column"], text) for tag, attrs, text in _parse(renamed).cells if tag == "th"]
    assert heads == [("p_no_mask", "P(no mask)")]
    assert read_table(renamed) == read_table(plain) == {"p_no_mask": ["0.5"]}
    assert renamed.split("<tbody>")[1] == plain.split("<tbody>")[1]


def test_columns_follow_first_appearance_and_missing_keys_are_empty():
    html = html_table([{"a": 1}, {"b": "x", "a": 2}])
    heads = [attrs["data-column"] for tag, attrs, _ in _parse(html).cells if tag == "th"]
    assert heads == ["a", "b"]
    assert read_table(html) == {"a": ["1", "2"], "b": ["", "x"]}


def test_read_table_gives_back_every_column_by_its_key():
    rows = [
        {"face": "data:image/jpeg;base64,AAA=", "file": "<b>&\"x\"", "label": "no_mask", "p": 0.98765, "note": None},
        {"face": "data:image/jpeg;base64,BBB=", "file": "b.jpg", "label": "mask", "p": 0.01, "note": "ok"},
    ]
    html = html_table(rows, images=("face",), formats={"p": ".2f"}, headers={"p": "P(no mask)"})
    assert read_table(html) == {
        "face": ["data:image/jpeg;base64,AAA=", "data:image/jpeg;base64,BBB="],
        "file": ["<b>&\"x\"", "b.jpg"],
        "label": ["no_mask", "mask"],
        "p": ["0.99", "0.01"],
        "note": ["", "ok"],
    }


def test_an_empty_table_has_no_columns():
    assert read_table(html_table([])) == {}
