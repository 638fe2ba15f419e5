"""Convolution, pooling and flattening layers, for 1-D and 2-D inputs.

Per-sample shapes are ``(C, L)`` for 1-D and ``(C, H, W)`` for 2-D inputs. A
1-D layer runs the 2-D kernels with a height of 1, so both share one code
path. Weights are stored as a dense layer's, ``(C*KH*KW, F)``. How a
convolution runs is its backend's choice (``convolution_forward``): the CPU
backend puts the samples in its vector lanes for stride 1
(:mod:`skneuro.backends.cpu.convolution`), the CUDA backend runs one product
over the unfolded input (:mod:`skneuro.backends._unfold`).
"""

from skneuro.kernels.codes import CODES as ACTIVATION_CODES
from skneuro.kernels.codes import pooled_size
from skneuro.nn.layers import Layer, _default_slope


def _pair(value, ndim, name, minimum=1, flat=1):
    """An int or a tuple as a (height, width) pair; 1-D layers get ``flat`` as height."""
    values = (value,) * ndim if isinstance(value, int) else tuple(int(v) for v in value)
    if len(values) != ndim or any(v < minimum for v in values):
        raise ValueError(f"{name} must be an int >= {minimum} or {ndim} such ints, "
                         f"got {value!r}.")
    return values if ndim == 2 else (flat,) + values


def set_window_attributes(layer, filters, kernel_size, stride, padding, activation, slope,
                          init):
    """Check and store the arguments a convolution and its transpose share."""
    if activation not in ACTIVATION_CODES:
        raise ValueError(f"Unknown activation {activation!r}; "
                         f"expected one of {sorted(ACTIVATION_CODES)}.")
    if int(filters) < 1:
        raise ValueError(f"filters must be >= 1, got {filters!r}.")
    layer.filters = int(filters)
    layer.kernel_size = kernel_size
    layer.stride = stride
    layer.padding = padding
    layer.activation = activation
    layer.slope = _default_slope(activation) if slope is None else float(slope)
    layer.init = init
    layer.decay = {"W"}


def _as_2d(shape):
    """(C, L) -> (C, 1, L); (C, H, W) unchanged."""
    if len(shape) == 2:
        return (shape[0], 1, shape[1])
    if len(shape) == 3:
        return tuple(shape)
    raise ValueError(f"Convolution and pooling layers take (C, L) or (C, H, W) inputs, "
                     f"got per-sample shape {tuple(shape)}.")


class Conv(Layer):
    """Convolution with a fused bias and activation, 1-D or 2-D by its input.

    Parameters
    ----------
    filters : int
        Number of output channels.
    kernel_size : int or tuple of int
        Window size (one int per spatial axis, or one for all).
    stride : int or tuple of int, default=1
    padding : {"same", "valid"} or int or tuple of int, default="same"
        Zero padding: "same" keeps the size at stride 1 (odd kernels),
        "valid" adds none.
    activation : str, default="relu"
        As for :class:`~skneuro.nn.Dense`.
    slope : float, default=None
        As for :class:`~skneuro.nn.Dense`.
    init : str, default="auto"
        As for :class:`~skneuro.nn.Dense`.
    """

    op = "conv"

    def __init__(self, filters, kernel_size, stride=1, padding="same", activation="relu",
                 slope=None, init="auto"):
        super().__init__()
        set_window_attributes(self, filters, kernel_size, stride, padding, activation, slope,
                              init)

    def _describe(self):
        return (f"{self.filters}, kernel_size={self.kernel_size!r}, stride={self.stride!r}, "
                f"padding={self.padding!r}, activation={self.activation!r}")

    def _build(self, input_shapes, rng):
        from skneuro.nn.init import initialize

        shape = tuple(input_shapes[0])
        ndim = len(shape) - 1
        c, h, w = _as_2d(shape)
        kh, kw = _pair(self.kernel_size, ndim, "kernel_size")
        sh, sw = _pair(self.stride, ndim, "stride")
        if self.padding == "same":
            ph, pw = (kh - 1) // 2, (kw - 1) // 2
        elif self.padding == "valid":
            ph, pw = 0, 0
        elif isinstance(self.padding, str):
            raise ValueError(f"padding must be 'same', 'valid' or ints, got {self.padding!r}.")
        else:
            ph, pw = _pair(self.padding, ndim, "padding", minimum=0, flat=0)
        oh = (h + 2 * ph - kh) // sh + 1
        ow = (w + 2 * pw - kw) // sw + 1
        if oh < 1 or ow < 1:
            raise ValueError(f"A {kh}x{kw} convolution does not fit an input of spatial "
                             f"size {h}x{w} with padding {self.padding!r}.")
        self._geometry = (c, h, w, kh, kw, sh, sw, ph, pw, oh, ow)
        fan_in = c * kh * kw
        W, b = initialize((fan_in, self.filters), self.activation, self.init, rng)
        self.params = {"W": self.backend.asarray(W), "b": self.backend.asarray(b)}
        return (self.filters, ow) if ndim == 1 else (self.filters, oh, ow)

    def forward(self, inputs, training=False):
        x = inputs[0]
        n = x.shape[0]
        c, h, w = self._geometry[:3]
        out = self._buffer("out", (n,) + tuple(self.output_shape))
        self.backend.convolution_forward(self, x.reshape(n, c, h, w), out)
        code = ACTIVATION_CODES[self.activation]
        self._cache_input = x
        self._cache_derivative_arg = self._finish_activation(out, code,
                                                             self.backend.scalar(self.slope))
        return out

    def backward(self, grad):
        return self.backend.convolution_backward(self, grad)


