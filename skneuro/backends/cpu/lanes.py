"""Regions of a network that keep their data in the CPU's lanes layout.

A stride-1 convolution runs with the samples in the vector lanes, on arrays
(C, H, W, NV) (see :mod:`skneuro.kernels.cpu.lanes` and
:mod:`skneuro.backends.cpu.convolution`). On its own, a convolution changes
layout twice per pass, into lanes and back; in a U-Net, where convolutions
alternate with normalizations, embeddings, sums, pooling and upsampling,
those changes took a fifth of the sampling time. So the CPU backend's plan
(:mod:`skneuro.backends.cpu.planning`) runs every layer that can run in lanes
and is connected to a convolution in lanes, and inserts a layout change
(:class:`ToLanes`, :class:`FromLanes`) only where a lanes value meets a layer
that needs the samples layout (or the reverse).

Which layers can run in lanes, and how, is this module's business, not the
layers': :data:`LANES_RUNS` maps a layer's ``op`` to its lanes run. Lanes
past the batch (``n..NV``) enter a region as zeros and carry what the layers
compute from them (finite values, never read by a real sample); their
gradients are zero throughout (see :mod:`skneuro.kernels.cpu.lanes_layers`).
"""

from skneuro.backends._plan import Workspace
from skneuro.backends.cpu import convolution
from skneuro.kernels.codes import IDENTITY
from skneuro.kernels.cpu.lanes import lanes_size


def lanes_shape(shape):
    """The (C, H, W) of a per-sample ``shape`` in lanes ((C, L) as (C, 1, L)), or None
    for shapes a lanes array does not hold (flat features)."""
    shape = tuple(int(s) for s in shape)
    if len(shape) == 2:
        return (shape[0], 1, shape[1])
    if len(shape) == 3:
        return shape
    return None


# -- layout changes ------------------------------------------------------------
class _LayoutChange:
    """A change between the samples layout (N, ...) and lanes, of one value.

    Parameters
    ----------
    shape : tuple of int
        Per-sample shape of the value.
    n : int
        Number of samples (lanes arrays do not carry it).
    backend : CPUBackend
    need_input_grad : bool
        False for the network's input, whose gradient nobody reads.
    """

    def __init__(self, shape, n, backend, need_input_grad=True):
        self.backend = backend
        self.output_shape = tuple(shape)
        self.need_input_grad = need_input_grad
        self.params = {}
        self._work = Workspace(backend)
        self._n = n
        self._planes = lanes_shape(shape)
        self._lanes = self._planes + (lanes_size(n),)

    def __repr__(self):
        # What LayerTimes shows: the same for every shard's replica.
        return f"{type(self).__name__}({self.output_shape})"

    def _to_lanes(self, x):
        out = self._work.buffer("lanes", self._lanes)
        self.backend.lanes.to_lanes(x.reshape((self._n,) + self._planes), 0, 0, out)
        return out

    def _from_lanes(self, y):
        ops = self.backend
        out = self._work.buffer("samples", (self._n,) + self.output_shape)
        ops.lanes.from_lanes(y, IDENTITY, ops.scalar(1.0),
                             out.reshape((self._n,) + self._planes))
        return out


class ToLanes(_LayoutChange):
    """From the samples layout into lanes (its gradient: back)."""

    def forward(self, inputs, training=False):
        return self._to_lanes(inputs[0])

    def backward(self, grad):
        return [self._from_lanes(grad) if self.need_input_grad else None]


class FromLanes(_LayoutChange):
    """From lanes into the samples layout (its gradient: into lanes)."""

    def forward(self, inputs, training=False):
        return self._from_lanes(inputs[0])

    def backward(self, grad):
        return [self._to_lanes(grad) if self.need_input_grad else None]


# -- the layers' lanes runs ------------------------------------------------------
def _spatial_inputs(layer):
    """One True per input if every input has a per-sample shape a lanes array
    can hold ((C, L) or (C, H, W)), else None."""
    if layer.input_shapes is None or any(lanes_shape(s) is None for s in layer.input_shapes):
        return None
    return (True,) * len(layer.input_shapes)


class LanesRun:
    """How one kind of layer runs in lanes.

    ``inputs(layer, n)`` says which inputs a batch of ``n`` samples can take in
    lanes (a tuple of one bool per input), or None; ``forward(layer, inputs,
    n, training)`` and ``backward(layer, grad)`` are the layer's passes with
    those inputs, the output and its gradient in lanes. ``seed``: whether
    the layer gains from lanes on its own (a convolution), so starts a
    region; the others only join one.
    """

    seed = False

    @staticmethod
    def inputs(layer, n):
        return _spatial_inputs(layer)


class _Elementwise(LanesRun):
    """Sums: the same computation over arrays of another layout."""

    @staticmethod
    def forward(layer, inputs, n, training):
        return layer.forward(inputs, training)

    @staticmethod
    def backward(layer, grad):
        return layer.backward(grad)


class _Concatenate(LanesRun):
    # Channels are the first axis of a lanes array: each input is one
    # contiguous slab of the output, and each gradient a view of ``grad``.
    @staticmethod
    def forward(layer, inputs, n, training):
        out = layer._buffer("lanes_out", (sum(layer._sizes),) + tuple(inputs[0].shape[1:]))
        offset = 0
        for x, size in zip(inputs, layer._sizes):
            layer.backend.dense.copy(out[offset:offset + size], x)
            offset += size
        return out

    @staticmethod
    def backward(layer, grad):
        grads = []
        offset = 0
        for size in layer._sizes:
            grads.append(grad[offset:offset + size])
            offset += size
        return grads


