"""Thread limits: applied during a call, restored afterwards, clamped to Numba's ceiling."""

import numba
import pytest
from threadpoolctl import threadpool_info

from skneuro._threads import effective_n_threads, limit_threads


def _blas_threads():
    return [info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas"]


def test_limit_threads_restores_even_on_error():
    before_numba = numba.get_num_threads()
    before_blas = _blas_threads()
    with pytest.raises(RuntimeError):
        with limit_threads(1):
            assert numba.get_num_threads() == 1
            assert all(n == 1 for n in _blas_threads())
            raise RuntimeError
    assert numba.get_num_threads() == before_numba
    assert _blas_threads() == before_blas


def test_effective_threads_is_clamped():
    ceiling = numba.config.NUMBA_NUM_THREADS
    assert effective_n_threads(10_000) == ceiling
    assert effective_n_threads(1) == 1
    assert 1 <= effective_n_threads(-1) <= ceiling
    assert effective_n_threads(None) == numba.get_num_threads()


def test_estimator_uses_n_jobs_only_during_fit():
    import numpy as np

    from skneuro import MLPClassifier

    before = numba.get_num_threads()
    seen = []

    from skneuro.nn import Callback

    class Record(Callback):
        def on_epoch_end(self, trainer, logs):
            seen.append(numba.get_num_threads())

    X = np.random.default_rng(0).normal(size=(40, 3))
    y = (X[:, 0] > 0).astype(int)
    MLPClassifier((4,), max_iter=2, n_jobs=1, callbacks=[Record()]).fit(X, y)
    assert seen == [1, 1]
    assert numba.get_num_threads() == before


def _double(x):
    for i in numba.prange(x.shape[0]):
        x[i] *= 2.0


def _halve(x):
    for i in numba.prange(x.shape[0]):
        x[i] *= 0.5


@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="one thread: never parallel")
def test_parallel_kernels_only_lets_the_named_kernels_run_in_parallel():
    import numpy as np

    from skneuro.kernels._jit import kernel, parallel_kernels

    double, halve = kernel(_double, threshold=1), kernel(_halve, threshold=1)
    x = np.ones(8)
    with parallel_kernels(only=[double]):
        double(x)
        halve(x)
    assert double.parallel.signatures and not double.serial.signatures
    assert halve.serial.signatures and not halve.parallel.signatures
    with parallel_kernels():
        halve(x)
    assert halve.parallel.signatures
    assert (x == 0.5).all()


def _triple(x, y):
    for i in numba.prange(x.shape[0]):
        y[i] = 3.0 * x[i]


# One function per Kernel: with two Kernels compiled from one function (same
# name, same cache entries) the process crashed in the next test.
def _quadruple(x, y):
    for i in numba.prange(y.shape[0]):
        y[i] = 4.0 * x[i]


@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="one thread: never parallel")
def test_a_kernel_work_hook_decides_its_variant():
    import numpy as np

    from skneuro.kernels._jit import kernel, parallel_kernels

    # The second argument's size decides here, not the first's.
    by_output = kernel(_triple, threshold=100, work=lambda x, y: y.size)
    small = kernel(_quadruple, threshold=100, work=lambda x, y: y.size)
    with parallel_kernels():
        by_output(np.ones(10), np.empty(100))
        small(np.ones(1000), np.empty(10))
    assert by_output.parallel.signatures and not by_output.serial.signatures
    assert small.serial.signatures and not small.parallel.signatures


def test_dense_chains_run_in_parallel_by_their_multiply_adds():
    import numpy as np

    from skneuro.kernels.cpu.dense import PARALLEL_PRODUCT_WORK
    from skneuro.kernels.cpu.dense_chain import _chain_work

    x = np.empty((64, 20))  # narrow input, wide layers: worth both cores
    weights = (np.empty((20, 500)), np.empty((500, 10)))
    outs = (np.empty((64, 500)), np.empty((64, 10)))
    assert _chain_work(x, outs, weights) == 64 * (20 * 500 + 500 * 10) >= PARALLEL_PRODUCT_WORK
    one_job = np.empty((16, 784))  # 16 rows are one job: nobody to share with
    assert _chain_work(one_job, (np.empty((16, 256)),), (np.empty((784, 256)),)) == 0


