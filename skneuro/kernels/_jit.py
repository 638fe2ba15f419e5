"""Compile one kernel twice, serially and in parallel, and pick at call time.

Numba's ``workqueue`` threading layer aborts when two threads enter a parallel
region at once (the layer Numba picks depends on what is installed: ``omp``
with the pip wheel's GNU OpenMP, ``tbb`` if found, else ``workqueue``), and a
parallel launch costs microseconds that small batches cannot repay. Every
kernel is therefore written once in plain Python and compiled in two variants:

* ``serial``: ``prange`` runs as ``range``; the GIL is released so that
  several Python threads can train at once;
* ``parallel``: used when the work is large and this thread wins a
  process-wide lock; a thread that finds the lock busy runs the serial variant
  instead of waiting, so concurrent fits never crash and never deadlock.

Both variants compute the same thing in the same order (reductions are chunked
by fixed sizes, not by thread), so the choice changes speed, not results.
"""

import functools
import threading
import types

import numba

from skneuro._config import FASTMATH, PARALLEL_THRESHOLD

_PARALLEL_LOCK = threading.Lock()

#: Smallest normal float32. Kernels flush values below it to zero where they
#: would otherwise produce subnormal numbers (slow on every x86 CPU).
FLT_MIN = 1.1754943508222875e-38


def _renamed_copy(func, suffix):
    """Return a copy of ``func`` whose qualified name ends with ``suffix``.

    Numba's on-disk cache is keyed by the function's qualified name and its
    bytecode, not by compile flags; two variants of one function need two
    names or they would overwrite each other's cache entries.
    """
    copy = types.FunctionType(
        func.__code__, func.__globals__, func.__name__ + suffix,
        func.__defaults__, func.__closure__,
    )
    copy.__qualname__ = func.__qualname__ + suffix
    copy.__module__ = func.__module__
    copy.__doc__ = func.__doc__
    return copy


class Kernel:
    """A kernel with a serial and a parallel compiled variant.

    Parameters
    ----------
    func : callable
        Plain-Python kernel body, using ``numba.prange`` for its parallel loop.
        Its first argument is the array whose size decides the variant.
    threshold : int
        Minimum ``args[0].size`` for the parallel variant.
    """

    def __init__(self, func, threshold=PARALLEL_THRESHOLD):
        self.py_func = func
        self.threshold = threshold
        options = dict(cache=True, fastmath=set(FASTMATH), nogil=True)
        self.serial = numba.njit(**options)(func)
        self.parallel = numba.njit(parallel=True, **options)(
            _renamed_copy(func, "_parallel")
        )
        # Name, module and docstring of the kernel body, so documentation tools
        # and error messages see the kernel, not this class.
        functools.update_wrapper(self, func)

    def __call__(self, *args):
        if args[0].size >= self.threshold and numba.get_num_threads() > 1:
            if _PARALLEL_LOCK.acquire(blocking=False):
                try:
                    return self.parallel(*args)
                finally:
                    _PARALLEL_LOCK.release()
        return self.serial(*args)


def kernel(func=None, *, threshold=PARALLEL_THRESHOLD):
    """Decorate a plain-Python kernel body as a :class:`Kernel`."""
    if func is None:
        return lambda f: Kernel(f, threshold)
    return Kernel(func, threshold)


def serial_kernel(func):
    """Compile a kernel that is always serial (small or sequential work)."""
    return numba.njit(cache=True, fastmath=set(FASTMATH), nogil=True)(func)
