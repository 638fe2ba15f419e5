"""Upsampling and reshaping layers: the decoder's side of pooling and flattening.

Per-sample shapes are those of :mod:`skneuro.nn.conv`: ``(C, L)`` for 1-D and
``(C, H, W)`` for 2-D inputs, a 1-D input running the 2-D kernels with a
height of 1.
"""

from numbers import Integral

from skneuro.nn.conv import _as_2d, _pair
from skneuro.nn.layers import Layer


class Upsample(Layer):
    """Nearest-neighbour upsampling, 1-D or 2-D by its input.

    Every input value is repeated over a block of ``size`` values (2-D: a
    ``size[0] x size[1]`` block), so an axis of length ``L`` becomes
    ``L * size``. The gradient sums each block back into its value.

    Parameters
    ----------
    size : int or tuple of int, default=2
        Integer factor along each spatial axis (one int per axis, or one for
        all).
    """

    op = "upsample"

    def __init__(self, size=2):
        super().__init__()
        self.size = size

    def _describe(self):
        return repr(self.size)

    def _build(self, input_shapes, rng):
        shape = tuple(input_shapes[0])
        ndim = len(shape) - 1
        c, h, w = _as_2d(shape)
        sh, sw = _pair(self.size, ndim, "size")
        self._geometry = (c, h, w, sh, sw)
        return (c, w * sw) if ndim == 1 else (c, h * sh, w * sw)

    def forward(self, inputs, training=False):
        x = inputs[0]
        n = x.shape[0]
        c, h, w, sh, sw = self._geometry
        out = self._buffer("out", (n,) + tuple(self.output_shape))
        self.backend.resample.upsample_nearest_forward(x.reshape(n, c, h, w), sh, sw,
                                                       out.reshape(n, c, h * sh, w * sw))
        self._cache_input_shape = x.shape
        return out

    def backward(self, grad):
        n = grad.shape[0]
        c, h, w, sh, sw = self._geometry
        dx = self._buffer("dx", self._cache_input_shape)
        self.backend.resample.upsample_nearest_backward(grad.reshape(n, c, h * sh, w * sw),
                                                        sh, sw, dx.reshape(n, c, h, w))
        return [dx]


class Reshape(Layer):
    """Per-sample reshape to ``shape`` (a view: no copy); the inverse of :class:`Flatten`.

    Typically after a dense layer, to give a decoder's convolutions their
    ``(C, L)`` or ``(C, H, W)`` input.

    Parameters
    ----------
    shape : int or tuple of int
        Per-sample output shape, of positive sizes whose product is the number
        of values per input sample (checked when the layer is built).
    """

    def __init__(self, shape):
        super().__init__()
        target = (shape,) if isinstance(shape, Integral) else shape
        if (not isinstance(target, (tuple, list)) or not target
                or any(not isinstance(s, Integral) or s < 1 for s in target)):
            raise ValueError(f"shape must be a positive int or a tuple of them, got {shape!r}.")
        self.shape = tuple(int(s) for s in target)

    def _describe(self):
        return repr(self.shape)

    def _build(self, input_shapes, rng):
        self._input_shape = tuple(int(s) for s in input_shapes[0])
        size_in = 1
        for s in self._input_shape:
            size_in *= s
        size_out = 1
        for s in self.shape:
            size_out *= s
        if size_in != size_out:
            raise ValueError(f"Reshape cannot turn samples of shape {self._input_shape} "
                             f"({size_in} values) into shape {self.shape} ({size_out} values).")
        return self.shape

    def forward(self, inputs, training=False):
        x = inputs[0]
        return x.reshape((x.shape[0],) + self.shape)

    def backward(self, grad):
        return [grad.reshape((grad.shape[0],) + self._input_shape)]


class Crop(Layer):
    """Keep the first ``size`` positions along each spatial axis.

    The decoder's answer to pooling that rounded a size up: pooling 7
    values by 2 gives 4 (the last window is clipped), which upsampling turns
    into 8; cropping to 7 restores the encoder's shape. The gradient is zero
    on the dropped positions.

    Parameters
    ----------
    size : int or tuple of int
        Length to keep along each spatial axis (one int per axis, or one for
        all), at most the input's.
    """

    def __init__(self, size):
        super().__init__()
        self.size = size

    def _describe(self):
        return repr(self.size)

    def _build(self, input_shapes, rng):
        shape = tuple(input_shapes[0])
        ndim = len(shape) - 1
        c, h, w = _as_2d(shape)
        keep_h, keep_w = _pair(self.size, ndim, "size")
        if keep_h > h or keep_w > w:
            raise ValueError(f"Crop cannot keep {self.size!r} positions of an input of "
                             f"per-sample shape {shape}.")
        self._geometry = (c, h, w, keep_h, keep_w)
        return (c, keep_w) if ndim == 1 else (c, keep_h, keep_w)

    # Rows are cut first, as a prefix of each channel's plane, then columns, as a
    # prefix of each row: both are column ranges of 2-D views, which the dense
    # kernels (take_columns, put_columns) copy on either device.
    def forward(self, inputs, training=False):
        x = inputs[0]
        n = x.shape[0]
        c, h, w, kh, kw = self._geometry
        out = self._buffer("out", (n,) + tuple(self.output_shape))
        dense = self.backend.dense
        rows = x.reshape(n * c, h * w)
        if kh < h:
            rows = self._buffer("rows", (n * c, kh * w))
            dense.take_columns(rows, x.reshape(n * c, h * w), 0)
        dense.take_columns(out.reshape(n * c * kh, kw), rows.reshape(n * c * kh, w), 0)
        return out

    def backward(self, grad):
        n = grad.shape[0]
        c, h, w, kh, kw = self._geometry
        dense = self.backend.dense
        drows = self._buffer("drows", (n * c * kh, w))
        dense.fill(drows, 0.0)
        dense.put_columns(drows, grad.reshape(n * c * kh, kw), 0)
        if kh == h:
            return [drows.reshape((n,) + self._input_shape(c, h, w))]
        dx = self._buffer("dx", (n * c, h * w))
        dense.fill(dx, 0.0)
        dense.put_columns(dx, drows.reshape(n * c, kh * w), 0)
        return [dx.reshape((n,) + self._input_shape(c, h, w))]

    def _input_shape(self, c, h, w):
        return (c, w) if len(self.output_shape) == 2 else (c, h, w)
