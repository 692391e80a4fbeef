"""Tables of rows as HTML, for ``st.html``: the pages' tables without ``st.dataframe``.

``st.dataframe`` sends its data as Arrow, and building any Arrow array imports pyarrow and
pandas into the server: about 70 MB of a 512 MB dyno, for tables of a few rows
(``docs/performance.md``). The rows are the same dicts the pages always built; each cell
carries its column's key (``data-column``), so a test can read the table back.
"""

from __future__ import annotations

from html import escape
from typing import Any, Collection, Mapping, Sequence

#: One style for every table, scoped to its class.
STYLE = """<style>
table.mp-table { border-collapse: collapse; font-size: 0.875rem; margin-bottom: 1rem;
  display: block; overflow-x: auto; max-width: 100%; }
table.mp-table th, table.mp-table td { border-bottom: 1px solid rgba(128, 128, 128, 0.3);
  padding: 0.25rem 0.6rem; text-align: left; vertical-align: middle; white-space: nowrap; }
table.mp-table td.mp-long { white-space: normal; min-width: 16rem; }
table.mp-table th { font-weight: 600; }
table.mp-table td.mp-number { text-align: right; font-variant-numeric: tabular-nums; }
table.mp-table img { width: 48px; height: 48px; display: block; }
</style>"""


#: Texts longer than this (an error message) wrap; shorter ones stay on one line.
LONG_TEXT = 40


def _cell(key: str, value: Any, images: Collection[str], formats: Mapping[str, str]) -> str:
    column = escape(key, quote=True)
    if value is None:
        return f'<td data-column="{column}"></td>'
    if key in images:
        return f'<td data-column="{column}"><img src="{escape(str(value), quote=True)}" alt="{column}"></td>'
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        text = format(value, formats[key]) if key in formats else str(value)
        return f'<td data-column="{column}" class="mp-number">{escape(text)}</td>'
    text = str(value)
    wrap = ' class="mp-long"' if len(text) > LONG_TEXT else ""
    return f'<td data-column="{column}"{wrap}>{escape(text)}</td>'


def html_table(rows: Sequence[Mapping[str, Any]], *, images: Collection[str] = (),
               formats: Mapping[str, str] | None = None, headers: Mapping[str, str] | None = None) -> str:
    """``rows`` (dicts with the same keys) as one HTML table.

    ``images``: keys whose values are image URLs, shown as pictures; ``formats``: a
    :func:`format` spec per key for numbers (``".3f"``); ``headers``: the heading shown for
    a key, when not the key itself. Every text is escaped."""
    formats, headers = formats or {}, headers or {}
    keys = list(dict.fromkeys(k for row in rows for k in row))
    head = "".join(f'<th data-column="{escape(k, quote=True)}">{escape(headers.get(k, k))}</th>' for k in keys)
    body = "".join("<tr>" + "".join(_cell(k, row.get(k), images, formats) for k in keys) + "</tr>" for row in rows)
    return f'{STYLE}<table class="mp-table"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'
