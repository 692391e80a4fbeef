"""The README stays a two-minute read with pictures, and no link in it or in docs/ is broken.

A newcomer reads README.md first: it must stay short (at most 1,300 words), show the app
(pictures that exist, so GitHub renders them), and lead one click away to every page of
docs/. A link or ``#anchor`` that no longer resolves is the usual way docs rot when a
heading is renamed, so every relative link in README.md and docs/*.md is followed here,
with anchors computed as GitHub computes them from headings. The figure tables are generated
(``scripts/docs_figures.py``) and must equal what their source files say today.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

import pytest
from PIL import Image

from support.paths import ROOT

README = ROOT / "README.md"
DOCS = ROOT / "docs"
MAX_README_WORDS = 1300
#: A picture much larger than this makes the README slow to open on a phone.
MAX_IMAGE_BYTES = 600_000

FENCE = re.compile(r"^(```|~~~)")
INLINE_CODE = re.compile(r"`[^`\n]*`")
#: [text](target) and ![alt](target); the text may hold one level of brackets or an image.
MD_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\[\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REF_LINK = re.compile(r"^\s*\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)", re.M)
HTML_LINK = re.compile(r"<(?:a|img)\s[^>]*?(?:href|src)=\"([^\"]+)\"", re.I)
MD_IMAGE = re.compile(r"!\[[^\]]*\]\(\s*<?([^)\s>]+)")
HTML_IMAGE = re.compile(r"<img\s[^>]*?src=\"([^\"]+)\"", re.I)
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")


def prose_lines(text: str) -> list[str]:
    """The lines outside fenced code blocks (links and headings there are not rendered).
    Indented code blocks are left in: they hold no Markdown links in these files."""
    out, fenced = [], False
    for line in text.splitlines():
        if FENCE.match(line.lstrip()):
            fenced = not fenced
            continue
        if not fenced:
            out.append(line)
    return out


def github_slug(heading: str) -> str:
    """The id GitHub gives a heading: Markdown markup dropped, lower case, every character that
    is not a letter, digit, space, hyphen or underscore removed, spaces turned into hyphens."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # links and images: their text
    text = re.sub(r"<[^>]+>", "", text)  # inline HTML tags
    text = text.replace("`", "").replace("*", "")
    text = text.strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """Every heading id of a Markdown file, with GitHub's -1, -2 suffixes for repeats."""
    seen: dict[str, int] = {}
    ids = set()
    for line in prose_lines(path.read_text()):
        m = HEADING.match(line)
        if not m:
            continue
        slug = github_slug(m.group(2))
        n = seen.get(slug, 0)
        ids.add(slug if n == 0 else f"{slug}-{n}")
        seen[slug] = n + 1
    ids.update(re.findall(r"<a\s+(?:name|id)=\"([^\"]+)\"", path.read_text()))
    return ids


def links(path: Path) -> list[str]:
    """Every link target written in a Markdown file, outside code."""
    found = []
    for line in prose_lines(path.read_text()):
        line = INLINE_CODE.sub("", line)
        found += MD_LINK.findall(line) + HTML_LINK.findall(line)
    found += REF_LINK.findall("\n".join(prose_lines(path.read_text())))
    return found


def broken_links(path: Path) -> list[str]:
    """The relative links of ``path`` whose file or #anchor does not exist."""
    problems = []
    for target in links(path):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I):  # http:, https:, mailto: ...
            continue
        file_part, _, anchor = target.partition("#")
        dest = path if not file_part else (path.parent / unquote(file_part)).resolve()
        if not dest.exists():
            problems.append(f"{target}: no such file")
        elif anchor and dest.suffix == ".md" and unquote(anchor) not in anchors(dest):
            problems.append(f"{target}: no heading with id #{anchor} in {dest.name}")
    return problems


def markdown_files() -> list[Path]:
    return [README, *sorted(DOCS.glob("*.md"))]


