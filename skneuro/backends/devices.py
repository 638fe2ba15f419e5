"""Which device runs: the backends by name, and whether a GPU is usable."""

import os

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


def current_cuda_device():
    """The GPU that ``device="cuda"`` runs on in the calling thread.

    skneuro never chooses a GPU, and never sets ``CUDA_VISIBLE_DEVICES``: its
    arrays and kernels go to the device of numba.cuda's current context, which
    is device 0 of the GPUs this process sees unless the program selected
    another (``numba.cuda.select_device``). The CUDA driver numbers a
    process's GPUs after ``CUDA_VISIBLE_DEVICES``, in its order, so a Dask
    worker started with ``CUDA_VISIBLE_DEVICES=1,0`` (as dask-cuda's
    ``LocalCUDACluster`` starts its second worker) or a Ray task given one GPU
    (Ray sets the variable to that GPU) runs on its own GPU. Call this in each
    worker (``client.run(current_cuda_device)``) to see where it runs.

    Returns
    -------
    device : dict
        ``"id"``: the device's number in this process (0 is the first GPU
        ``CUDA_VISIBLE_DEVICES`` lists); ``"uuid"``: the GPU's UUID
        (``"GPU-..."``), which names the same GPU in every process;
        ``"visible_devices"``: ``CUDA_VISIBLE_DEVICES`` in this process
        (None where unset: every GPU is visible).

    Raises
    ------
    RuntimeError
        Where ``device="cuda"`` cannot run (the reason is in the message).
    """
    reason = cuda_unavailable_reason()
    if reason is not None:
        raise RuntimeError(f"device='cuda' cannot run here: {reason}.")
    from numba import cuda

    context = cuda.current_context()
    device = context.device
    # numba's Device has .id; the simulator's device has none, its context has.
    number = getattr(device, "id", getattr(context, "id", None))
    return {"id": None if number is None else int(number), "uuid": str(device.uuid),
            "visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES")}


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
