"""Read back a table the pages draw with ``maskpatrol.html_table``: columns by their keys."""

from __future__ import annotations

from html.parser import HTMLParser


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.columns: dict[str, list[str]] = {}
        self._key: str | None = None
        self._text: list[str] = []
        self._in_head = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "thead":
            self._in_head = True
        elif tag == "th" and self._in_head:
            self.columns.setdefault(attrs["data-column"], [])
        elif tag == "td":
            self._key, self._text = attrs["data-column"], []
        elif tag == "img" and self._key is not None:
            self._text.append(attrs["src"])

    def handle_endtag(self, tag):
        if tag == "thead":
            self._in_head = False
        elif tag == "td" and self._key is not None:
            self.columns[self._key].append("".join(self._text))
            self._key = None

    def handle_data(self, data):
        if self._key is not None:
            self._text.append(data)


def read_table(html: str) -> dict[str, list[str]]:
    """Each column's cells as shown (text; an image's URL), keyed as the page's rows are."""
    reader = _Reader()
    reader.feed(html)
    return reader.columns
