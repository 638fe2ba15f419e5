"""The runtime around the kernels: Numba's cache, threads, processes.

Each scenario that could crash or hang the interpreter runs in a subprocess
with a timeout, so a failure is reported instead of killing the test run.
"""

import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import cross_validate

import skneuro
from skneuro import MLPClassifier
from skneuro.nn import Callback

PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(skneuro.__file__)))

FIT_AND_PREDICT = """
import warnings
import numpy as np
from sklearn.datasets import load_digits
from skneuro import MLPClassifier
warnings.simplefilter("ignore")
X, y = load_digits(return_X_y=True)
clf = MLPClassifier((16,), max_iter=3, random_state=0).fit(X[:300] / 16, y[:300])
print(repr(clf.predict_proba(X[300:310] / 16).round(6).tolist()))
"""


def run_python(code, env=None, timeout=120, cwd=None):
    """Run ``code`` in a fresh interpreter; return the completed process."""
    full_env = dict(os.environ, PYTHONPATH=PACKAGE_DIR)
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=full_env,
                          capture_output=True, text=True, timeout=timeout, cwd=cwd)


def test_processes_filling_one_cache_at_once(tmp_path):
    env = {"NUMBA_CACHE_DIR": str(tmp_path / "cache")}
    full_env = dict(os.environ, PYTHONPATH=PACKAGE_DIR, **env)
    procs = [subprocess.Popen([sys.executable, "-c", FIT_AND_PREDICT], env=full_env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(3)]
    outputs = []
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        outputs.append(out)
    assert len(set(outputs)) == 1
    assert any((tmp_path / "cache").rglob("*.nbi")), "nothing was cached"
    # A later process loads what they wrote and computes the same thing.
    warm = run_python(FIT_AND_PREDICT, env=env)
    assert warm.returncode == 0, warm.stderr
    assert warm.stdout == outputs[0]


def _can_mount_read_only(path):
    probe = subprocess.run(
        ["unshare", "--mount", "--", "sh", "-c",
         f"mount --bind {path} {path} && mount -o remount,ro,bind {path}"],
        capture_output=True)
    return probe.returncode == 0


# A read-only install needs a read-only mount, which needs unshare and mount
# namespaces (present on the project's machines and CI, which run as root).
@pytest.mark.skipif(shutil.which("unshare") is None, reason="needs util-linux's unshare")
def test_read_only_install_works_with_one_warning(tmp_path):
    """A copy of the package on a read-only mount, with no writable cache anywhere.

    CI runs as root, for whom chmod proves nothing; a read-only bind mount in a
    private mount namespace is read-only for root too.
    """
    site = tmp_path / "site"
    shutil.copytree(os.path.join(PACKAGE_DIR, "skneuro"), site / "skneuro",
                    ignore=shutil.ignore_patterns("__pycache__"))
    (site / "home").mkdir()
    if not _can_mount_read_only(site):
        pytest.skip("this machine does not allow a read-only bind mount (needs root and "
                    "mount namespaces)")
    code = FIT_AND_PREDICT.replace("warnings.simplefilter(\"ignore\")",
                                   "warnings.simplefilter(\"ignore\", ConvergenceWarning)")
    code = "from sklearn.exceptions import ConvergenceWarning\n" + code
    script = tmp_path / "job.py"
    script.write_text(code)
    env = dict(os.environ, PYTHONPATH=str(site), HOME=str(site / "home"),
               XDG_CACHE_HOME=str(site / "home"), PYTHONDONTWRITEBYTECODE="1")
    env.pop("NUMBA_CACHE_DIR", None)
    proc = subprocess.run(
        ["unshare", "--mount", "--", "sh", "-c",
         f"mount --bind {site} {site} && mount -o remount,ro,bind {site} && "
         f"exec {sys.executable} -W always::RuntimeWarning {script}"],
        env=env, capture_output=True, text=True, timeout=300, cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("[[")
    assert proc.stderr.count("Numba cannot write its cache") == 1, proc.stderr
    assert not any(site.rglob("*.nbi"))


@pytest.mark.skipif(shutil.which("unshare") is None, reason="needs util-linux's unshare")
def test_a_prefilled_read_only_install_loads_its_kernels(tmp_path):
    """A read-only copy whose __pycache__ was filled when it was installed:
    the kernels load from it (Numba alone would compile them all again and
    write them under HOME), and nothing is written anywhere."""
    site, home = tmp_path / "site", tmp_path / "home"
    shutil.copytree(os.path.join(PACKAGE_DIR, "skneuro"), site / "skneuro",
                    ignore=shutil.ignore_patterns("__pycache__"))
    home.mkdir()
    if not _can_mount_read_only(site):
        pytest.skip("this machine does not allow a read-only bind mount (needs root and "
                    "mount namespaces)")
    # Warnings stay visible (only the short fit's ConvergenceWarning is hidden).
    code = "from sklearn.exceptions import ConvergenceWarning\n" + FIT_AND_PREDICT.replace(
        'warnings.simplefilter("ignore")',
        'warnings.simplefilter("ignore", ConvergenceWarning)') + textwrap.dedent("""
        from skneuro.kernels.cpu import activations
        # The ReLU kernel of the hidden layer (compiled per activation).
        stats = activations.forward_kernel(activations.RELU).serial.stats
        print(sum(stats.cache_hits.values()), sum(stats.cache_misses.values()))
    """)
    script = tmp_path / "job.py"
    script.write_text(code)
    env = dict(os.environ, PYTHONPATH=str(site), HOME=str(home),
               XDG_CACHE_HOME=str(home / ".cache"), PYTHONDONTWRITEBYTECODE="1")
    env.pop("NUMBA_CACHE_DIR", None)
    # Installed, then filled once by its owner while writable.
    filled = subprocess.run([sys.executable, str(script)], env=env, capture_output=True,
                            text=True, timeout=300, cwd=str(tmp_path))
    assert filled.returncode == 0, filled.stderr
    assert any(site.rglob("*.nbi")) and not any(home.rglob("*.nbi"))
    proc = subprocess.run(
        ["unshare", "--mount", "--", "sh", "-c",
         f"mount --bind {site} {site} && mount -o remount,ro,bind {site} && "
         f"exec {sys.executable} -W always::RuntimeWarning {script}"],
        env=env, capture_output=True, text=True, timeout=300, cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    prediction, counts = proc.stdout.rstrip().rsplit("\n", 1)
    assert prediction == filled.stdout.rstrip().rsplit("\n", 1)[0]
    hits, misses = map(int, counts.split())
    assert hits > 0 and misses == 0, counts
    assert "Numba cannot write its cache" not in proc.stderr
    assert "lacks code for this machine" not in proc.stderr  # every kernel was found
    assert not any(home.rglob("*.nbi")), "compiled kernels were written under HOME"
    # Another CPU (as Numba sees it) finds no code for itself there: it compiles
    # in memory, says so once, and still writes nothing.
    other = subprocess.run(
        ["unshare", "--mount", "--", "sh", "-c",
         f"mount --bind {site} {site} && mount -o remount,ro,bind {site} && "
         f"exec {sys.executable} -W always::RuntimeWarning {script}"],
        env=dict(env, NUMBA_CPU_NAME="generic"), capture_output=True, text=True,
        timeout=300, cwd=str(tmp_path))
    assert other.returncode == 0, other.stderr
    # Not to the bit: compiled for a CPU without fused multiply-adds, the
    # kernels round their products differently (BLAS does that too).
    np.testing.assert_allclose(json.loads(other.stdout.rstrip().rsplit("\n", 1)[0]),
                               json.loads(prediction), atol=1e-3)
    assert other.stderr.count("lacks code for this machine") == 1, other.stderr
    assert not any(home.rglob("*.nbi"))


def test_threading_layer_is_tbb_where_installed_unless_the_user_chose():
    code = """
    import numba, numpy as np
    from skneuro.kernels._jit import parallel_kernels
    from skneuro.kernels.cpu import dense
    with parallel_kernels():
        dense.matmul_rows(np.ones((64, 100), np.float32), np.ones((100, 100), np.float32),
                          np.empty((64, 100), np.float32))
    print(numba.threading_layer())
    """
    expected = "tbb" if _tbb_installed() else "workqueue"
    assert run_python(code).stdout.strip() == expected
    assert run_python(code, env={"NUMBA_THREADING_LAYER": "workqueue"}).stdout.strip() == \
        "workqueue"
    if _tbb_installed():
        # Chosen by name, TBB must be found as well (the wheel's library is
        # loaded whatever the choice).
        proc = run_python(code, env={"NUMBA_THREADING_LAYER": "tbb"})
        assert proc.stdout.strip() == "tbb", proc.stderr


def _tbb_installed():
    try:
        importlib.metadata.distribution("tbb")
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


#: The layers a user can end up with: the one skneuro selects (TBB where the
#: wheel is installed) and workqueue, its fallback elsewhere.
LAYERS = [None, "workqueue"]


@pytest.mark.parametrize("layer", LAYERS)
def test_threads_fitting_at_once_do_not_crash(layer):
    """Several Python threads training, with the parallel variants allowed.

    Numba's workqueue layer aborts the process on concurrent entry; the
    process-wide lock sends all but one thread to the serial variant.
    """
    code = """
    import threading, warnings
    import numpy as np
    from skneuro import MLPClassifier
    from skneuro.kernels._jit import parallel_kernels
    from skneuro.kernels.cpu import optim
    warnings.simplefilter("ignore")
    X = np.random.default_rng(0).normal(size=(400, 30))
    y = (X[:, 0] > 0).astype(int)
    errors = []

    def work(seed):
        try:
            with parallel_kernels():
                MLPClassifier((32,), max_iter=3, random_state=seed).fit(X, y).predict(X)
                w = np.ones(300_000, np.float32)
                for _ in range(50):
                    optim.sgd_update(w, w.copy(), np.zeros_like(w), np.float32(1e-3),
                                     np.float32(0.9), True, np.float32(0), w.size)
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads: t.start()
    for t in threads: t.join()
    assert not errors, errors
    print("ok")
    """
    proc = run_python(code, timeout=300, env=_layer_env(layer))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "ok"


def _layer_env(layer):
    return {} if layer is None else {"NUMBA_THREADING_LAYER": layer}


# Forking is what the GNU OpenMP layer gets wrong; where there is no fork there
# is nothing to test.
@pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork is POSIX only")
@pytest.mark.parametrize("layer", LAYERS)
def test_fork_after_a_parallel_fit_does_not_hang(layer):
    code = """
    import os, warnings
    import numpy as np
    from skneuro import MLPClassifier
    from skneuro.kernels._jit import parallel_kernels
    from skneuro.kernels.cpu import optim
    warnings.simplefilter("ignore")
    X = np.random.default_rng(0).normal(size=(300, 10))
    y = (X[:, 0] > 0).astype(int)

    def job():
        with parallel_kernels():
            w = np.ones(300_000, np.float32)
            optim.sgd_update(w, w.copy(), np.zeros_like(w), np.float32(1e-3),
                             np.float32(0.9), True, np.float32(0), w.size)
        return MLPClassifier((16,), max_iter=2, random_state=0).fit(X, y).predict(X)

    job()
    pid = os.fork()
    if pid == 0:
        job()
        os._exit(0)
    _, status = os.waitpid(pid, 0)
    print(os.waitstatus_to_exitcode(status))
    """
    proc = run_python(code, timeout=120, env=_layer_env(layer))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "0"


class RecordThreads(Callback):
    def on_train_begin(self, trainer):
        import numba
        from threadpoolctl import threadpool_info

        self.numba_threads = numba.get_num_threads()
        self.blas_threads = [i["num_threads"] for i in threadpool_info()
                             if i["user_api"] == "blas"]


def test_joblib_workers_take_a_fair_share_of_the_cores():
    X, y = load_digits(return_X_y=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        result = cross_validate(
            MLPClassifier((8,), max_iter=2, random_state=0, callbacks=[RecordThreads()]),
            X / 16, y, cv=2, n_jobs=2, return_estimator=True)
    share = max((os.cpu_count() or 1) // 2, 1)
    for est in result["estimator"]:
        record = est._trainer.callbacks[0]
        assert record.numba_threads <= share
        assert all(n <= share for n in record.blas_threads)


def test_same_seed_gives_a_bit_identical_model_for_any_thread_count():
    X, y = load_digits(return_X_y=True)
    X = X[:600] / 16
    y = y[:600]
    params = dict(hidden_layer_sizes=(64,), max_iter=5, random_state=0, batch_size=64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        one = MLPClassifier(**params, n_jobs=1).fit(X, y)
        one_again = MLPClassifier(**params, n_jobs=1).fit(X, y)
        two = MLPClassifier(**params, n_jobs=2).fit(X, y)
    # The dense products are our fixed-order kernels, and every reduction
    # runs in fixed chunks: the thread count cannot change a bit.
    for a, b, c in zip(one.coefs_ + one.intercepts_, one_again.coefs_ + one_again.intercepts_,
                       two.coefs_ + two.intercepts_):
        assert_array_equal(a, b)
        assert_array_equal(a, c)
    assert_array_equal(one.predict_proba(X), two.predict_proba(X))
