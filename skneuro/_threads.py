"""Thread limits applied for the duration of one fit or predict call."""

import contextlib
import os

import numba

from skneuro._locks import fork_safe_lock

# BLAS's thread count is one setting for the whole process, while skneuro calls
# run in several threads at once: each call's limit is registered here, the
# lowest registered limit applies, and the setting the first call found comes
# back when the last one ends (a save/restore per call would leak whichever
# limit was active when the calls interleave).
_BLAS_LOCK = fork_safe_lock()
_BLAS_LIBRARIES = None
_BLAS_REQUESTS = []
_BLAS_ORIGINAL = []


def _blas_libraries():
    """threadpoolctl's BLAS controllers, found once.

    Scanning the process's loaded libraries costs ~3 ms, which every limit
    would otherwise repeat (a DDPM sampler predicts once per step).
    """
    global _BLAS_LIBRARIES
    if _BLAS_LIBRARIES is None:
        from threadpoolctl import ThreadpoolController

        _BLAS_LIBRARIES = ThreadpoolController().select(user_api="blas").lib_controllers
    return _BLAS_LIBRARIES


def _set_blas_threads(libraries, counts):
    for library, n in zip(libraries, counts):
        if n is not None and library.num_threads != n:
            library.set_num_threads(n)
            # threadpoolctl lets one thread at a time own OpenBLAS's setting
            # and ignores the others; ours are serialized by _BLAS_LOCK.
            release = getattr(type(library), "clear_controlling_thread", None)
            if release is not None:
                release()


@contextlib.contextmanager
def blas_threads(n_threads):
    """A context limiting BLAS to ``n_threads`` threads (or fewer) inside the block.

    While several threads are inside such blocks, BLAS runs with the lowest of
    their limits; when the last block ends, BLAS is back at the setting found
    when the first one began.
    """
    with _BLAS_LOCK:
        libraries = _blas_libraries()
        if not _BLAS_REQUESTS:
            _BLAS_ORIGINAL[:] = [library.num_threads for library in libraries]
        _BLAS_REQUESTS.append(n_threads)
    try:
        with _BLAS_LOCK:
            _set_blas_threads(libraries, [min(_BLAS_REQUESTS)] * len(libraries))
        yield
    finally:
        with _BLAS_LOCK:
            _BLAS_REQUESTS.remove(n_threads)
            if _BLAS_REQUESTS:
                _set_blas_threads(libraries, [min(_BLAS_REQUESTS)] * len(libraries))
            else:
                _set_blas_threads(libraries, _BLAS_ORIGINAL)


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
