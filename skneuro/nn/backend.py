"""The seam between the engine and the kernels.

A backend allocates arrays where its kernels run and hands layers the kernel
modules. The CPU backend holds numpy arrays and the Numba kernels of
``skneuro.kernels.cpu``; a GPU backend offers the same attributes over device
arrays, so layers never know which one they run on.
"""

import numpy as np


class CPUBackend:
    """Numpy arrays and Numba CPU kernels.

    Parameters
    ----------
    dtype : dtype, default=np.float32
        Floating-point type of every parameter, activation and gradient.
    """

    name = "cpu"

    def __init__(self, dtype=np.float32):
        from skneuro.kernels.cpu import activations, dense, dropout, losses, optim

        self.dtype = np.dtype(dtype)
        self.activations = activations
        self.dense = dense
        self.dropout = dropout
        self.losses = losses
        self.optim = optim

    def empty(self, shape, dtype=None):
        """Uninitialized array of ``shape``."""
        return np.empty(shape, dtype=self.dtype if dtype is None else dtype)

    def zeros(self, shape, dtype=None):
        """Array of zeros of ``shape``."""
        return np.zeros(shape, dtype=self.dtype if dtype is None else dtype)

    def asarray(self, x, dtype=None):
        """Array on this backend, C-contiguous, in the backend's dtype by default."""
        return np.ascontiguousarray(x, dtype=self.dtype if dtype is None else dtype)

    def to_host(self, x):
        """Numpy array with the contents of ``x``."""
        return np.asarray(x)

    def scalar(self, value):
        """``value`` as a scalar of the backend's dtype (keeps kernels from widening)."""
        return self.dtype.type(value)


def get_backend(device="cpu", dtype=np.float32):
    """Return the backend for ``device``.

    Parameters
    ----------
    device : {"cpu"}, default="cpu"
    dtype : dtype, default=np.float32

    Returns
    -------
    backend : CPUBackend
    """
    if device != "cpu":
        raise ValueError(f"Unknown device {device!r}; the available device is 'cpu'.")
    key = (device, np.dtype(dtype))
    if key not in _BACKENDS:
        _BACKENDS[key] = CPUBackend(dtype)
    return _BACKENDS[key]


# One backend object per (device, dtype), so that a network bound to it keeps
# its buffers from one call to the next.
_BACKENDS = {}