class _Pool(Layer):
    """Shared geometry of the pooling layers."""

    def __init__(self, pool_size=2, stride=None):
        super().__init__()
        self.pool_size = pool_size
        self.stride = pool_size if stride is None else stride

    def _describe(self):
        return f"{self.pool_size!r}, stride={self.stride!r}"

    def _build(self, input_shapes, rng):
        shape = tuple(input_shapes[0])
        ndim = len(shape) - 1
        c, h, w = _as_2d(shape)
        kh, kw = _pair(self.pool_size, ndim, "pool_size")
        sh, sw = _pair(self.stride, ndim, "stride")
        oh, ow = pooled_size(h, kh, sh), pooled_size(w, kw, sw)
        self._geometry = (c, h, w, kh, kw, sh, sw, oh, ow)
        return (c, ow) if ndim == 1 else (c, oh, ow)


class MaxPool(_Pool):
    """Max pooling, 1-D or 2-D by its input; windows clipped at the edges.

    Parameters
    ----------
    pool_size : int or tuple of int, default=2
    stride : int or tuple of int, default=None
        Defaults to ``pool_size``.
    """

    op = "max_pool"

    def forward(self, inputs, training=False):
        x = inputs[0]
        n = x.shape[0]
        c, h, w, kh, kw, sh, sw, oh, ow = self._geometry
        out = self._buffer("out", (n,) + tuple(self.output_shape))
        argmax = self._buffer("argmax", (n, c, oh, ow), dtype="int64")
        self.backend.pool.max_pool_forward(x.reshape(n, c, h, w), kh, kw, sh, sw,
                                           out.reshape(n, c, oh, ow), argmax)
        self._cache_input_shape = x.shape
        self._cache_argmax = argmax
        return out

    def backward(self, grad):
        n = grad.shape[0]
        c, h, w, kh, kw, sh, sw, oh, ow = self._geometry
        dx = self._buffer("dx", self._cache_input_shape)
        self.backend.pool.max_pool_backward(grad.reshape(n, c, oh, ow), self._cache_argmax,
                                            dx.reshape(n, c, h, w))
        return [dx]


class AvgPool(_Pool):
    """Average pooling, 1-D or 2-D by its input; windows clipped at the edges.

    Parameters
    ----------
    pool_size : int or tuple of int, default=2
    stride : int or tuple of int, default=None
        Defaults to ``pool_size``.
    """

    op = "avg_pool"

    def forward(self, inputs, training=False):
        x = inputs[0]
        n = x.shape[0]
        c, h, w, kh, kw, sh, sw, oh, ow = self._geometry
        out = self._buffer("out", (n,) + tuple(self.output_shape))
        self.backend.pool.avg_pool_forward(x.reshape(n, c, h, w), kh, kw, sh, sw,
                                           out.reshape(n, c, oh, ow))
        self._cache_input_shape = x.shape
        return out

    def backward(self, grad):
        n = grad.shape[0]
        c, h, w, kh, kw, sh, sw, oh, ow = self._geometry
        dx = self._buffer("dx", self._cache_input_shape)
        self.backend.pool.avg_pool_backward(grad.reshape(n, c, oh, ow), kh, kw, sh, sw,
                                            dx.reshape(n, c, h, w))
        return [dx]


class Flatten(Layer):
    """Per-sample reshape to one axis (a view: no copy)."""

    def _build(self, input_shapes, rng):
        size = 1
        for s in input_shapes[0]:
            size *= int(s)
        self._input_shape = tuple(input_shapes[0])
        return (size,)

    def forward(self, inputs, training=False):
        x = inputs[0]
        return x.reshape(x.shape[0], -1)

    def backward(self, grad):
        return [grad.reshape((grad.shape[0],) + self._input_shape)]