def readme_images() -> list[str]:
    lines = [INLINE_CODE.sub("", line) for line in prose_lines(README.read_text())]
    text = "\n".join(lines)
    return MD_IMAGE.findall(text) + HTML_IMAGE.findall(text)


# --- the checker itself ----------------------------------------------------------------------

@pytest.mark.parametrize("heading, slug", [
    ("😷 Mask Patrol", "-mask-patrol"),
    ("STUN/TURN servers", "stunturn-servers"),
    ("Face detectors: YuNet (default), Haar, BlazeFace", "face-detectors-yunet-default-haar-blazeface"),
    ("Limits, checked in CI", "limits-checked-in-ci"),
    ("`MASKPATROL_*` variables", "maskpatrol_-variables"),
    ("Deploy to [Heroku](https://heroku.com)", "deploy-to-heroku"),
])
def test_heading_ids_are_the_ones_github_makes(heading, slug):
    assert github_slug(heading) == slug


def test_the_checker_reports_a_missing_file_and_a_missing_anchor(tmp_path):
    (tmp_path / "other.md").write_text("# Other\n\n## A section\n\n## A section\n")
    page = tmp_path / "page.md"
    page.write_text("[ok](other.md#a-section) [ok too](other.md#a-section-1) [self](#title)\n"
                    "# Title\n[gone](missing.md) [bad anchor](other.md#nope)\n"
                    "```\n[in code](also-missing.md)\n```\n`[inline](missing-too.md)` [web](https://example.org/x)\n")
    assert broken_links(page) == ["missing.md: no such file", "other.md#nope: no heading with id #nope in other.md"]


# --- the README and docs/ --------------------------------------------------------------------

def test_readme_is_a_two_minute_read():
    words = len(README.read_text().split())
    assert words <= MAX_README_WORDS, (
        f"README.md has {words} words (at most {MAX_README_WORDS}): move the detail to a page of docs/ and link it")


def test_readme_shows_at_least_two_pictures_of_the_app_that_exist():
    images = readme_images()
    local = [i for i in images if not re.match(r"^[a-z]+:", i)]
    assert len(set(local)) >= 2, f"README.md shows {local}; it needs a picture of the Photos and the Live webcam page"
    for src in local:
        path = ROOT / unquote(src)
        assert path.is_file(), f"README.md shows {src}, which does not exist"
        assert path.stat().st_size <= MAX_IMAGE_BYTES, f"{src} is {path.stat().st_size // 1024} kB"
        with Image.open(path) as img:
            assert img.format in {"PNG", "WEBP", "JPEG", "GIF"} and min(img.size) >= 200, (src, img.format, img.size)


@pytest.mark.parametrize("path", markdown_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_and_anchor_resolves(path):
    assert broken_links(path) == []


def test_every_docs_page_is_one_click_from_the_readme():
    linked = {(README.parent / t.partition("#")[0]).resolve() for t in links(README) if t.partition("#")[0]}
    missing = [p.name for p in sorted(DOCS.glob("*.md")) if p.resolve() not in linked]
    assert missing == [], f"docs pages no README link leads to: {missing}"


def test_figure_tables_equal_their_sources():
    """README's headline figures, the model's evaluation, the detectors and the Heroku limits
    are what reports/metrics.json, comparison.json and docs/figures.json say (regenerate
    with `make docs-figures`)."""
    from scripts import docs_figures

    for name, text in docs_figures.rendered().items():
        assert docs_figures.current(name) == text, (
            f"the '{name}' table in {docs_figures.BLOCKS[name][0]} differs from its source: run `make docs-figures`")


def test_readme_accuracy_is_the_evaluation_report():
    """The headline accuracy a visitor reads is the one `make evaluate` measured."""
    import json

    allt = json.loads((ROOT / "reports" / "metrics.json").read_text())["metrics"]["all_test"]
    assert f"{100 * allt['accuracy']:.2f}%" in README.read_text()
    assert f"{100 * allt['recall']:.2f}%" in README.read_text()
