"""The CUDA backend: device arrays, numba.cuda kernels, and the GPU's own strategies.

A GPU wants few, large launches: its plan runs one step per layer (no
layout regions), every convolution is one product over the unfolded input
(:mod:`skneuro.backends._unfold`), whose GEMM is the device's, and a
prediction runs in large passes.
"""

import contextlib
import importlib

import numpy as np

from skneuro.backends import _steps, _unfold
from skneuro.backends._flat import FlatParameters
from skneuro.backends._plan import cached_plan, plain_plan
from skneuro.backends._predict import predict_in_passes
from skneuro.backends.contract import OPERATIONS


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

        self._cuda = cuda
        self.dtype = np.dtype(dtype)
        for module in OPERATIONS:
            setattr(self, module, importlib.import_module(f"skneuro.kernels.cuda.{module}"))
        self.transfers = {"to_device": 0, "to_host": 0}

    # -- arrays --------------------------------------------------------------
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

    # -- strategies ----------------------------------------------------------
    def arrange_parameters(self, network):
        """Pack the parameters and gradients into two flat buffers, so that an
        optimizer step is one launch (see :mod:`skneuro.backends._flat`)."""
        flat = network.__dict__.get("_flat")
        if flat is None or not flat.is_current(network):
            network.__dict__["_flat"] = FlatParameters(network, self)

    def plan(self, network, n):
        """One step per layer, whatever ``n``."""
        return cached_plan(network, "plain", lambda: plain_plan(network))

    def convolution_forward(self, layer, x, out):
        """``out`` = the Conv ``layer``'s output for ``x``: one product over the unfolded input."""
        _unfold.forward(layer, x, out)

    def convolution_backward(self, layer, grad):
        """The gradients of ``layer``'s last :meth:`convolution_forward`; ``[dx]``."""
        return _unfold.backward(layer, grad)

    def shards(self, requested):
        """Shards per batch: one (shards are the CPU's way to use its cores)."""
        return 1

    def training(self, n_shards=1):
        """A context around a fit: nothing to set on the GPU."""
        return contextlib.nullcontext()

    def predicting(self):
        """A context around a prediction's passes: nothing to set on the GPU."""
        return contextlib.nullcontext()

    def train_step(self, network, loss, optimizer, x, y, weight, learning_rate, l2,
                   n_shards=1):
        """Forward, loss, backward and update on the whole batch; returns ``loss``."""
        return _steps.train_step(network, loss, optimizer, x, y, weight, learning_rate, l2)

    def evaluate(self, network, loss, x, n_shards=1):
        """The network's output for ``x`` (no dropout)."""
        return _steps.evaluate(network, x)

    def predict(self, network, X, out, chunk, n_shards=1, finish=None):
        """Fill host array ``out`` with ``network``'s outputs for ``X``, ``chunk`` rows
        per pass (shards are the CPU's: ignored)."""
        predict_in_passes(network, X, out, chunk, finish)
