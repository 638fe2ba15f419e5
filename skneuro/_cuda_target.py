"""Whether numba-cuda's CUDA target can compile and run kernels in this process.

A GPU and a driver are not enough for ``device="cuda"``: numba-cuda must also
load its CUDA target (its typing and lowering registries, imported at the
first kernel compile) and find its compiler (NVVM and NVRTC, shipped as pip
wheels by ``numba-cuda[cu13]``). When one of those breaks (a numpy release
that numba-cuda does not know yet, missing toolkit wheels, a driver older than
the toolkit), the failure used to surface deep inside Numba at the first fit.

:func:`prepare_target` applies the compatibility steps skneuro knows of before
any skneuro kernel compiles; :func:`target_problem` compiles and runs one
trivial kernel, once per process, and says in a sentence what failed and how
to fix it. This module imports ``numba.cuda`` only when those are called, and
never ``skneuro.kernels.cuda``.
"""

import contextlib
import importlib.metadata
import threading

import numpy as np

from skneuro._warnings import warn


class CUDATargetWarning(UserWarning):
    """``device="auto"`` found a GPU that numba-cuda cannot use; the model runs on the CPU."""


#: Compute capability the probe compiles for: any one NVVM supports will do
#: (the probe checks that the target loads and the compiler runs, not the
#: architecture). Naming it keeps compile_ptx from asking the driver.
PROBE_CC = (7, 5)

_LOCK = threading.Lock()
_UNPROBED = object()
_problem = _UNPROBED
_prepared = False


def _simulated():
    from numba import config

    return bool(config.ENABLE_CUDASIM)


@contextlib.contextmanager
def numpy_compat():
    """numpy names that numba-cuda's CUDA target looks up while it loads, lent if missing.

    Yields whether anything was lent; whatever was lent is taken back on exit,
    so numpy is left as it was found.
    """
    # numba-cuda 0.30.4 (numba/cuda/np/arrayobj.py) runs
    # ``overload(np.row_stack)(impl_np_vstack)`` at import whenever numpy >= 2.0;
    # numpy 2.5 removed ``row_stack`` (deprecated in 2.0 as an alias of vstack),
    # so with numpy 2.5.2 that import, made at the first kernel compile, raised
    # AttributeError. Lending the alias while the target loads was enough for
    # every CUDA test on an H200. Remove this once numba-cuda guards the overload.
    lent = not hasattr(np, "row_stack")
    if lent:
        np.row_stack = np.vstack  # noqa: NPY201 - lending the removed name is the point
    try:
        yield lent
    finally:
        if lent:
            del np.row_stack  # noqa: NPY201


def prepare_target():
    """Load numba-cuda's CUDA target under :func:`numpy_compat` (once; no-op on the simulator).

    The target's registries are imported once per process; loading them here,
    inside the compatibility window, means later compiles never import them
    again. Needs no GPU and no NVVM. Errors propagate: a target that cannot
    load would fail the first compile the same way.
    """
    global _prepared
    if _prepared or _simulated():
        return
    with _LOCK:
        if _prepared:
            return
        from numba.cuda.descriptor import cuda_target

        with numpy_compat():
            cuda_target.typing_context.refresh()
            cuda_target.target_context.refresh()
        _prepared = True


def _probe_kernel(out):
    out[0] = 1.0


def _run_probe_kernel():
    """Compile and launch the probe kernel on the current GPU; return the value it wrote."""
    from numba import cuda

    out = cuda.to_device(np.zeros(1, np.float32))
    cuda.jit(_probe_kernel)[1, 1](out)
    return float(out.copy_to_host()[0])


def _version(dist):
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def _numba_cuda():
    version = _version("numba-cuda")
    return f"numba-cuda {version}" if version else f"Numba {_version('numba')}'s CUDA target"


def _first_line(exc, limit=200):
    text = str(exc).strip().splitlines()
    text = text[0] if text else ""
    text = text if len(text) <= limit else text[:limit] + "..."
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def compile_failure_reason(exc):
    """A sentence naming why compiling failed (``exc``) and the fix."""
    cause = _first_line(exc)
    names = {type(e).__name__ for e in (exc, exc.__cause__, exc.__context__) if e is not None}
    if isinstance(exc, AttributeError) and "numpy" in str(exc):
        major, minor = np.__version__.split(".")[:2]
        return (f"{_numba_cuda()} cannot compile kernels with numpy {np.__version__} ({cause}); "
                f"pip install 'numpy<{major}.{minor}' or a newer numba-cuda")
    if names & {"DynamicLibNotFoundError", "NvvmSupportError", "NvrtcSupportError"}:
        return (f"{_numba_cuda()} cannot find its CUDA compiler (NVVM/NVRTC) ({cause}); "
                "pip install 'skneuro[cuda]', which brings them as wheels through "
                "numba-cuda[cu13] (numba-cuda[cu12] for drivers older than the 580 series)")
    return (f"{_numba_cuda()} cannot compile a trivial kernel with numpy {np.__version__} "
            f"({cause}); try a newer numba-cuda, or pip install 'skneuro[cuda]' afresh")


def launch_failure_reason(exc):
    """A sentence naming why the compiled probe could not run (``exc``) and the fix."""
    return (f"{_numba_cuda()} compiled a trivial kernel but the GPU could not run it "
            f"({_first_line(exc)}); the NVIDIA driver may be older than the CUDA toolkit "
            "numba-cuda uses (numba-cuda[cu13] needs a 580-series driver or newer; "
            "pip install 'numba-cuda[cu12]' for older ones)")


def _probe():
    if _simulated():
        return None
    try:
        prepare_target()
        from numba import cuda, float32

        with numpy_compat():
            cuda.compile_ptx(_probe_kernel, (float32[::1],), cc=PROBE_CC)
    except Exception as exc:  # any failure here is the answer
        return "the CUDA target cannot load: " + compile_failure_reason(exc)
    try:
        value = _run_probe_kernel()
    except Exception as exc:
        return "the CUDA target cannot run kernels: " + launch_failure_reason(exc)
    if value != 1.0:
        return (f"the CUDA target ran a trivial kernel that wrote {value} instead of 1.0 "
                f"({_numba_cuda()}, numpy {np.__version__})")
    return None


def target_problem():
    """Why numba-cuda cannot compile and run kernels on this machine's GPU, or None.

    Call only where a GPU is present (``numba.cuda.is_available()``). Probed
    once per process (a trivial kernel compiled to PTX, then launched); the
    answer is cached. None on Numba's simulator.
    """
    global _problem
    with _LOCK:
        unprobed = _problem is _UNPROBED
    if unprobed:
        problem = _probe()  # outside the lock: prepare_target takes it
        with _LOCK:
            if _problem is _UNPROBED:
                _problem = problem
    return _problem


def is_target_problem(reason):
    """Whether ``reason`` (from ``cuda_unavailable_reason``) is the probe's, not "no GPU"."""
    return reason is not None and _problem is not _UNPROBED and reason == _problem


def warn_cpu_fallback(reason):
    """The warning of ``device="auto"`` falling back to the CPU despite a GPU."""
    warn(f"device='auto' found a CUDA GPU but {reason}. Running on the CPU.",
         CUDATargetWarning)
