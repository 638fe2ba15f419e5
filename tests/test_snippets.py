"""Every Python snippet of the README and of the documentation runs as written.

Each code block runs as a script in a fresh interpreter, in a scratch folder,
with scikit-learn's ConvergenceWarning turned into an error: a snippet that
teaches must not end in a warning. doc/scaling.rst's blocks need a cluster
and have their own test (tests/test_scaling_doc.py).
"""

import os
import pathlib
import re
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
OWN_TESTS = {"scaling.rst"}


def markdown_blocks(path):
    text = path.read_text(encoding="utf-8")
    return [(text[:m.start()].count("\n") + 1, m.group(1))
            for m in re.finditer(r"^```python\n(.*?)^```", text, re.S | re.M)]


def rst_blocks(path):
    text = path.read_text(encoding="utf-8")
    blocks = []
    for m in re.finditer(r"^( *)\.\. code-block:: python\n((?:\1   .*\n|[ \t]*\n)+)", text,
                         re.M):
        indent = len(m.group(1)) + 3
        body = "\n".join(line[indent:] for line in m.group(2).splitlines()).strip("\n")
        blocks.append((text[:m.start()].count("\n") + 1, body + "\n"))
    return blocks


def all_snippets():
    found = [("README.md", line, code) for line, code in markdown_blocks(ROOT / "README.md")]
    for path in sorted((ROOT / "doc").rglob("*.rst")):
        relative = path.relative_to(ROOT / "doc")
        if relative.parts[0] in {"generated", "_build", "auto_examples"}:
            continue  # written by the build
        if path.name in OWN_TESTS:
            continue
        found += [(f"doc/{relative}", line, code) for line, code in rst_blocks(path)]
    return found


SNIPPETS = all_snippets()

#: Runs a script as __main__ with ConvergenceWarning raised as an error.
STRICT_RUNNER = """
import runpy, sys, warnings
from sklearn.exceptions import ConvergenceWarning
warnings.simplefilter("error", ConvergenceWarning)
runpy.run_path(sys.argv[1], run_name="__main__")
"""


def test_the_snippets_are_found():
    # A change of fence syntax must not silently leave every snippet untested.
    pages = {page for page, _, _ in SNIPPETS}
    assert "README.md" in pages
    assert sum(page == "README.md" for page, _, _ in SNIPPETS) >= 5
    assert any(page.startswith("doc/") for page in pages)


def test_rst_blocks_are_extracted_whole():
    text = "Text\n\n.. code-block:: python\n\n   a = 1\n\n   b = a + 1\n\nAfter.\n"
    path = pathlib.Path(__file__).with_name("_snippet_probe.rst")
    try:
        path.write_text(text, encoding="utf-8")
        assert rst_blocks(path) == [(3, "a = 1\n\nb = a + 1\n")]
    finally:
        path.unlink()


@pytest.mark.parametrize("page, line, code", SNIPPETS,
                         ids=[f"{page}:{line}" for page, line, _ in SNIPPETS])
def test_snippet_runs_as_written(page, line, code, tmp_path):
    script = tmp_path / "snippet.py"
    script.write_text(code, encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-c", STRICT_RUNNER, str(script)],
        capture_output=True, text=True, timeout=600, cwd=tmp_path,
        env={**os.environ, "MPLBACKEND": "Agg"})
    assert proc.returncode == 0, f"{page} line {line}:\n{proc.stderr[-3000:]}"
