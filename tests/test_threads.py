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
