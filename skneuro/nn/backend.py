"""The seam between the engine and the kernels.

A backend allocates arrays where its kernels run and hands layers the kernel
modules. The CPU backend holds numpy arrays and the Numba kernels of
``skneuro.kernels.cpu``; a GPU backend offers the same attributes over device
arrays, so layers never know which one they run on.
"""

import numpy as np

#: Bytes to which the CPU backend aligns its arrays. numpy aligns to 16: a
#: 64-byte vector load (AVX-512) from such an address spans two cache lines
#: (the weight gradient of a convolution in lanes, 8 loads per 16
#: multiply-adds, runs at 83 GFLOP/s on one core with 16-byte alignment and
#: at 109 with 64).
ALIGNMENT = 64


def aligned_empty(shape, dtype):
    """An uninitialized C-contiguous array whose data starts on an ALIGNMENT boundary."""
    dtype = np.dtype(dtype)
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
    if any(d < 0 for d in shape):
        raise ValueError(f"negative dimensions are not allowed, got shape {shape}")
    size = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    raw = np.empty(size + ALIGNMENT, np.uint8)
    start = -raw.ctypes.data % ALIGNMENT
    return raw[start:start + size].view(dtype).reshape(shape)


class CPUBackend:
    """Numpy arrays and Numba CPU kernels.

    Parameters
    ----------
    dtype : dtype, default=np.float32
        Floating-point type of every parameter, activation and gradient.
    """

    name = "cpu"

    def __init__(self, dtype=np.float32):
        from skneuro.kernels.cpu import (
            activations,
            augment,
            conv,
            dense,
            dense_chain,
            diffusion,
            dropout,
            embedding,
            gaussian,
            lanes,
            lanes_layers,
            losses,
            norm,
            optim,
            perceptron,
            pool,
            resample,
            winograd,
        )

        self.dtype = np.dtype(dtype)
        self.perceptron = perceptron
        self.conv = conv
        self.lanes = lanes
        self.lanes_layers = lanes_layers
        self.winograd = winograd
        self.pool = pool
        self.embedding = embedding
        self.diffusion = diffusion
        self.norm = norm
        self.resample = resample
        self.augment = augment
        self.activations = activations
        self.dense = dense
        self.dense_chain = dense_chain
        self.dropout = dropout
        self.gaussian = gaussian
        self.losses = losses
        self.optim = optim

    def empty(self, shape, dtype=None):
        """Uninitialized array of ``shape``, starting on an :data:`ALIGNMENT` boundary."""
        return aligned_empty(shape, self.dtype if dtype is None else dtype)

    def zeros(self, shape, dtype=None):
        """Array of zeros of ``shape``, aligned as :meth:`empty`."""
        out = self.empty(shape, dtype)
        out.fill(0)
        return out

    def asarray(self, x, dtype=None):
        """Array on this backend, C-contiguous, in the backend's dtype by default."""
        return np.ascontiguousarray(x, dtype=self.dtype if dtype is None else dtype)

    def to_host(self, x):
        """Numpy array with the contents of ``x``."""
        return np.asarray(x)

    def scalar(self, value):
        """``value`` as a scalar of the backend's dtype (keeps kernels from widening)."""
        return self.dtype.type(value)


class CUDABackend:
    """Device arrays and the numba.cuda kernels of ``skneuro.kernels.cuda``.

    Parameters, weights, optimizer state, batches and activations all live on
    the GPU; :attr:`transfers` counts every copy between host and device made
    through :meth:`asarray` and :meth:`to_host` (the only ways the engine
    moves data), so tests can check that training copies nothing per batch.

    Parameters
    ----------
    dtype : dtype, default=np.float32
    """

    name = "cuda"

    def __init__(self, dtype=np.float32):
        from numba import cuda

        from skneuro.kernels.cuda import (
            activations,
            augment,
            conv,
            dense,
            dense_chain,
            diffusion,
            dropout,
            embedding,
            gaussian,
            lanes,
            lanes_layers,
            losses,
            norm,
            optim,
            perceptron,
            pool,
            resample,
            winograd,
        )

        self._cuda = cuda
        self.perceptron = perceptron
        self.conv = conv
        self.lanes = lanes
        self.lanes_layers = lanes_layers
        self.winograd = winograd
        self.pool = pool
        self.embedding = embedding
        self.diffusion = diffusion
        self.norm = norm
        self.resample = resample
        self.augment = augment
        self.dtype = np.dtype(dtype)
        self.activations = activations
        self.dense = dense
        self.dense_chain = dense_chain
        self.dropout = dropout
        self.gaussian = gaussian
        self.losses = losses
        self.optim = optim
        self.transfers = {"to_device": 0, "to_host": 0}

    def empty(self, shape, dtype=None):
        """Uninitialized device array."""
        return self._cuda.device_array(shape, dtype=self.dtype if dtype is None else dtype)

    def zeros(self, shape, dtype=None):
        """Device array of zeros (filled on the device: no copy)."""
        out = self.empty(shape, dtype)
        if out.size:
            self.dense.fill(out, 0)
        return out

    def asarray(self, x, dtype=None):
        """``x`` on the device (copied, and counted, if it is on the host)."""
        dtype = np.dtype(self.dtype if dtype is None else dtype)
        if hasattr(x, "copy_to_host"):  # a device array (real or simulated)
            if np.dtype(x.dtype) != dtype:
                raise TypeError(f"Device array of dtype {x.dtype}, expected {dtype}.")
            return x
        self.transfers["to_device"] += 1
        return self._cuda.to_device(np.ascontiguousarray(x, dtype=dtype))

    def to_host(self, x):
        """Numpy copy of device array ``x`` (counted)."""
        if isinstance(x, np.ndarray):
            return x
        self.transfers["to_host"] += 1
        return x.copy_to_host()

    def scalar(self, value):
        """``value`` as a scalar of the backend's dtype."""
        return self.dtype.type(value)


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
        _BACKENDS[key] = CPUBackend(dtype) if device == "cpu" else CUDABackend(dtype)
    return _BACKENDS[key]


# One backend object per (device, dtype), so that a network bound to it keeps
# its buffers from one call to the next.
_BACKENDS = {}
