"""Compile one kernel twice, serially and in parallel, and pick at call time.

Every kernel is written once in plain Python and compiled in two variants:

* ``serial``: ``prange`` runs as ``range``; the GIL is released, so several
  Python threads can train at once. This is the default.
* ``parallel``: used only inside :func:`parallel_kernels`, for arrays of at
  least ``threshold`` elements, and only by the thread that wins a
  process-wide lock; a thread that finds the lock busy runs the serial variant
  instead of waiting, so concurrent fits never crash and never deadlock.

Why serial by default: in the dense networks the time goes to BLAS, whose
threads spin for a while after each product. A parallel Numba region started
between two products fights those spinning threads for the cores; measured on
2 cores, an MLP epoch then runs 10x slower than with serial elementwise
kernels, which take microseconds anyway. Code that runs where BLAS is idle
(direct convolution kernels, say) opts in with ``parallel_kernels()``.

Both variants compute the same thing in the same order (reductions are chunked
by fixed sizes, not by thread), but not always to the same bits: under the
``contract`` fast-math flag LLVM may fuse a multiply and an add into one
instruction in one variant and not in the other (measured: Adam's update).
So only kernels whose variants are tested bit-identical run in parallel
where a result must not depend on the thread count: the dense products,
whose multiply-adds are explicit (:mod:`skneuro.kernels.cpu.simd`), and
kernels compiled with ``exact_rounding`` (the optimizer updates).

Every kernel uses ``error_model="numpy"``: a float division by zero gives inf
or NaN (which the trainer detects) instead of raising, and without the
zero-division branch in every loop body LLVM vectorizes the loops (7x on an
Adam step).

Threading layer: TBB where the ``tbb`` wheel is installed (a dependency on
Linux x86-64), else ``workqueue``, unless the user chose one
(``NUMBA_THREADING_LAYER`` or ``NUMBA_THREADING_LAYER_PRIORITY``). Both are
safe in a process forked after a parallel region, which the GNU OpenMP
layer is not. TBB's threads wait for work briefly before sleeping, so a
parallel region starts in ~2 us; ``workqueue`` wakes sleeping threads every
time, ~75 us on these virtual machines, more than a whole small kernel. The
wheel puts ``libtbb.so.12`` where the dynamic loader does not look, so it is
loaded here by its path before Numba looks for it by name. The lock above
removes ``workqueue``'s one weakness, concurrent entry.

If Numba's cache cannot be written anywhere (a read-only install with no
writable cache directory), kernels are compiled without caching, with one
warning.
"""

import ctypes
import functools
import hashlib
import importlib.metadata
import os
import threading
import types
import warnings

import numba

from skneuro._config import FASTMATH, PARALLEL_THRESHOLD
from skneuro.kernels import _cache


def _tbb_library():
    """The path of the ``tbb`` wheel's ``libtbb.so.12``, or None."""
    try:
        files = importlib.metadata.files("tbb") or ()
    except importlib.metadata.PackageNotFoundError:
        return None
    for file in files:
        if file.name == "libtbb.so.12":
            return str(file.locate())
    return None


def _select_threading_layer():
    """TBB if it loads, else ``workqueue`` (see the module docstring).

    Returns whether parallel regions will start quickly (TBB or OpenMP).
    """
    # Loaded whatever the user chose: NUMBA_THREADING_LAYER=tbb (or "safe",
    # "threadsafe", a priority list) needs the library found too.
    tbb = False
    path = _tbb_library()
    if path is not None:
        try:
            ctypes.CDLL(path, mode=ctypes.RTLD_GLOBAL)
            tbb = True
        except OSError:
            pass
    chosen = str(numba.config.THREADING_LAYER).lower()
    if os.environ.get("NUMBA_THREADING_LAYER") is None and chosen == "default" and \
            os.environ.get("NUMBA_THREADING_LAYER_PRIORITY") is None:
        # Numba takes the first layer that loads: TBB if the library above did
        # (and its version suits Numba), else workqueue; never GNU OpenMP.
        numba.config.THREADING_LAYER_PRIORITY = ["tbb", "workqueue", "omp"]
        return tbb
    if chosen == "default":  # the user's priority list: its first layer that loads
        chosen = next(layer for layer in numba.config.THREADING_LAYER_PRIORITY
                      if layer != "tbb" or tbb)
    return {"tbb": tbb, "safe": tbb, "forksafe": tbb, "omp": True,
            "threadsafe": True}.get(chosen, False)


