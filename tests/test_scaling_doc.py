"""The Python blocks of doc/scaling.rst run as written.

Each block runs as a script in a fresh interpreter. The remote-scheduler block
gets the address of a LocalCluster started here in place of its example
address; the Ray block runs where Ray is installed.
"""

import pathlib
import re
import subprocess
import sys

import pytest

pytest.importorskip("distributed", reason="needs distributed (pip install .[scale])")
pytest.importorskip("dask_ml", reason="needs dask-ml (pip install .[scale])")

DOC = pathlib.Path(__file__).resolve().parents[1] / "doc" / "scaling.rst"
EXAMPLE_ADDRESS = "tcp://127.0.0.1:8786"


def _python_blocks():
    text = DOC.read_text(encoding="utf-8")
    blocks = []
    for match in re.finditer(r"^\.\. code-block:: python\n\n((?:   .*\n|\n)+)", text, re.M):
        lines = match.group(1).splitlines()
        blocks.append("\n".join(line[3:] for line in lines) + "\n")
    return blocks


def _run(code, tmp_path, name):
    script = tmp_path / f"recipe_{name}.py"  # not ray.py: it would shadow ray
    script.write_text(code, encoding="utf-8")
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def _block(word):
    found = [block for block in _python_blocks() if word in block]
    assert len(found) == 1, f"one block of doc/scaling.rst uses {word}"
    return found[0]


def test_the_page_has_the_blocks_tested_here():
    assert len(_python_blocks()) == 4


def test_local_cluster_recipe(tmp_path):
    out = _run(_block("LocalCluster"), tmp_path, "local_cluster")
    assert "mlpclassifier__alpha" in out


def test_remote_scheduler_recipe(tmp_path):
    import distributed

    code = _block(EXAMPLE_ADDRESS)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        out = _run(code.replace(EXAMPLE_ADDRESS, cluster.scheduler_address), tmp_path, "remote")
    assert "mlpclassifier__alpha" in out


def test_ray_recipe(tmp_path):
    pytest.importorskip("ray", reason="needs ray (pip install .[scale])")
    out = _run(_block("ray.init"), tmp_path, "ray")
    assert "mlpclassifier__alpha" in out


def test_out_of_core_recipe(tmp_path):
    out = _run(_block("Incremental"), tmp_path, "out_of_core")
    accuracy = float(re.search(r"accuracy ([0-9.]+)", out).group(1))
    assert accuracy > 0.8
