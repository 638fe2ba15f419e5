"""Launch helpers shared by the CUDA kernel modules.

Typed once, launched directly
-----------------------------
A kernel launched the usual way, ``dispatcher[blocks, threads](*args)``,
goes through numba-cuda's dispatcher at every call: it works out the numba
type of every argument (for a device array: its dtype, rank and layout, in
Python), looks the compiled kernel up by those types, and only then launches
it. A launch from Python cost 21-33 us on an H200 (PyTorch's: 11 us; issue
15's measurement), and a training step makes a dozen or more; how much of
that the typing is has not been measured yet.

Kernels declared with :func:`kernel` instead of ``@cuda.jit`` are launched
the same way, ``_name[blocks, threads](*args)``, through a :class:`Kernel`
that does this work once per *kind* of arguments: its first launch with a
kind goes through the dispatcher (which compiles, if needed, and launches),
and it then keeps the compiled kernel numba chose. Later launches with
arguments of that kind call the compiled kernel's ``launch`` directly, as
the dispatcher itself does after typing. A kind is what numba's typing
depends on and nothing less: for a device array its class, dtype, rank,
contiguity and whether it is broadcast (numba-cuda's ``_numba_type_``); for
any other argument its class. Where the compiled kernel cannot be found or
has no ``launch`` (another numba-cuda), that kind stays with the
dispatcher: slower, never wrong. On numba's simulator every launch goes
through the dispatcher (the simulator has no compiled kernels), so the
direct path is tested with a stand-in dispatcher (``tests/test_cuda_launch.py``)
and has not yet been timed on a GPU (``asv_bench/compare.py gpu`` times it).

:func:`launch_count` counts every launch made through a :class:`Kernel` (and
every cuBLAS product, :mod:`skneuro.kernels.cuda.blas`): the tests hold a
training step to its number of launches.
"""

import numpy as np
from numba import cuda

from skneuro._config import CUDA_MAX_BLOCKS, CUDA_SIMULATED, CUDA_THREADS

#: Whether :class:`Kernel` launches compiled kernels directly (off on the
#: simulator; ``asv_bench/compare.py gpu`` switches it to time both ways).
DIRECT = not CUDA_SIMULATED

_launches = 0
_MISSING = object()


def grid(n):
    """``(blocks, threads)`` for a grid-stride loop over ``n`` items."""
    blocks = max(1, min(CUDA_MAX_BLOCKS, (n + CUDA_THREADS - 1) // CUDA_THREADS))
    return blocks, CUDA_THREADS


def check_device(*arrays):
    """Refuse host arrays: they would be copied to the device behind our back."""
    for a in arrays:
        if isinstance(a, np.ndarray):
            raise TypeError("CUDA kernels take device arrays; got a numpy array of shape "
                            f"{a.shape}. Use the backend's asarray() to move it once.")


def launch_count():
    """Kernel launches (and cuBLAS products) made so far in this process."""
    return _launches


def count_launch():
    """Count one launch made outside a :class:`Kernel` (a cuBLAS product)."""
    global _launches
    _launches += 1


def _dims(dim):
    dim = tuple(dim) if isinstance(dim, (tuple, list)) else (dim,)
    return dim + (1,) * (3 - len(dim))


def _kind(arg):
    """What numba's typing of ``arg`` depends on (see the module docstring)."""
    flags = getattr(arg, "flags", None)
    if flags is None or not hasattr(arg, "__cuda_array_interface__"):
        return type(arg)
    broadcast = arg.size != 0 and 0 in arg.strides
    return (type(arg), arg.dtype, arg.ndim, flags["C_CONTIGUOUS"], flags["F_CONTIGUOUS"],
            broadcast)


class Kernel:
    """A ``numba.cuda.jit`` kernel whose launches skip the dispatcher's typing.

    Launched as numba's: ``kernel[blocks, threads](*args)``.

    Parameters
    ----------
    dispatcher : numba-cuda dispatcher (or the simulator's kernel)
    """

    def __init__(self, dispatcher):
        self.dispatcher = dispatcher
        self.py_func = dispatcher.py_func
        self._compiled = {}  # kind of the arguments -> compiled kernel, or None
        self._configs = {}   # (blocks, threads) -> the same as 3-D tuples

    def __getitem__(self, config):
        return _Launch(self, config)

    def _launch(self, config, args):
        global _launches
        _launches += 1
        if not DIRECT:
            self.dispatcher[config](*args)
            return
        kind = tuple([_kind(a) for a in args])
        compiled = self._compiled.get(kind, _MISSING)
        if compiled is _MISSING or compiled is None:
            self.dispatcher[config](*args)
            if compiled is _MISSING:
                self._compiled[kind] = self._find_compiled(args)
            return
        dims = self._configs.get(config)
        if dims is None:
            dims = self._configs[config] = (_dims(config[0]), _dims(config[1]))
        compiled.launch(args, dims[0], dims[1], 0, 0)

    def _find_compiled(self, args):
        """The compiled kernel the dispatcher launched for ``args``, or ``None``."""
        try:
            types = tuple(self.dispatcher.typeof_pyval(a) for a in args)
            compiled = self.dispatcher.overloads[types]
        except Exception:  # another numba-cuda: stay with the dispatcher
            return None
        return compiled if callable(getattr(compiled, "launch", None)) else None


class _Launch:
    """``kernel[config]``: call it with the kernel's arguments."""

    __slots__ = ("kernel", "config")

    def __init__(self, kernel, config):
        self.kernel = kernel
        self.config = config

    def __call__(self, *args):
        self.kernel._launch(self.config, args)


def kernel(func):
    """``@cuda.jit`` for a kernel launched through a :class:`Kernel`."""
    return Kernel(cuda.jit(func))