#: Whether a parallel region starts in microseconds (TBB, OpenMP) rather than
#: ~75 us (workqueue): code that would run short kernels in parallel asks.
QUICK_THREAD_START = _select_threading_layer()

_PARALLEL_LOCK = threading.Lock()


class _ThreadCount:
    """``numba.get_num_threads()`` (this thread's count), without its per-call lock.

    Numba's function takes a process-wide lock at every call to make sure
    its threading layer is started (~0.5 us; a dense training step asks ~8
    times). Once a first call has started the layer, the count is read from
    the layer's own function (~0.1 us), where this Numba has it.
    """

    def __init__(self):
        self.read = self._first

    def _first(self):
        count = numba.get_num_threads()
        from numba.np.ufunc import parallel

        self.read = getattr(parallel, "_get_num_threads", numba.get_num_threads)
        return count


thread_count = _ThreadCount()
_STATE = threading.local()

_OPTIONS = dict(fastmath=set(FASTMATH), nogil=True, error_model="numpy")


def _source_digest():
    """A digest of the CPU kernels' sources (and of what they import from us).

    Numba's cache checks the file that defines a function, not the files of
    the functions it inlines (the activation rows, the random hash): editing
    one of those would leave other kernels' cached machine code stale.
    """
    root = os.path.dirname(os.path.abspath(__file__))
    digest = hashlib.sha1()
    for folder in (root, os.path.join(root, "cpu"), os.path.dirname(root)):
        for name in sorted(os.listdir(folder)):
            if name.endswith(".py") and (folder != os.path.dirname(root)
                                         or name == "_config.py"):
                with open(os.path.join(folder, name), "rb") as f:
                    digest.update(name.encode() + f.read())
    return digest.hexdigest()


# Numba's cache is keyed by a function's name and bytecode, not by its compile
# options nor by the sources of what it inlines: a tag of both in every
# compiled name makes a change recompile instead of loading stale machine code.
_TAG = hashlib.sha1((repr(sorted((k, sorted(v) if isinstance(v, set) else v)
                                 for k, v in _OPTIONS.items())) + _source_digest()).encode()
                    ).hexdigest()[:8]

#: Smallest normal float32. Kernels flush values below it to zero where they
#: would otherwise produce subnormal numbers (slow on every x86 CPU).
FLT_MIN = 1.1754943508222875e-38

_cache_warning_given = False

# A pre-filled cache of a read-only install is read (see skneuro.kernels._cache).
_cache.install()


def _renamed_copy(func, suffix, bindings=None):
    """Return a copy of ``func`` whose qualified name ends with ``suffix``, seeing
    the global names in ``bindings`` bound to their values there.

    Numba's on-disk cache is keyed by the function's qualified name and its
    bytecode, not by compile flags nor by the values of globals; two variants
    of one function need two names or they would overwrite each other's
    cache entries.
    """
    copy = types.FunctionType(
        func.__code__, {**func.__globals__, **bindings} if bindings else func.__globals__,
        func.__name__ + suffix, func.__defaults__, func.__closure__,
    )
    copy.__qualname__ = func.__qualname__ + suffix
    copy.__module__ = func.__module__
    copy.__doc__ = func.__doc__
    return copy


#: The fast-math flags of kernels compiled with ``exact_rounding``: every
#: operation rounds as IEEE says, whichever loop (vectorized body, scalar
#: remainder, serial or parallel variant) computes an element.
EXACT_FASTMATH = frozenset({"nsz"})


