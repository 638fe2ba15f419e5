"""Convolution, pooling and flattening layers, for 1-D and 2-D inputs.

Per-sample shapes are ``(C, L)`` for 1-D and ``(C, H, W)`` for 2-D inputs. A
1-D layer runs the 2-D kernels with a height of 1, so both share one code
path. Weights are stored as a dense layer's, ``(C*KH*KW, F)``. Stride-1
convolutions run with the samples in the vector lanes
(:mod:`skneuro.kernels.cpu.lanes`); other strides as the product of the
weights with the unfolded input (:mod:`skneuro.kernels.cpu.conv`).
"""

from skneuro.kernels.codes import CODES as ACTIVATION_CODES
from skneuro.kernels.codes import IDENTITY, pooled_size
from skneuro.kernels.cpu.lanes import lanes_size
from skneuro.nn.layers import Layer, _default_slope

#: Fewest samples a stride-1 convolution runs in lanes. The lanes hold the
#: batch rounded up to 32 samples, so a single row costs 32 rows'
#: arithmetic: the course's MNIST network predicts one row in 1.1 ms in lanes
#: and 0.46 ms unfolded, 8 rows in 2.2 and 2.6 ms.
MIN_LANES_BATCH = 8


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

    lanes_seed = True

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

    def _method(self, n):
        """How the layer computes a batch of ``n`` samples: "lanes" or "unfold".

        "lanes" (stride 1 with the padding inside the window, so "same" and
        "valid", and at least ``MIN_LANES_BATCH`` samples): the samples in the
        vector lanes, see :mod:`skneuro.kernels.cpu.lanes`. "unfold" (other
        strides and paddings, and fewer samples): ``im2col`` + a matrix
        product, forward and backward.
        """
        c, h, w, kh, kw, sh, sw, ph, pw, oh, ow = self._geometry
        if (sh, sw) == (1, 1) and ph <= kh - 1 and pw <= kw - 1 and n >= MIN_LANES_BATCH:
            return "lanes"
        return "unfold"

    def forward(self, inputs, training=False):
        x = inputs[0]
        ops = self.backend
        n = x.shape[0]
        c, h, w, kh, kw, sh, sw, ph, pw, oh, ow = self._geometry
        x4 = x.reshape(n, c, h, w)
        out = self._buffer("out", (n,) + tuple(self.output_shape))
        out4 = out.reshape(n, self.filters, oh, ow)
        code = ACTIVATION_CODES[self.activation]
        fused, slope = self._fused_code(code), ops.scalar(self.slope)
        W, b = self.params["W"], self.params["b"]
        self._cache_method = method = self._method(n)
        if method == "lanes":
            nv = lanes_size(n)
            lanes_out = self._buffer("lanes_out", (self.filters, oh, ow, nv))
            if self._uses_winograd():
                padded = self._buffer("lanes_in", (c, h + 2, w + 2, nv))
                ops.lanes.to_lanes(x4, 1, 1, padded)
                self._convolve_winograd(padded, W, b, lanes_out)
                self._cache_operand, self._cache_padded = None, padded
            else:
                # Unpadded planes: the kernel skips the taps outside them.
                lanes_in = self._buffer("lanes_plain", (c, h, w, nv))
                ops.lanes.to_lanes(x4, 0, 0, lanes_in)
                ops.lanes.conv_lanes(lanes_in, W, b, kh, kw, ph, pw, lanes_out)
                self._cache_operand, self._cache_padded = lanes_in, None
            ops.lanes.from_lanes(lanes_out, fused, slope, out4)
        else:
            product = self._buffer("product", (self.filters, n * oh * ow))
            unfolded = self._buffer("cols", (c * kh * kw, n * oh * ow))
            ops.conv.im2col(x4, kh, kw, sh, sw, ph, pw, unfolded)
            ops.dense.matmul_tn(W, unfolded, product)
            ops.conv.channels_to_samples(product.reshape(self.filters, n, oh, ow), b, fused,
                                         slope, out4)
            self._cache_operand = unfolded
        self._cache_input = x
        self._cache_derivative_arg = self._finish_activation(out, code, slope)
        return out

    def backward(self, grad):
        if self._cache_method == "lanes":
            return self._backward_lanes(grad)
        ops = self.backend
        n = grad.shape[0]
        c, h, w, kh, kw, sh, sw, ph, pw, oh, ow = self._geometry
        code = ACTIVATION_CODES[self.activation]
        # The gradient with respect to the pre-activation, channel-major.
        delta = self._buffer("delta", (self.filters, n * oh * ow))
        ops.conv.samples_to_channels(grad.reshape(n, self.filters, oh, ow),
                                     self._cache_derivative_arg.reshape(n, self.filters, oh, ow),
                                     code, ops.scalar(self.slope),
                                     delta.reshape(self.filters, n, oh, ow))
        unfolded = self._cache_operand
        ops.dense.matmul_nt(unfolded, delta, self.grads["W"])
        ops.dense.row_sum(delta, self.grads["b"])
        if not self.need_input_grad:
            return [None]
        dx = self._buffer("dx", self._cache_input.shape)
        dcols = self._buffer("dcols", unfolded.shape)
        ops.dense.matmul(self.params["W"], delta, dcols, exact_rows=False)
        ops.conv.col2im(dcols, kh, kw, sh, sw, ph, pw, dx.reshape(n, c, h, w))
        return [dx]

    def _backward_lanes(self, grad):
        """The backward pass of the "lanes" method: the output gradient into lanes,
        then :meth:`_lanes_gradients`, the input gradient back."""
        ops = self.backend
        n = grad.shape[0]
        c, h, w, kh, kw, sh, sw, ph, pw, oh, ow = self._geometry
        f = self.filters
        delta = self._pre_activation_grad(grad, "delta_samples")
        nv = lanes_size(n)
        lanes_delta = self._buffer("lanes_delta_plain", (f, oh, ow, nv))
        ops.lanes.to_lanes(delta.reshape(n, f, oh, ow), 0, 0, lanes_delta)
        lanes_dx = self._lanes_gradients(lanes_delta)
        if lanes_dx is None:
            return [None]
        dx = self._buffer("dx", self._cache_input.shape)
        ops.lanes.from_lanes(lanes_dx, IDENTITY, ops.scalar(1.0), dx.reshape(n, c, h, w))
        return [dx]

    def _pre_activation_grad(self, grad, name):
        """``grad`` times the activation's derivative, into buffer ``name`` (``grad``
        itself for the identity); element-wise, so in either layout."""
        code = ACTIVATION_CODES[self.activation]
        if code == IDENTITY:
            return grad
        ops = self.backend
        delta = self._buffer(name, grad.shape)
        rows = grad.shape[0]
        ops.activations.activation_backward(
            grad.reshape(rows, -1), self._cache_derivative_arg.reshape(rows, -1), code,
            ops.scalar(self.slope), delta.reshape(rows, -1))
        return delta

    def _lanes_gradients(self, delta):
        """Fill the parameter gradients from the cached input lanes and ``delta``
        (the gradient with respect to the pre-activation, in lanes, (F, OH, OW,
        NV)); return the input gradient in lanes, or None if not needed.

        The weight gradient's kernel reads padded planes, written here; the
        input gradient is the convolution of ``delta``, padded by KH-1-PH
        (KW-1-PW) (implicitly), with flipped filters (the transposed
        convolution of stride 1), whose outputs are exactly the input's H x W
        positions.
        """
        ops = self.backend
        c, h, w, kh, kw, sh, sw, ph, pw, oh, ow = self._geometry
        f, nv = self.filters, delta.shape[3]
        if self._is_pointwise():
            x2 = self._cache_operand.reshape(c, -1)
            d2 = delta.reshape(f, -1)
            ops.dense.matmul_nt(x2, d2, self.grads["W"])
            ops.dense.row_sum(d2, self.grads["b"])
            if not self.need_input_grad:
                return None
            dx = self._buffer("lanes_dx", self._cache_operand.shape)
            ops.dense.matmul(self.params["W"], d2, dx.reshape(c, -1), exact_rows=False)
            return dx
        lanes_in = self._cache_padded
        if lanes_in is None:
            lanes_in = self._cache_operand
            if ph or pw:
                lanes_in = self._buffer("lanes_in", (c, h + 2 * ph, w + 2 * pw, nv))
                ops.lanes.pad_lanes(self._cache_operand, ph, pw, lanes_in)
        qh, qw = kh - 1 - ph, kw - 1 - pw
        lanes_delta = delta
        if qh or qw:
            lanes_delta = self._buffer("lanes_delta", (f, oh + 2 * qh, ow + 2 * qw, nv))
            ops.lanes.pad_lanes(delta, qh, qw, lanes_delta)
        ops.lanes.conv_lanes_weight_grad(lanes_in, lanes_delta, qh, qw, kh, kw,
                                         self.grads["W"])
        # The samples past the batch have zero gradients.
        ops.dense.row_sum(delta.reshape(f, -1), self.grads["b"])
        if not self.need_input_grad:
            return None
        flipped = self._buffer("flipped", (f * kh * kw, c))
        ops.conv.flip_filters(self.params["W"], c, kh, kw, flipped)
        dx = self._buffer("lanes_dx", (c, h, w, nv))
        if self._uses_winograd():  # the same geometry: "same" 3x3 on the output's planes
            self._convolve_winograd(lanes_delta, flipped, self._zero_bias(c), dx)
        else:
            ops.lanes.conv_lanes(delta, flipped, self._zero_bias(c), kh, kw, qh, qw, dx)
        return dx

    def _is_pointwise(self):
        """A 1x1 window without padding: in lanes, the product of the weights with
        the input's (C, H*W*NV) matrix, which BLAS computes at twice the speed
        of :func:`~skneuro.kernels.cpu.lanes.conv_lanes` (whose loads, one plane
        apart per channel, then share a few cache sets)."""
        c, h, w, kh, kw, sh, sw, ph, pw, oh, ow = self._geometry
        # One filter would be a matrix-vector product, whose rounding in
        # OpenBLAS depends on the number of columns (the batch): a sample's
        # output would change with its batch.
        return (kh, kw, ph, pw) == (1, 1, 0, 0) and self.filters >= 2

    def _uses_winograd(self):
        """A "same" 3x3 window on planes of even sizes, at least 4x4: F(2x2, 3x3)
        (:mod:`skneuro.kernels.cpu.winograd`), 1.5x faster than the direct sums
        on 8x8 and 4x4 planes; on 2x2 planes the direct kernel skips as many
        taps."""
        c, h, w, kh, kw, sh, sw, ph, pw, oh, ow = self._geometry
        return ((kh, kw, ph, pw) == (3, 3, 1, 1) and h % 2 == 0 and w % 2 == 0
                and h >= 4 and w >= 4)

    def _convolve_winograd(self, padded, W, b, out):
        """``out`` = the convolution of the planes ``padded`` by one with weights ``W``
        (C*9, F), plus ``b``."""
        ops = self.backend
        c, f = padded.shape[0], W.shape[1]
        transformed = self._buffer("winograd_weights", (16, c, f))
        ops.winograd.winograd_weights(W, transformed)
        scratch = self._buffer("winograd_scratch",
                               ops.winograd.scratch_shape(c, padded.shape[3], ops.dtype))
        ops.winograd.conv_lanes_winograd(padded, transformed, b, scratch, out)

    def _zero_bias(self, size):
        """Zeros for the input gradient's convolution, which has no bias."""
        zeros = self._buffer("zero_bias", (size,))
        self.backend.dense.fill(zeros, self.backend.scalar(0.0))
        return zeros

    # -- in a lanes region (see skneuro.nn.lanes) ----------------------------
    def lanes_inputs(self, n):
        return (True,) if self._method(n) == "lanes" else None

    def forward_lanes(self, inputs, n, training=False):
        x = inputs[0]
        ops = self.backend
        c, h, w, kh, kw, sh, sw, ph, pw, oh, ow = self._geometry
        f, nv = self.filters, x.shape[3]
        out = self._buffer("lanes_out", (f, oh, ow, nv))
        code = ACTIVATION_CODES[self.activation]
        slope = ops.scalar(self.slope)
        fused = self._fused_code(code)
        self._cache_operand, self._cache_padded = x, None
        if self._is_pointwise():
            ops.dense.matmul_tn(self.params["W"], x.reshape(c, -1), out.reshape(f, -1))
            out3 = out.reshape(f, -1, nv)
            ops.lanes_layers.bias_activation_lanes(out3, self.params["b"], fused, slope, out3)
        else:
            if self._uses_winograd():
                padded = self._buffer("lanes_in", (c, h + 2, w + 2, nv))
                ops.lanes.pad_lanes(x, 1, 1, padded)
                self._convolve_winograd(padded, self.params["W"], self.params["b"], out)
                self._cache_padded = padded  # the weight gradient reads it
            else:
                # The padding stays implicit: the kernel skips the taps outside
                # the planes (on 4x4 planes, 31% of a 3x3 window's).
                ops.lanes.conv_lanes(x, self.params["W"], self.params["b"], kh, kw, ph, pw,
                                     out)
            if fused != IDENTITY:
                out2 = out.reshape(f, -1)
                ops.activations.activation_forward(out2, fused, slope, out2)
        self._cache_method = "region"
        self._cache_derivative_arg = self._finish_activation(out, code, slope)
        return out

    def backward_lanes(self, grad):
        """As :meth:`_backward_lanes`, with the output gradient and the input
        gradient in lanes: no layout change."""
        return [self._lanes_gradients(self._pre_activation_grad(grad, "lanes_delta_act"))]


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

    def lanes_inputs(self, n):
        return self._spatial_inputs()

    def forward_lanes(self, inputs, n, training=False):
        x = inputs[0]
        c, h, w, kh, kw, sh, sw, oh, ow = self._geometry
        out = self._buffer("lanes_out", (c, oh, ow, x.shape[3]))
        self.backend.lanes_layers.avg_pool_lanes_forward(x.reshape(c, h, w, -1), kh, kw, sh,
                                                         sw, out)
        return out

    def backward_lanes(self, grad):
        c, h, w, kh, kw, sh, sw, oh, ow = self._geometry
        dx = self._buffer("lanes_dx", (c, h, w, grad.shape[3]))
        self.backend.lanes_layers.avg_pool_lanes_backward(grad, kh, kw, sh, sw, dx)
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
