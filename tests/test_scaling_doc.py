"""The Python blocks of doc/scaling.rst run as written.

Each block runs as a script in a fresh interpreter. The remote-scheduler block
gets the address of a LocalCluster started here in place of its example
address; the Ray blocks run where Ray is installed. The GPU blocks run on
Numba's CUDA simulator (conftest.py sets NUMBA_ENABLE_CUDASIM=1 for
subprocesses), with a stand-in for dask-cuda, two GPUs declared to Ray, and
smaller data and networks than the page's, which the simulator would take
minutes over.
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
    assert len(_python_blocks()) == 6


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
    out = _run(_block("register_ray"), tmp_path, "ray")
    assert "mlpclassifier__alpha" in out


def test_out_of_core_recipe(tmp_path):
    out = _run(_block("Incremental"), tmp_path, "out_of_core")
    accuracy = float(re.search(r"accuracy ([0-9.]+)", out).group(1))
    assert accuracy > 0.8


# dask-cuda needs GPUs to start. This stand-in starts its workers as
# LocalCUDACluster does on a machine with two (worker i with CUDA_VISIBLE_DEVICES
# listing GPU i first); the simulator then runs their fits.
DASK_CUDA_STAND_IN = """
import distributed


def LocalCUDACluster(threads_per_worker=1):
    gpus = ["0", "1"]
    workers = {i: {"cls": distributed.Nanny,
                   "options": {"nthreads": threads_per_worker,
                               "env": {"CUDA_VISIBLE_DEVICES": ",".join(gpus[i:] + gpus[:i])}}}
               for i in range(len(gpus))}
    scheduler = {"cls": distributed.Scheduler,
                 "options": {"dashboard": False, "dashboard_address": ":0"}}
    return distributed.SpecCluster(workers=workers, scheduler=scheduler)
"""


def _smaller(code, *replacements):
    """``code`` with each (old, new) replaced; each ``old`` must be there."""
    for old, new in replacements:
        assert old in code, f"the GPU block no longer has {old!r}"
        code = code.replace(old, new)
    return code


_SMALL_GPU_FIT = [("X, y = load_digits(return_X_y=True)",
                   "X, y = load_digits(return_X_y=True); X, y = X[:90], y[:90]"),
                  ("(256,)", "(8,)"), ("max_iter=20", "max_iter=1")]


def test_dask_cuda_recipe(tmp_path):
    (tmp_path / "dask_cuda.py").write_text(DASK_CUDA_STAND_IN, encoding="utf-8")
    code = _smaller(_block("LocalCUDACluster"), *_SMALL_GPU_FIT, ("cv=3", "cv=2"))
    out = _run(code, tmp_path, "dask_cuda")
    visible = re.findall(r"CUDA_VISIBLE_DEVICES (\S+)", out)
    assert sorted(visible) == ["0,1", "1,0"]  # each worker printed its own
    assert "mlpclassifier__alpha" in out


def test_ray_gpu_recipe(tmp_path):
    pytest.importorskip("ray", reason="needs ray (pip install .[scale])")
    code = _smaller(_block("num_gpus=1"), *_SMALL_GPU_FIT,
                    ("ray.init()", "ray.init(num_cpus=2, num_gpus=2, include_dashboard=False)"))
    out = _run(code, tmp_path, "ray_gpu")
    assert out.count("fitted on GPU-") == 2
