"""Launch helpers shared by the CUDA kernel modules."""

import numpy as np

from skneuro._config import CUDA_MAX_BLOCKS, CUDA_THREADS


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
