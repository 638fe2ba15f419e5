"""Thread limits applied for the duration of one fit or predict call."""

import contextlib
import os
import sys

import numba

from skneuro._locks import fork_safe_lock

# BLAS's thread count is one setting for the whole process, while skneuro calls
# run in several threads at once: each call's limit is registered here, the
# lowest registered limit applies, and the setting the first call found comes
# back when the last one ends (a save/restore per call would leak whichever
# limit was active when the calls interleave).
_BLAS_LOCK = fork_safe_lock()
_BLAS_LIBRARIES = None
_BLAS_SCANNED_WITH = -1  # len(sys.modules) when _BLAS_LIBRARIES was found
_BLAS_REQUESTS = []
_BLAS_ORIGINAL = []


def _blas_libraries():
    """threadpoolctl's BLAS controllers, found again only after new imports.

    Scanning the process's loaded libraries costs ~3 ms, which every limit
    would otherwise repeat (a DDPM sampler predicts once per step). But a BLAS
    can load after the first limit (scipy's OpenBLAS comes with scikit-learn,
    after numpy's), and a list found before it left that one at all the cores;
    a library only loads with new modules, so the number of imported modules
    tells when to look again. Call with ``_BLAS_LOCK`` held and no limit
    active, since the active limits restore through the list they set.
    """
    global _BLAS_LIBRARIES, _BLAS_SCANNED_WITH
    if _BLAS_LIBRARIES is None or len(sys.modules) != _BLAS_SCANNED_WITH:
        from threadpoolctl import ThreadpoolController

        _BLAS_SCANNED_WITH = len(sys.modules)
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
        if not _BLAS_REQUESTS:
            _BLAS_ORIGINAL[:] = [library.num_threads for library in _blas_libraries()]
        libraries = _BLAS_LIBRARIES  # the list until the last active limit ends
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


def dask_worker_threads():
    """The thread count of the Dask worker running the caller, or ``None`` outside one.

    A Dask worker runs ``nthreads`` tasks at once in one process, and its
    ``nthreads`` is its share of the machine's cores (``LocalCluster`` divides
    the cores among its workers). Numba's default is all the cores in every
    process, so without a limit 2 workers on 2 cores would run 4 threads.
    ``distributed`` is looked for in ``sys.modules`` only: a process that has
    not imported it runs no Dask worker, and skneuro never imports it.
    """
    module = sys.modules.get("distributed")
    if module is None:
        return None
    try:
        worker = module.get_worker()
    except (AttributeError, ValueError):  # not inside a worker's task
        return None
    state = getattr(worker, "state", None)  # distributed >= 2022.11 keeps it here
    nthreads = getattr(state, "nthreads", None) or getattr(worker, "nthreads", None)
    return int(nthreads) if nthreads else None


def ray_worker_threads():
    """The CPU share of the Ray task or actor running the caller, or ``None`` outside one.

    Ray runs tasks and actors in worker processes that each see all the
    machine's cores, so without a limit every worker would run as many Numba
    threads as there are cores. The share is the CPUs Ray assigned to the task
    or actor (``num_cpus``; rounded down, at least 1); where none are assigned
    (an actor's default, and the actors of Ray's joblib backend), it is
    ``OMP_NUM_THREADS``, which Ray sets for each task and actor from its
    ``num_cpus`` (1 where that is 0) unless the user set it. ``ray`` is looked
    for in ``sys.modules`` only: a Ray worker process has always imported it,
    and importing it here would cost every program a second of start-up.
    """
    module = sys.modules.get("ray")
    if module is None:
        return None
    try:
        if not module.is_initialized():
            return None
        context = module.get_runtime_context()
        # The driver (the user's program) is no worker: its threads are the user's.
        if getattr(context.worker, "mode", None) != module.WORKER_MODE:
            return None
        cpus = context.get_assigned_resources().get("CPU", 0)
    except (AttributeError, AssertionError):  # a Ray without these names, or not a worker
        return None
    if cpus >= 1:
        return int(cpus)
    try:
        return max(1, int(os.environ.get("OMP_NUM_THREADS", "")))
    except ValueError:  # unset or not a number: a task without CPUs gets one thread
        return 1


def worker_threads():
    """The thread share of the Dask or Ray worker running the caller, or ``None``.

    See :func:`dask_worker_threads` and :func:`ray_worker_threads`.
    """
    share = dask_worker_threads()
    return ray_worker_threads() if share is None else share


def effective_n_threads(n_jobs):
    """Number of threads for ``n_jobs``, in scikit-learn's convention.

    ``None`` keeps the current setting (inside joblib workers, joblib has
    already lowered it to a share of the cores), except inside a Dask worker's
    task or a Ray task or actor, where it is at most the worker's share (see
    :func:`worker_threads`); a positive value asks for that many threads;
    ``-1`` means all cores, ``-2`` all but one, and so on. The result never
    exceeds ``NUMBA_NUM_THREADS``, above which ``numba.set_num_threads`` raises.
    """
    ceiling = numba.config.NUMBA_NUM_THREADS
    if n_jobs is None:
        current = numba.get_num_threads()
        share = worker_threads()
        return current if share is None else max(1, min(current, share))
    if n_jobs < 0:
        n_jobs = max((os.cpu_count() or 1) + 1 + n_jobs, 1)
    return max(1, min(int(n_jobs), ceiling))


def limit_threads(n_jobs):
    """A context limiting Numba's and BLAS's threads to ``n_jobs`` inside the block.

    Both limits are restored on exit, also when the block raises. With
    ``n_jobs=None`` nothing is changed (and nothing is paid: an empty
    context, as a prediction of one row takes ~30 us), except inside a Dask
    worker's task or a Ray task or actor: there Numba and BLAS run with the
    worker's share of the cores (see :func:`worker_threads`), or Numba's
    current setting if lower.
    """
    if n_jobs is None:
        share = worker_threads()
        if share is None:
            return contextlib.nullcontext()
        return _threads_limited_to(max(1, min(numba.get_num_threads(), share)))
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
