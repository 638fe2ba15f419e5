"""Thread limits applied for the duration of one fit or predict call."""

import contextlib
import os
import threading

import numba

_BLAS_CONTROLLER = None
_BLAS_LOCK = threading.Lock()


def blas_threads(n_threads):
    """A context limiting BLAS to ``n_threads`` threads.

    threadpoolctl's controller is built once: building it scans the process's
    loaded libraries (~3 ms), which every limit would otherwise repeat (a
    DDPM sampler predicts once per step).
    """
    global _BLAS_CONTROLLER
    with _BLAS_LOCK:
        if _BLAS_CONTROLLER is None:
            from threadpoolctl import ThreadpoolController

            _BLAS_CONTROLLER = ThreadpoolController()
    return _BLAS_CONTROLLER.limit(limits=n_threads, user_api="blas")


def effective_n_threads(n_jobs):
    """Number of threads for ``n_jobs``, in scikit-learn's convention.

    ``None`` keeps the current setting (inside joblib workers, joblib has
    already lowered it to a share of the cores); a positive value asks for that
    many threads; ``-1`` means all cores, ``-2`` all but one, and so on. The
    result never exceeds ``NUMBA_NUM_THREADS``, above which
    ``numba.set_num_threads`` raises.
    """
    ceiling = numba.config.NUMBA_NUM_THREADS
    if n_jobs is None:
        return numba.get_num_threads()
    if n_jobs < 0:
        n_jobs = max((os.cpu_count() or 1) + 1 + n_jobs, 1)
    return max(1, min(int(n_jobs), ceiling))


def limit_threads(n_jobs):
    """A context limiting Numba's and BLAS's threads to ``n_jobs`` inside the block.

    Both limits are restored on exit, also when the block raises. With
    ``n_jobs=None`` nothing is changed (and nothing is paid: an empty
    context, as a prediction of one row takes ~30 us).
    """
    if n_jobs is None:
        return contextlib.nullcontext()
    return _threads_limited_to(effective_n_threads(n_jobs))


@contextlib.contextmanager
def _threads_limited_to(n_threads):
    previous = numba.get_num_threads()
    numba.set_num_threads(n_threads)
    try:
        with blas_threads(n_threads):
            yield
    finally:
        numba.set_num_threads(previous)
