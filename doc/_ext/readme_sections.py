"""Sphinx extension: the README's measured sections, shown on the site.

The benchmark scripts write their latest output into the README between
``<!-- name:begin -->`` and ``<!-- name:end -->`` markers. This extension reads
those sections when the site is built and writes each as reStructuredText into
``generated/readme/<name>.inc`` (not ``.rst``: Sphinx would read those as
pages), which pages include; the numbers therefore have one home, the README,
and the site cannot drift from it.

Only what the scripts write is converted: paragraphs with inline code and bold
text, and pipe tables.
"""

import pathlib
import re

MARKER = re.compile(r"<!-- ([\w-]+):begin -->\n(.*?)<!-- \1:end -->", re.S)


def markdown_sections(text):
    """Map each marked section's name to its Markdown text."""
    return {name: body.strip() + "\n" for name, body in MARKER.findall(text)}


def _inline(text):
    # Markdown `code` -> RST ``code``; **bold** is the same in both.
    return re.sub(r"`([^`]+)`", r"``\1``", text)


def _cells(line):
    return [_inline(cell.strip()) for cell in line.strip().strip("|").split("|")]


def _table(lines):
    header, rows = _cells(lines[0]), [_cells(line) for line in lines[2:]]
    out = [".. list-table::", "   :header-rows: 1", ""]
    for row in [header, *rows]:
        out.append(f"   * - {row[0] or ' '}")
        out.extend(f"     - {cell or ' '}" for cell in row[1:])
    return out


def markdown_to_rst(text):
    """Convert a section's paragraphs and pipe tables to reStructuredText."""
    out, table = [], []
    for line in text.splitlines():
        if line.startswith("|"):
            table.append(line)
            continue
        if table:
            out.extend([*_table(table), ""])
            table = []
        out.append(_inline(line))
    if table:
        out.extend([*_table(table), ""])
    return "\n".join(out).strip() + "\n"


def write_sections(app):
    """Write every README section into ``generated/readme/`` before reading."""
    srcdir = pathlib.Path(app.srcdir)
    readme = srcdir.parent / "README.md"
    target = srcdir / "generated" / "readme"
    target.mkdir(parents=True, exist_ok=True)
    for name, body in markdown_sections(readme.read_text(encoding="utf-8")).items():
        path = target / f"{name}.inc"
        rst = markdown_to_rst(body)
        # Rewriting an unchanged file would make Sphinx re-read every page.
        if not path.exists() or path.read_text(encoding="utf-8") != rst:
            path.write_text(rst, encoding="utf-8")


def setup(app):
    app.connect("builder-inited", write_sections)
    return {"parallel_read_safe": True}
