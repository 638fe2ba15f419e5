"""The engine's view of the backends (see :mod:`skneuro.backends`).

Kept so that ``from skneuro.nn.backend import get_backend`` goes on working.
"""

from skneuro.backends import CPUBackend, CUDABackend, cuda_unavailable_reason, get_backend
from skneuro.backends.cpu import ALIGNMENT, aligned_empty
from skneuro.backends.devices import resolve_device

__all__ = ["ALIGNMENT", "CPUBackend", "CUDABackend", "aligned_empty",
           "cuda_unavailable_reason", "get_backend", "resolve_device"]
