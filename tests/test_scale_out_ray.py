"""skneuro on Ray: searches, the thread budget in Ray's workers, GPU placement.

A local Ray with 2 CPUs, started once for the module; it also declares 2 GPUs,
which Ray hands out (setting ``CUDA_VISIBLE_DEVICES`` for each task) whether
or not they exist: the tests that use them run over a stand-in for the GPUs
(tests/_gpu_standin.py). See doc/scaling.rst.
"""

import os
import sys

import numba
import numpy as np
import pytest

ray = pytest.importorskip("ray", reason="needs ray (pip install .[scale])")

import joblib  # noqa: E402
from ray.util.joblib import register_ray  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402

from skneuro import MLPClassifier  # noqa: E402
from skneuro._threads import ray_worker_threads  # noqa: E402
from skneuro.nn import Callback  # noqa: E402
from tests import _gpu_standin  # noqa: E402
from tests._searches import SEARCHES  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def ray_local():
    ray.init(num_cpus=2, num_gpus=2, include_dashboard=False, log_to_driver=False)
    register_ray()
    # Ray's workers import a function's module by name unless it is pickled by
    # value; where skneuro is installed, tests/ need not be on their path.
    modules = [sys.modules[__name__], _gpu_standin]
    for module in modules:
        ray.cloudpickle.register_pickle_by_value(module)
    try:
        yield
    finally:
        for module in modules:
            ray.cloudpickle.unregister_pickle_by_value(module)
        ray.shutdown()


@pytest.mark.parametrize("kind", ["grid", "randomized", "halving"])
def test_search_on_ray_scores_as_local(ray_local, kind):
    # The same three searches as on Dask (tests/test_scale_out.py).
    X, y = load_digits(return_X_y=True)
    make = SEARCHES[kind]
    local = make().fit(X, y)
    with joblib.parallel_backend("ray"):
        remote = make().set_params(n_jobs=-1).fit(X, y)
        pids = joblib.Parallel(n_jobs=-1)(joblib.delayed(os.getpid)() for _ in range(4))
    assert os.getpid() not in pids  # the backend runs tasks in Ray's worker processes
    assert [str(p) for p in remote.cv_results_["params"]] == \
        [str(p) for p in local.cv_results_["params"]]
    np.testing.assert_array_equal(remote.cv_results_["mean_test_score"],
                                  local.cv_results_["mean_test_score"])
    assert remote.best_params_ == local.best_params_


class _RecordThreads(Callback):
    """Numba's and BLAS's thread counts seen by the training loop, once per epoch."""

    def __init__(self):
        self.seen = []

    def on_epoch_end(self, trainer, logs):
        from threadpoolctl import threadpool_info

        blas = {lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"}
        self.seen.append((numba.get_num_threads(), blas))


def _fit_and_report_threads():
    X, y = load_digits(return_X_y=True)
    record = _RecordThreads()
    before = numba.get_num_threads()
    MLPClassifier((8,), max_iter=2, random_state=0, callbacks=[record]).fit(X[:200], y[:200])
    return before, [numba_threads for numba_threads, _ in record.seen], \
        [blas for _, blas in record.seen], numba.get_num_threads(), os.getpid()


def test_threads_in_ray_workers_are_their_cpu_share(ray_local):
    """n_jobs=None: a task's fit runs its num_cpus threads (Numba and BLAS), an actor
    without CPUs (as Ray's joblib backend starts them) OMP_NUM_THREADS's, which Ray
    sets to 1; the worker's own Numba setting is back after the fit."""
    one_cpu = ray.remote(num_cpus=1)(_fit_and_report_threads)
    two_cpus = ray.remote(num_cpus=2)(_fit_and_report_threads)
    before, seen, blas, after, pid = ray.get(one_cpu.remote())
    if before == 1:
        pytest.skip("Numba runs one thread on this machine: no budget to check")
    assert pid != os.getpid()
    assert seen == [1, 1]  # the worker's default is all the cores: the limit is skneuro's
    assert blas and all(counts == {1} for counts in blas)  # every BLAS library: 1 thread
    assert after == before

    before, seen, blas, after, _ = ray.get(two_cpus.remote())
    assert seen == [min(before, 2)] * 2
    # A dense fit's products are Numba's; BLAS runs one thread whatever the share.
    assert all(counts == {1} for counts in blas)

    with joblib.parallel_backend("ray"):
        results = joblib.Parallel(n_jobs=2)(joblib.delayed(_fit_and_report_threads)()
                                            for _ in range(2))
    for before, seen, _, after, _ in results:
        assert seen == [1, 1]
        assert after == before
    # The driver is no worker: its fits keep Numba's setting.
    assert ray_worker_threads() is None


def test_ray_gpu_tasks_each_run_on_their_own_gpu(ray_local):
    """Two tasks with num_gpus=1 at once: Ray gives each its own GPU by
    CUDA_VISIBLE_DEVICES, and a fit with device="cuda" runs there (stand-in GPUs)."""
    task = ray.remote(num_cpus=1, num_gpus=1)(_gpu_standin.fit_on_cuda_and_report_placement)
    reports = ray.get([task.remote(), task.remote()])
    assert sorted(report["env_before"] for report in reports) == ["0", "1"]
    for report in reports:
        own = _gpu_standin.MACHINE_GPUS[int(report["env_before"])]
        assert report["env_after"] == report["env_before"]
        assert report["before"] == report["after"] == {
            "id": 0, "uuid": own, "visible_devices": report["env_before"]}
        assert report["n_allocations"] > 0
        assert report["allocated_on"] == [own]


def _fit_and_count_compiled(rows):
    """Fit in this process; how many specializations skneuro's kernels hold here."""
    from numba.core.dispatcher import Dispatcher

    X, y = load_digits(return_X_y=True)
    MLPClassifier((8,), max_iter=2, random_state=0).fit(X[:rows], y[:rows])
    compiled = sum(len(obj.signatures) for name, module in list(sys.modules.items())
                   if name.startswith("skneuro") and module is not None
                   for obj in list(vars(module).values()) if isinstance(obj, Dispatcher))
    return compiled, os.getpid()


def test_kernels_compile_once_per_ray_worker_process(ray_local):
    """A second fit in the same Ray worker process (other data size) adds no
    specialization: an actor's calls, as Ray's joblib backend makes them."""

    @ray.remote(num_cpus=1)
    class Fitter:
        def fit(self, rows):
            return _fit_and_count_compiled(rows)

    fitter = Fitter.remote()
    (first, pid), (again, same_pid) = ray.get(fitter.fit.remote(300)), \
        ray.get(fitter.fit.remote(500))
    assert pid == same_pid != os.getpid()
    assert first > 0
    assert again == first