class _AvgPool(LanesRun):
    @staticmethod
    def forward(layer, inputs, n, training):
        x = inputs[0]
        c, h, w, kh, kw, sh, sw, oh, ow = layer._geometry
        out = layer._buffer("lanes_out", (c, oh, ow, x.shape[3]))
        layer.backend.lanes_layers.avg_pool_lanes_forward(x.reshape(c, h, w, -1), kh, kw, sh,
                                                          sw, out)
        return out

    @staticmethod
    def backward(layer, grad):
        c, h, w, kh, kw, sh, sw, oh, ow = layer._geometry
        dx = layer._buffer("lanes_dx", (c, h, w, grad.shape[3]))
        layer.backend.lanes_layers.avg_pool_lanes_backward(grad, kh, kw, sh, sw, dx)
        return [dx]


class _MaxPool(LanesRun):
    @staticmethod
    def forward(layer, inputs, n, training):
        x = inputs[0]
        c, h, w, kh, kw, sh, sw, oh, ow = layer._geometry
        out = layer._buffer("lanes_out", (c, oh, ow, x.shape[-1]))
        argmax = layer._buffer("lanes_argmax", out.shape, dtype="int32")
        layer.backend.lanes_layers.max_pool_lanes_forward(x.reshape(c, h, w, -1), kh, kw, sh,
                                                          sw, out, argmax)
        layer._cache_lanes_argmax = argmax
        return out

    @staticmethod
    def backward(layer, grad):
        c, h, w, kh, kw, sh, sw, oh, ow = layer._geometry
        dx = layer._buffer("lanes_dx", (c, h, w, grad.shape[-1]))
        layer.backend.lanes_layers.max_pool_lanes_backward(grad.reshape(c, oh, ow, -1),
                                                           layer._cache_lanes_argmax, dx)
        return [dx]


class _GroupNorm(LanesRun):
    @staticmethod
    def forward(layer, inputs, n, training):
        x = inputs[0]
        c, nv = layer._channels, x.shape[3]
        x3 = x.reshape(c, -1, nv)
        out = layer._buffer("lanes_out", x.shape)
        xhat = layer._buffer("lanes_xhat", x3.shape)
        inv_std = layer._buffer("lanes_inv_std", (layer.groups, nv), dtype="float64")
        code, slope = layer._code_and_slope()
        # xhat is kept whatever ``training`` says: L-BFGS takes its gradients
        # after forward passes with training=False.
        layer.backend.lanes_layers.group_norm_lanes_forward(
            x3, layer.groups, layer.params["gamma"], layer.params["beta"], layer.eps, code,
            slope, out.reshape(x3.shape), xhat, inv_std)
        layer._cache_xhat = xhat
        layer._cache_inv_std = inv_std
        return out

    @staticmethod
    def backward(layer, grad):
        xhat = layer._cache_xhat
        dx = layer._buffer("lanes_dx", grad.shape)
        code, slope = layer._code_and_slope()
        layer.backend.lanes_layers.group_norm_lanes_backward(
            grad.reshape(xhat.shape), xhat, layer._cache_inv_std, layer.params["gamma"],
            layer.params["beta"], layer.groups, code, slope, dx.reshape(xhat.shape),
            layer.grads["gamma"], layer.grads["beta"])
        return [dx]


class _ChannelAdd(LanesRun):
    """Feature maps in lanes plus one vector per sample in the samples layout."""

    @staticmethod
    def inputs(layer, n):
        maps = layer.input_shapes[0] if layer.input_shapes else ()
        return (True, False) if lanes_shape(maps) is not None else None

    @staticmethod
    def forward(layer, inputs, n, training):
        x, e = inputs
        c, nv = layer.output_shape[0], x.shape[3]
        out = layer._buffer("lanes_out", x.shape)
        layer.backend.lanes_layers.add_channel_vector_lanes(x.reshape(c, -1, nv), e,
                                                            out.reshape(c, -1, nv))
        layer._cache_n = n
        return out

    @staticmethod
    def backward(layer, grad):
        c, nv = layer.output_shape[0], grad.shape[3]
        de = layer._buffer("de", (layer._cache_n, c))
        layer.backend.lanes_layers.channel_sums_lanes(grad.reshape(c, -1, nv), de)
        return [grad, de]


class _Upsample(LanesRun):
    @staticmethod
    def forward(layer, inputs, n, training):
        x = inputs[0]
        c, h, w, sh, sw = layer._geometry
        out = layer._buffer("lanes_out", (c, h * sh, w * sw, x.shape[3]))
        layer.backend.lanes_layers.upsample_lanes_forward(x.reshape(c, h, w, -1), sh, sw, out)
        return out

    @staticmethod
    def backward(layer, grad):
        c, h, w, sh, sw = layer._geometry
        dx = layer._buffer("lanes_dx", (c, h, w, grad.shape[3]))
        layer.backend.lanes_layers.upsample_lanes_backward(grad, sh, sw, dx)
        return [dx]


class _Convolution(LanesRun):
    seed = True
    inputs = staticmethod(convolution.lanes_inputs)
    forward = staticmethod(convolution.forward_lanes)
    backward = staticmethod(convolution.backward_lanes)


#: The lanes run of each layer ``op`` that has one.
LANES_RUNS = {
    "conv": _Convolution,
    "add": _Elementwise,
    "concatenate": _Concatenate,
    "avg_pool": _AvgPool,
    "max_pool": _MaxPool,
    "group_norm": _GroupNorm,
    "channel_add": _ChannelAdd,
    "upsample": _Upsample,
}


def lanes_run(layer):
    """The :class:`LanesRun` of ``layer``, or None (it runs in the samples layout only)."""
    return LANES_RUNS.get(getattr(layer, "op", None))