def test_one_estimator_predicting_from_several_threads_at_once():
    # The layers' buffers are the network's: without Network.lock, threads
    # overwrote each other's activations (wrong predictions, no error).
    import threading
    import warnings

    import numpy as np
    from sklearn.datasets import load_digits

    from skneuro import AutoEncoder, MLPClassifier

    X, y = load_digits(return_X_y=True)
    X = (X / 16).astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        methods = [MLPClassifier((64,), max_iter=3, random_state=0).fit(X, y).predict_proba,
                   AutoEncoder(2, max_iter=2, random_state=0).fit(X).transform]
    for method in methods:
        expected = {n: method(X[:n]) for n in (7, 64, 300)}
        wrong = []

        def work(n, method=method, expected=expected, wrong=wrong):
            for _ in range(60):
                if not np.array_equal(method(X[:n]), expected[n]):
                    wrong.append(n)

        threads = [threading.Thread(target=work, args=(n,)) for n in (7, 64, 300, 64, 7, 300)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not wrong


def _fake_distributed(nthreads):
    """A stand-in for ``distributed`` whose ``get_worker`` finds a worker of ``nthreads``."""
    import types

    worker = types.SimpleNamespace(state=types.SimpleNamespace(nthreads=nthreads))
    return types.SimpleNamespace(get_worker=lambda: worker)


def _not_in_worker():
    raise ValueError("No worker found")


def test_dask_worker_share_applies_with_n_jobs_none(monkeypatch):
    import sys
    import types

    from skneuro._threads import dask_worker_threads

    monkeypatch.setitem(sys.modules, "distributed", _fake_distributed(1))
    before_numba, before_blas = numba.get_num_threads(), _blas_threads()
    assert dask_worker_threads() == 1
    assert effective_n_threads(None) == 1
    with limit_threads(None):
        assert numba.get_num_threads() == 1
        assert all(n == 1 for n in _blas_threads())
    assert numba.get_num_threads() == before_numba
    assert _blas_threads() == before_blas
    # An explicit n_jobs wins over the share.
    assert effective_n_threads(2) == min(2, numba.config.NUMBA_NUM_THREADS)
    # A share above the current setting does not raise it (nor hit Numba's ceiling).
    monkeypatch.setitem(sys.modules, "distributed", _fake_distributed(10_000))
    assert effective_n_threads(None) == numba.get_num_threads()
    # Older distributed: nthreads on the worker itself.
    old = types.SimpleNamespace(nthreads=1)
    monkeypatch.setitem(sys.modules, "distributed", types.SimpleNamespace(get_worker=lambda: old))
    assert dask_worker_threads() == 1
    # Outside a worker's task (get_worker raises ValueError): nothing changes.
    monkeypatch.setitem(sys.modules, "distributed",
                        types.SimpleNamespace(get_worker=_not_in_worker))
    assert dask_worker_threads() is None
    assert effective_n_threads(None) == numba.get_num_threads()


def test_no_distributed_import(monkeypatch):
    import sys

    from skneuro._threads import dask_worker_threads

    monkeypatch.delitem(sys.modules, "distributed", raising=False)
    assert dask_worker_threads() is None
    assert "distributed" not in sys.modules


@pytest.mark.filterwarnings("ignore:Stochastic Optimizer")  # max_iter=2
def test_estimator_fit_in_dask_worker_uses_share(monkeypatch):
    import sys

    import numpy as np

    from skneuro import MLPClassifier
    from skneuro.nn import Callback

    seen = []

    class Record(Callback):
        def on_epoch_end(self, trainer, logs):
            seen.append((numba.get_num_threads(), _blas_threads()))

    monkeypatch.setitem(sys.modules, "distributed", _fake_distributed(1))
    before = numba.get_num_threads()
    X = np.random.default_rng(0).normal(size=(40, 3))
    y = (X[:, 0] > 0).astype(int)
    MLPClassifier((4,), max_iter=2, callbacks=[Record()]).fit(X, y)
    assert all(n == 1 and all(b == 1 for b in blas) for n, blas in seen) and len(seen) == 2
    assert numba.get_num_threads() == before


def _fake_ray(mode="worker", cpus=None, initialized=True):
    """A stand-in for ``ray`` in a worker process (``mode="worker"``) or the driver,
    whose task or actor was assigned ``cpus`` CPUs (None: no CPU resource)."""
    import types

    resources = {} if cpus is None else {"CPU": float(cpus)}
    context = types.SimpleNamespace(worker=types.SimpleNamespace(mode={"worker": 1,
                                                                       "driver": 0}[mode]),
                                    get_assigned_resources=lambda: resources)
    return types.SimpleNamespace(is_initialized=lambda: initialized, WORKER_MODE=1,
                                 get_runtime_context=lambda: context)


def test_ray_worker_share(monkeypatch):
    """The real thing runs in tests/test_scale_out_ray.py; these are the rule's cases."""
    import sys

    from skneuro._threads import ray_worker_threads, worker_threads

    monkeypatch.delitem(sys.modules, "distributed", raising=False)
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    cases = [
        (_fake_ray(cpus=2), 2),  # a task's num_cpus
        (_fake_ray(cpus=2.5), 2),  # fractional CPUs: rounded down
        (_fake_ray(cpus=0.5), 3),  # less than one CPU: OMP_NUM_THREADS, which Ray sets
        (_fake_ray(cpus=None), 3),  # an actor without CPUs: the same
        (_fake_ray(mode="driver", cpus=2), None),  # the user's program is no worker
        (_fake_ray(initialized=False), None),  # imported, never started
    ]
    for fake, expected in cases:
        monkeypatch.setitem(sys.modules, "ray", fake)
        assert ray_worker_threads() == expected
        assert worker_threads() == expected
    monkeypatch.setitem(sys.modules, "ray", _fake_ray(cpus=None))
    for omp in ("", "many"):  # unset or unreadable: one thread, as Ray would set it
        monkeypatch.setenv("OMP_NUM_THREADS", omp)
        assert ray_worker_threads() == 1
    monkeypatch.delenv("OMP_NUM_THREADS")
    assert ray_worker_threads() == 1
    with limit_threads(None):
        assert numba.get_num_threads() == 1
        assert all(n == 1 for n in _blas_threads())
    # Dask's rule applies first (a Dask worker inside a Ray task is Dask's).
    monkeypatch.setitem(sys.modules, "distributed", _fake_distributed(2))
    assert worker_threads() == 2


def test_no_ray_import(monkeypatch):
    import sys

    from skneuro._threads import limit_threads, ray_worker_threads

    monkeypatch.delitem(sys.modules, "ray", raising=False)
    assert ray_worker_threads() is None
    with limit_threads(None):
        pass
    assert "ray" not in sys.modules


def _dense_estimators():
    from skneuro import AutoEncoder, MLPClassifier, MLPRegressor

    common = dict(max_iter=4, random_state=0, batch_size=32, tol=0)
    return [
        MLPClassifier((48, 24), early_stopping=True, n_iter_no_change=10, **common),
        MLPRegressor((32,), solver="sgd", learning_rate_init=0.01, **common),
        AutoEncoder(n_components=4, hidden_layer_sizes=(40,), **common),
        AutoEncoder(n_components=4, hidden_layer_sizes=(40,), variational=True, **common),
    ]


@pytest.mark.parametrize("index", range(4))
def test_dense_models_are_bit_identical_for_one_and_two_threads(index):
    """Dense networks train their products in fixed-order kernels
    (kernels.cpu.dense.fixed_order_products), so the model is the same for
    any thread count (BLAS's float32 products round differently on 1 and 2
    threads); the convolutional ones train in shards (tests/test_shards.py)."""
    import warnings

    import numpy as np
    from numpy.testing import assert_array_equal
    from sklearn.base import clone
    from sklearn.datasets import load_digits
    from sklearn.exceptions import ConvergenceWarning

    X, y = load_digits(return_X_y=True)
    X, y = (X[:400] / 16).astype(np.float32), y[:400]
    estimator = _dense_estimators()[index]
    target = X[:, :10] @ np.arange(10.0) if "Regressor" in type(estimator).__name__ else y
    fitted = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for n_jobs in (1, 2):
            fitted.append(clone(estimator).set_params(n_jobs=n_jobs).fit(X, target))
    one, two = fitted
    for a, b in zip(one.network_.get_weights(), two.network_.get_weights()):
        assert_array_equal(a, b)
    out = "transform" if hasattr(one, "transform") else "predict"
    assert_array_equal(getattr(one, out)(X), getattr(two, out)(X))


@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="one thread: never parallel")
def test_a_dense_fit_lets_its_optimizer_updates_run_on_every_core():
    """The fit's context names the update kernels themselves (their public
    functions split each update in two calls): when it named the functions, the
    updates ran serially and a two-thread MLP epoch took 5% longer."""
    from skneuro.backends.cpu import CPUBackend
    from skneuro.kernels._jit import _STATE, QUICK_THREAD_START
    from skneuro.kernels.cpu import optim

    if not QUICK_THREAD_START:
        pytest.skip("no threading layer that starts parallel regions quickly: all serial")
    with CPUBackend().training():
        allowed = _STATE.parallel
    assert allowed is not False
    assert all(kernel in allowed for kernel in optim.UPDATE_KERNELS)
