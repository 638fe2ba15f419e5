"""The route of the CUDA matrix products: cuBLAS through CuPy, or our Numba kernel.

:mod:`skneuro.kernels.cuda.dense` asks :func:`current_product` which function
computes ``out = op(a) @ op(b)``; ``None`` means its own Numba kernel. The
route is, in this order:

* whatever :func:`set_product` (or the :func:`use_product` context manager)
  installed: ``"numba"``, ``"cublas"``, or any callable with the signature of
  :func:`cublas_product` (the tests install a host-side stand-in this way, to
  check on the simulator which operands, transposes and shapes reach it);
* by default (``"auto"``), :func:`cublas_product` when
  :func:`cublas_unavailable_reason` is None, else the Numba kernel.

cuBLAS is reached through CuPy, which is optional (``pip install
cupy-cuda13x``, in the ``cuda`` extra) and imported lazily, on the first
product: importing skneuro never imports CuPy. On Numba's CUDA simulator the
Numba kernel is always the default (CuPy needs a real GPU).

**Zero copy.** ``cupy.asarray`` wraps a Numba device array through its
``__cuda_array_interface__``: the CuPy array shares the pointer, nothing is
copied or allocated, and a transpose (``x.T``) is a view that CuPy hands to
cuBLAS as a transpose flag. The interface of an array on Numba's default
stream names no stream, so wrapping it synchronizes nothing (an array bound
to another stream would make CuPy wait for that stream, from the host). An
operand that is neither C- nor F-contiguous (a strided view) is copied by
CuPy into its own memory pool; skneuro's layers pass contiguous arrays.

**One stream.** Numba launches on its default stream: the legacy default
stream (handle 0), or the per-thread one when
``NUMBA_CUDA_PER_THREAD_DEFAULT_STREAM`` is set. CuPy runs the product on
exactly that stream (:func:`_cupy_stream`), whatever its own default is
(``CUPY_CUDA_PER_THREAD_DEFAULT_STREAM``), so a product is ordered after the
Numba kernels that wrote its operands and before those that read its result,
without any synchronization.

**No TF32: float32 means float32.** ``cupy.matmul`` on float32 asks cuBLAS
for ``CUBLAS_COMPUTE_32F`` (full float32 multiplies, float32 accumulation)
unless the environment variable ``CUPY_TF32`` is set to a positive value, in
which case CuPy asks for ``CUBLAS_COMPUTE_32F_FAST_TF32`` (operands rounded
to 10-bit mantissas). With ``CUPY_TF32`` set, :func:`cublas_unavailable_reason`
says so and the default route is the Numba kernel. (A program that sets
CuPy's compute type itself, ``cupy._core.set_compute_type``, is not
checked.)
"""

import contextlib
import functools
import os
import threading

import numba

from skneuro import _config
from skneuro.kernels.cuda._launch import count_launch

#: The routes :func:`set_product` takes by name.
AUTO, NUMBA, CUBLAS = "auto", "numba", "cublas"

_route = AUTO
_route_lock = threading.Lock()


def _simulator_reason():
    if _config.CUDA_SIMULATED or numba.config.ENABLE_CUDASIM:
        return "Numba's CUDA simulator is running (CuPy needs a real GPU)"
    return None


def _cupy_reason():
    """Why CuPy cannot run the products here, or None (not cached: see the tests)."""
    try:
        import cupy
    except ImportError as exc:  # CuPy is optional
        return f"CuPy is not installed (pip install cupy-cuda13x): {exc}"
    except Exception as exc:  # a broken install: a missing CUDA library, say
        return f"CuPy cannot be imported: {exc!r}"
    if int(os.environ.get("CUPY_TF32", "0") or "0") > 0:
        return "CUPY_TF32 is set: cuBLAS would round float32 operands to TF32"
    try:
        if cupy.cuda.runtime.getDeviceCount() < 1:
            return "CuPy sees no GPU"
    except Exception as exc:  # a CuPy built for another CUDA than the driver's
        return f"CuPy cannot use the GPU: {exc!r}"
    return None


@functools.lru_cache(maxsize=1)
def cublas_unavailable_reason():
    """Why the cuBLAS route cannot be used here, or None if it can (computed once)."""
    return _simulator_reason() or _cupy_reason()


def set_product(route):
    """Choose the route of the CUDA matrix products; return the previous one.

    Parameters
    ----------
    route : {"auto", "numba", "cublas"} or callable
        ``"auto"``: cuBLAS when usable, else the Numba kernel. ``"numba"``:
        always the Numba kernel. ``"cublas"``: always cuBLAS (RuntimeError
        here if it is unusable). A callable ``product(a, b, out, ta, tb)``
        computes ``out = op(a) @ op(b)`` (``op`` a transpose where the flag
        is true) on device arrays, like :func:`cublas_product`.
    """
    global _route
    if not callable(route) and route not in (AUTO, NUMBA, CUBLAS):
        raise ValueError(f"Unknown product route {route!r}; expected 'auto', 'numba', "
                         "'cublas' or a callable product(a, b, out, ta, tb).")
    if route == CUBLAS and cublas_unavailable_reason() is not None:
        raise RuntimeError(f"The cuBLAS route is unusable: {cublas_unavailable_reason()}.")
    with _route_lock:
        previous, _route = _route, route
    return previous


@contextlib.contextmanager
def use_product(route):
    """:func:`set_product` for the duration of a ``with`` block (for every thread)."""
    previous = set_product(route)
    try:
        yield
    finally:
        set_product(previous)


def current_product():
    """The function that computes the products now, or None for the Numba kernel."""
    route = _route
    if callable(route):
        return route
    if route == NUMBA:
        return None
    if route == CUBLAS or cublas_unavailable_reason() is None:
        return cublas_product
    return None


def _numba_stream_handle():
    """The handle of Numba's default stream: 0 (legacy) or the per-thread one's."""
    from numba import cuda

    handle = cuda.default_stream().handle
    # A cuda-bindings CUstream converts with int(); a ctypes c_void_p has .value
    # (None for the null stream).
    return (handle.value if hasattr(handle, "value") else int(handle)) or 0


@functools.lru_cache(maxsize=8)
def _cupy_stream(handle):
    """The CuPy stream object for the CUDA stream ``handle`` (Numba's default)."""
    import cupy

    if handle == 0:  # the legacy default stream
        return cupy.cuda.Stream.null
    return cupy.cuda.ExternalStream(handle)


def cublas_product(a, b, out, ta, tb):
    """``out = op(a) @ op(b)`` by cuBLAS, through zero-copy CuPy views.

    ``a``, ``b`` and ``out`` are Numba device arrays; ``ta`` (``tb``) asks for
    ``a.T`` (``b.T``). Runs on Numba's default stream (see the module
    docstring); float32 is computed in float32 (no TF32).
    """
    import cupy

    count_launch()
    x, y, z = cupy.asarray(a), cupy.asarray(b), cupy.asarray(out)
    with z.device, _cupy_stream(_numba_stream_handle()):
        # 2-D and a C-contiguous ``out``: CuPy calls cuBLAS's gemm straight into
        # ``out``; a transposed view is passed as a transpose flag, not copied.
        cupy.matmul(x.T if ta else x, y.T if tb else y, out=z)
