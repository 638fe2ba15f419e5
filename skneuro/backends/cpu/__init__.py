"""The CPU backend: numpy arrays, Numba CPU kernels, and the CPU's own strategies.

Its strategies (how whole computations run, beyond one kernel call) live
beside it: lanes regions and dense chains in its plans
(:mod:`~skneuro.backends.cpu.planning`), convolutions in lanes or by
Winograd (:mod:`~skneuro.backends.cpu.convolution`), prediction passes that
skip zeros (:mod:`~skneuro.backends.cpu.prediction`), batches split into
shards run by replicas in threads (:mod:`~skneuro.backends.cpu.shards`).
"""

import contextlib
import importlib
import threading

import numba
import numpy as np

from skneuro.backends import _steps
from skneuro.backends._flat import FlatParameters
from skneuro.backends.contract import OPERATIONS

#: Bytes to which the CPU backend aligns its arrays. numpy aligns to 16: a
#: 64-byte vector load (AVX-512) from such an address spans two cache lines
#: (the weight gradient of a convolution in lanes, 8 loads per 16
#: multiply-adds, runs at 83 GFLOP/s on one core with 16-byte alignment and
#: at 109 with 64).
ALIGNMENT = 64

#: Kernel modules of the CPU's private strategies (not in the contract).
PRIVATE_KERNELS = ("lanes", "lanes_layers", "winograd", "dense_chain")


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
        from skneuro.backends.cpu import convolution, planning, prediction, shards, tuning

        self.dtype = np.dtype(dtype)
        for module in (*OPERATIONS, *PRIVATE_KERNELS):
            setattr(self, module, importlib.import_module(f"skneuro.kernels.cpu.{module}"))
        # The strategies, looked up once here rather than at every batch.
        self._planning = planning
        self._convolution = convolution
        self._prediction = prediction
        self._shards = shards
        self._tuning = tuning
        self._local = threading.local()

    # -- arrays --------------------------------------------------------------
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

    # -- strategies ----------------------------------------------------------
    def arrange_parameters(self, network):
        """Pack the parameters and gradients into two flat buffers, so that an
        optimizer step is two kernel calls, not two per layer (~2.5 us of
        dispatch each; see :mod:`skneuro.backends._flat`)."""
        flat = network.__dict__.get("_flat")
        if flat is None or not flat.is_current(network):
            network.__dict__["_flat"] = FlatParameters(network, self)

    def plan(self, network, n):
        """The steps that run a batch of ``n`` samples: lanes regions, dense chains
        (see :mod:`skneuro.backends.cpu.planning`)."""
        return self._planning.plan(network, n)

    def convolution_forward(self, layer, x, out):
        """``out`` = the :class:`~skneuro.nn.Conv` ``layer``'s output for ``x`` (N, C, H, W):
        in lanes, by Winograd or unfolded (see :mod:`skneuro.backends.cpu.convolution`)."""
        self._convolution.forward(layer, x, out)

    def convolution_backward(self, layer, grad):
        """The gradients of ``layer``'s last :meth:`convolution_forward`; ``[dx]``."""
        return self._convolution.backward(layer, grad)

    def shards(self, requested):
        """Shards per batch: as the estimator asks (see :mod:`skneuro.backends.cpu.shards`)."""
        return int(requested)

    def training(self, n_shards=1):
        """A context around a fit in which the model cannot depend on the number
        of threads: BLAS runs in one thread (sharded steps run it in each
        shard's thread); whole batches run their dense products in our
        fixed-order kernels on every core
        (:class:`~skneuro.kernels.cpu.dense.fixed_order_products`)."""
        if n_shards > 1:
            return self._shards.single_threaded_blas()
        stack = contextlib.ExitStack()
        stack.enter_context(self._shards.single_threaded_blas())
        stack.enter_context(self.dense.fixed_order_products())
        # The optimizer's updates too: compiled with exact rounding, their
        # variants agree to the bit (see skneuro.kernels._jit).
        stack.enter_context(self._prediction.products_on_every_core(
            also=self.optim.UPDATE_KERNELS))
        # The steps' thread count, timed and chosen as the fit goes (see
        # skneuro.backends.cpu.tuning); kept per calling thread, as fits in
        # several threads at once share this backend.
        stack.enter_context(self._step_threads(self._tuning.StepThreads(numba.get_num_threads())))
        return stack

    @contextlib.contextmanager
    def _step_threads(self, tuner):
        previous = getattr(self._local, "step_threads", None)
        self._local.step_threads = tuner
        try:
            yield tuner
        finally:
            self._local.step_threads = previous

    def predicting(self):
        """A context around a prediction's passes: dense products on every core
        (see :func:`~skneuro.backends.cpu.prediction.products_on_every_core`)."""
        return self._prediction.products_on_every_core()

    def train_step(self, network, loss, optimizer, x, y, weight, learning_rate, l2,
                   n_shards=1):
        """Forward, loss, backward and update on one batch, in ``n_shards`` shards;
        returns what holds the per-row losses (its ``accumulate``)."""
        if n_shards == 1:
            tuner = getattr(self._local, "step_threads", None)
            if tuner is None:
                return _steps.train_step(network, loss, optimizer, x, y, weight, learning_rate,
                                         l2)
            return tuner.run(lambda: _steps.train_step(network, loss, optimizer, x, y, weight,
                                                       learning_rate, l2))
        shards = self._shards.shards_for(network, loss, n_shards)
        shards.train_step(x, y, weight)
        shards.update(optimizer, learning_rate, l2)
        return shards

    def evaluate(self, network, loss, x, n_shards=1):
        """The network's output for ``x`` (no dropout), in ``n_shards`` shards."""
        if n_shards == 1:
            return _steps.evaluate(network, x)
        out = self.empty((x.shape[0],) + tuple(network.output_shape))
        return self._shards.shards_for(network, loss, n_shards).forward(x, out)

    def predict(self, network, X, out, chunk, n_shards=1, finish=None):
        """Fill host array ``out`` with ``network``'s outputs for ``X``, in passes of at
        most ``chunk`` rows (fewer for inputs rich in zeros), in ``n_shards``
        shards; ``finish`` is applied in place to each pass's output (see
        :mod:`skneuro.backends.cpu.prediction`)."""
        self._prediction.predict(network, X, out, chunk, n_shards, finish)
