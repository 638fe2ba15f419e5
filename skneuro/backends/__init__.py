"""Backends: where the engine's operations run, and how.

A backend allocates arrays where its kernels run, hands the layers its
kernel modules (the operations declared in :mod:`skneuro.backends.contract`),
and decides how whole computations run: a network's plan, a convolution's
method, a prediction's passes. Only the backends import a kernel family
(:mod:`skneuro.kernels.cpu`, :mod:`skneuro.kernels.cuda`); the engine above
them names neither.
"""

from skneuro.backends.cpu import CPUBackend
from skneuro.backends.cuda import CUDABackend
from skneuro.backends.devices import cuda_unavailable_reason, get_backend, resolve_device

__all__ = ["CPUBackend", "CUDABackend", "cuda_unavailable_reason", "get_backend",
           "resolve_device"]
