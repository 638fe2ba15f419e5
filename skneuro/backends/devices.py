"""Which device runs: the backends by name, and whether a GPU is usable."""

import numpy as np


def cuda_unavailable_reason():
    """Why ``device="cuda"`` cannot run here, or None if it can."""
    try:
        from numba import cuda
    except ImportError:  # pragma: no cover - numba always has numba.cuda
        return "numba.cuda cannot be imported"
    try:
        import numba_cuda  # noqa: F401
    except ImportError:
        if not cuda.is_available():
            return ("no usable CUDA GPU: the numba-cuda package is not installed "
                    "(pip install 'skneuro[cuda]') and Numba's built-in CUDA target "
                    "finds no GPU")
    if not cuda.is_available():
        return ("no usable CUDA GPU: numba.cuda found no GPU or no NVIDIA driver "
                "(cuda.is_available() is False; nvidia-smi tells whether a driver is "
                "installed)")
    from skneuro._cuda_target import target_problem

    return target_problem()  # a GPU is here: can numba-cuda compile and run on it?


def resolve_device(device):
    """``"cpu"`` or ``"cuda"`` for a requested ``device`` ("cpu", "cuda" or "auto")."""
    if device == "cpu":
        return "cpu"
    if device not in ("cuda", "auto"):
        raise ValueError(f"Unknown device {device!r}; expected 'cpu', 'cuda' or 'auto'.")
    reason = cuda_unavailable_reason()
    if reason is None:
        return "cuda"
    if device == "auto":
        from skneuro._cuda_target import is_target_problem, warn_cpu_fallback

        if is_target_problem(reason):  # a GPU numba-cuda cannot use: say so
            warn_cpu_fallback(reason)
        return "cpu"
    raise RuntimeError(f"device='cuda' was requested but {reason}. Use device='cpu' or "
                       "device='auto' (which falls back to the CPU).")


def get_backend(device="cpu", dtype=np.float32):
    """Return the backend for ``device``.

    Parameters
    ----------
    device : {"cpu", "cuda", "auto"}, default="cpu"
        "auto" is "cuda" when a GPU is usable, else "cpu".
    dtype : dtype, default=np.float32

    Returns
    -------
    backend : CPUBackend or CUDABackend
    """
    device = resolve_device(device)
    key = (device, np.dtype(dtype))
    if key not in _BACKENDS:
        if device == "cpu":
            from skneuro.backends.cpu import CPUBackend as make
        else:
            from skneuro.backends.cuda import CUDABackend as make
        _BACKENDS[key] = make(dtype)
    return _BACKENDS[key]


# One backend object per (device, dtype), so that a network bound to it keeps
# its buffers from one call to the next.
_BACKENDS = {}
