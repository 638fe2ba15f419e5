"""The lanes layout in the engine: regions of a network that keep their data in lanes.

A stride-1 convolution runs with the samples in the vector lanes, on arrays
(C, H, W, NV) (see :mod:`skneuro.kernels.cpu.lanes`). On its own, a
convolution changes layout twice per pass, into lanes and back; in a U-Net,
where convolutions alternate with normalizations, embeddings, sums, pooling
and upsampling, those changes took a fifth of the sampling time.
Layers that can run in lanes say so (:meth:`~skneuro.nn.layers.Layer.lanes_inputs`);
the network's plan (:meth:`~skneuro.nn.Network.plan`) runs every such layer
connected to a convolution in lanes, and inserts a layout change only where
a lanes value meets a layer that needs the samples layout (or the reverse):
the layers below.

Lanes past the batch (``n..NV``) enter a region as zeros and carry what the
layers compute from them (finite values, never read by a real sample); their
gradients are zero throughout (see :mod:`skneuro.kernels.cpu.lanes_layers`).
"""

from skneuro.kernels.codes import IDENTITY
from skneuro.kernels.cpu.lanes import lanes_size
from skneuro.nn.layers import Layer


def lanes_shape(shape):
    """The (C, H, W) of a per-sample ``shape`` in lanes ((C, L) as (C, 1, L)), or None
    for shapes a lanes array does not hold (flat features)."""
    shape = tuple(int(s) for s in shape)
    if len(shape) == 2:
        return (shape[0], 1, shape[1])
    if len(shape) == 3:
        return shape
    return None


class _LayoutChange(Layer):
    """A change between the samples layout (N, ...) and lanes, of one value.

    Parameters
    ----------
    shape : tuple of int
        Per-sample shape of the value.
    n : int
        Number of samples (lanes arrays do not carry it).
    backend : backend
    need_input_grad : bool
        False for the network's input, whose gradient nobody reads.
    """

    def __init__(self, shape, n, backend, need_input_grad=True):
        super().__init__()
        self.bind(backend)
        self.output_shape = tuple(shape)
        self.need_input_grad = need_input_grad
        self._n = n
        self._planes = lanes_shape(shape)
        self._lanes = self._planes + (lanes_size(n),)

    def _to_lanes(self, x):
        out = self._buffer("lanes", self._lanes)
        self.backend.lanes.to_lanes(x.reshape((self._n,) + self._planes), 0, 0, out)
        return out

    def _from_lanes(self, y):
        ops = self.backend
        out = self._buffer("samples", (self._n,) + self.output_shape)
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