def _compile(func, suffix, **options):
    """``numba.njit`` with caching, or without it where no cache can be written."""
    global _cache_warning_given
    renamed = _renamed_copy(func, f"{suffix}_{_TAG}")
    options = {**_OPTIONS, **options}
    try:
        return _cache.keep_in_memory_where_read_only(
            numba.njit(cache=True, **options)(renamed))
    except RuntimeError as exc:  # "cannot cache function ...: no locator available"
        if not _cache_warning_given:
            _cache_warning_given = True
            warnings.warn(
                f"Numba cannot write its cache ({exc}); skneuro's kernels will be "
                "compiled in every new process. Set NUMBA_CACHE_DIR to a writable "
                "directory to keep them.", RuntimeWarning, stacklevel=2,
            )
        return numba.njit(cache=False, **options)(renamed)


class parallel_kernels:  # noqa: N801  (a context manager, used like a function)
    """Let kernels called in this thread, inside the block, run in parallel.

    ``only``: the kernels allowed to, if not all (the others stay serial,
    and their parallel variants are never compiled: ~1 s each, cold).

    A class rather than a generator: a prediction of one row enters it, and
    ``contextlib.contextmanager`` costs ~1 us of its ~30.
    """

    __slots__ = ("_allowed", "_previous")

    def __init__(self, enabled=True, only=None):
        self._allowed = (True if only is None else frozenset(only)) if enabled else False

    def __enter__(self):
        self._previous = getattr(_STATE, "parallel", False)
        _STATE.parallel = self._allowed
        return self

    def __exit__(self, *exc_info):
        _STATE.parallel = self._previous
        return False


class Kernel:
    """A kernel with a serial and a parallel compiled variant.

    Parameters
    ----------
    func : callable
        Plain-Python kernel body, using ``numba.prange`` for its parallel loop.
        Its first argument is the array whose size decides the variant.
    threshold : int
        Minimum ``args[0].size`` for the parallel variant.
    work : callable, default=None
        Called with the kernel's arguments, returns the size compared with
        ``threshold`` instead of ``args[0].size``.
    exact_rounding : bool, default=False
        Compile without the fast-math flags that let LLVM fuse, reorder or
        approximate arithmetic (:data:`EXACT_FASTMATH`): each element is then
        computed to the same bits by both variants, whichever thread and
        loop computes it, so the parallel variant may run where a result must
        not depend on the thread count (the optimizer updates).
    """

    def __init__(self, func, threshold=PARALLEL_THRESHOLD, work=None, exact_rounding=False):
        self.py_func = func
        self.threshold = threshold
        self.work = work
        flags = dict(fastmath=set(EXACT_FASTMATH)) if exact_rounding else {}
        self.serial = _compile(func, "_serial", **flags)
        self.parallel = _compile(func, "_parallel", parallel=True, **flags)
        # Name, module and docstring of the kernel body, so documentation tools
        # and error messages see the kernel, not this class.
        functools.update_wrapper(self, func)

    def __call__(self, *args):
        allowed = getattr(_STATE, "parallel", False)
        if (allowed is not False and (allowed is True or self in allowed)
                and (args[0].size if self.work is None else self.work(*args)) >= self.threshold
                and thread_count.read() > 1):
            if _PARALLEL_LOCK.acquire(blocking=False):
                try:
                    return self.parallel(*args)
                finally:
                    _PARALLEL_LOCK.release()
        return self.serial(*args)


def kernel(func=None, *, threshold=PARALLEL_THRESHOLD, work=None, exact_rounding=False):
    """Decorate a plain-Python kernel body as a :class:`Kernel`."""
    if func is None:
        return lambda f: Kernel(f, threshold, work, exact_rounding)
    return Kernel(func, threshold, work, exact_rounding)


def specialized(func, suffix, **bindings):
    """A copy of the kernel body ``func``, named with ``suffix``, in which the global
    names of ``bindings`` are bound to their values: a constant or a function
    chosen per variant, compiled as a constant. (A closure would do the same
    but not cache: Numba keys a closure's cache entries by its pickled cells,
    and a pickled compiled function differs from process to process.)"""
    return _renamed_copy(func, suffix, bindings)


def serial_kernel(func):
    """Compile a kernel that is always serial (small or sequential work)."""
    return _compile(func, "_serial")
