"""Convolution, pooling and flattening layers, for 1-D and 2-D inputs.

Per-sample shapes are ``(C, L)`` for 1-D and ``(C, H, W)`` for 2-D inputs. A
1-D layer runs the 2-D kernels with a height of 1, so both share one code
path. Weights are stored as a dense layer's, ``(C*KH*KW, F)``: the
convolution is their product with the unfolded input (see
:mod:`skneuro.kernels.cpu.conv` for the layouts).
"""

from skneuro._config import DIRECT_CONV_MAX_CHANNELS, MAX_GARBAGE_SHARE
from skneuro.kernels.cpu.activations import CODES as ACTIVATION_CODES
from skneuro.kernels.cpu.activations import IDENTITY
from skneuro.kernels.cpu.pool import pooled_size
from skneuro.nn.layers import Layer, _default_slope

#: Prediction unfolds and multiplies blocks of samples of about this many
#: bytes of unfolded input, at least MIN_UNFOLD_BLOCK samples a block.
UNFOLD_BLOCK_BYTES = 1 << 20
MIN_UNFOLD_BLOCK = 8

#: How a padded-unfold convolution computes its input gradient: "auto" (as a
#: convolution when it has at most as many filters as input channels),
#: "always" or "never". See :meth:`Conv._input_grad_by_convolution`.
INPUT_GRAD_BY_CONVOLUTION = "auto"


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


def _row_width(wp, ow):
    """Positions per output row of a padded unfold: all ``wp`` (contiguous copies, with
    ``wp - ow`` garbage positions) unless the garbage exceeds ``MAX_GARBAGE_SHARE``."""
    return wp if wp - ow <= MAX_GARBAGE_SHARE * wp else ow


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

    def __init__(self, filters, kernel_size, stride=1, padding="same", activation="relu",
                 slope=None, init="auto"):
        super().__init__()
        set_window_attributes(self, filters, kernel_size, stride, padding, activation, slope,
                              init)

    def _describe(self):
        return (f"{self.filters}, kernel_size={self.kernel_size!r}, stride={self.stride!r}, "
                f"padding={self.padding!r}, activation={self.activation!r}")

    def _build(self, input_shapes, rng):
        from skneuro.nn.init import initialize_weights

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
        W = initialize_weights((fan_in, self.filters), self.activation, self.init, rng)
        self.params = {"W": self.backend.asarray(W), "b": self.backend.zeros((self.filters,))}
        return (self.filters, ow) if ndim == 1 else (self.filters, oh, ow)

    def _method(self):
        """How the layer computes, and the positions per output row of its product.

        "direct" (direct kernels on the padded planes, wide rows), "padded"
        (unfold of the padded planes + product; stride 1) or "strided"
        (unfold + product). The padded unfold keeps ``wp`` positions per row
        (one contiguous copy per tap and sample, ``kw - 1`` garbage positions
        per row) unless that garbage would be more than
        ``MAX_GARBAGE_SHARE`` of the product's columns (small planes: 4x4 maps
        under a 3x3 window get 6 positions per row for 4 outputs).
        """
        c, h, w, kh, kw, sh, sw, ph, pw, oh, ow = self._geometry
        if (sh, sw) != (1, 1):
            return "strided", ow
        wp = w + 2 * pw
        if c * self.filters <= DIRECT_CONV_MAX_CHANNELS:
            return "direct", wp
        return "padded", _row_width(wp, ow)

    def forward(self, inputs, training=False):
        x = inputs[0]
        ops = self.backend
        n = x.shape[0]
        c, h, w, kh, kw, sh, sw, ph, pw, oh, ow = self._geometry
        x4 = x.reshape(n, c, h, w)
        # Stride 1 works on padded planes, with RW positions per output row
        # (RW - OW of them garbage, skipped by the layout kernels).
        method, rw = self._method()
        out = self._buffer("out", (n,) + tuple(self.output_shape))
        code = ACTIVATION_CODES[self.activation]
        fused, slope = self._fused_code(code), ops.scalar(self.slope)
        W, b = self.params["W"], self.params["b"]
        span = oh * rw
        block = n if training else self._inference_block(n, c * kh * kw * span)
        if method == "strided":
            product = self._buffer("product", (self.filters, n * span))
            unfolded = self._buffer("cols", (c * kh * kw, n * span))
            ops.conv.im2col(x4, kh, kw, sh, sw, ph, pw, unfolded)
            ops.dense.matmul_tn(W, unfolded, product)
        else:
            hp, wp = h + 2 * ph, w + 2 * pw
            padded = self._buffer("padded", (n * c * hp * wp + kw - 1,))
            ops.conv.pad(x4, ph, pw, padded)
            self._cache_padded = padded
            if method == "direct":
                product = self._buffer("product", (self.filters, n * span))
                ops.conv.conv_direct(padded, W, n, c, hp, wp, kh, kw, product)
                unfolded = padded
            elif block < n:
                # Prediction on many rows: unfold and multiply a block of samples
                # at a time, so that the unfolded block is still in the cache
                # when the product reads it (and BLAS packs it).
                for start in range(0, n, block):
                    m = min(block, n - start)
                    cols = self._buffer("cols_block", (c * kh * kw, m * span))
                    ops.conv.im2col_wide(padded[start * c * hp * wp:], m, c, hp, wp, kh, kw, rw,
                                         cols)
                    part = self._buffer("product_block", (self.filters, m * span))
                    ops.dense.matmul_tn(W, cols, part)
                    ops.conv.channels_to_samples(part.reshape(self.filters, m, oh, rw), b, fused,
                                                 slope,
                                                 out[start:start + m].reshape(m, self.filters,
                                                                              oh, ow))
                product = unfolded = None  # a backward pass unfolds again
            else:
                product = self._buffer("product", (self.filters, n * span))
                unfolded = self._buffer("cols", (c * kh * kw, n * span))
                ops.conv.im2col_wide(padded, n, c, hp, wp, kh, kw, rw, unfolded)
                ops.dense.matmul_tn(W, unfolded, product)
        if product is not None:
            ops.conv.channels_to_samples(product.reshape(self.filters, n, oh, rw), b, fused,
                                         slope, out.reshape(n, self.filters, oh, ow))
        self._cache_input = x
        self._cache_unfolded = unfolded
        self._cache_derivative_arg = self._finish_activation(out, code, slope)
        return out

    def _inference_block(self, n, per_sample):
        """Samples per block of a blocked unfold + product (``n``: not blocked).

        Blocks of about ``UNFOLD_BLOCK_BYTES`` of unfolded input, at least
        ``MIN_UNFOLD_BLOCK`` samples (below, the calls per block cost more than
        the cache saves).
        """
        itemsize = self.params["W"].dtype.itemsize
        block = max(MIN_UNFOLD_BLOCK, UNFOLD_BLOCK_BYTES // max(1, per_sample * itemsize))
        return n if block >= n else block

    def backward(self, grad):
        ops = self.backend
        n = grad.shape[0]
        c, h, w, kh, kw, sh, sw, ph, pw, oh, ow = self._geometry
        method, rw = self._method()
        hp, wp = h + 2 * ph, w + 2 * pw
        code = ACTIVATION_CODES[self.activation]
        slope = ops.scalar(self.slope)
        by_convolution = (self.need_input_grad and method == "padded"
                          and self._input_grad_by_convolution())
        # The gradient with respect to the pre-activation, channel-major for the
        # weight gradient; also in samples' layout when the input gradient is a
        # convolution of it (the derivative applied once, then only the layout).
        delta_samples = grad
        if by_convolution and code != IDENTITY:
            delta_samples = self._buffer("delta_samples", grad.shape)
            ops.activations.activation_backward(
                grad.reshape(n, -1), self._cache_derivative_arg.reshape(n, -1), code, slope,
                delta_samples.reshape(n, -1))
            grad, code = delta_samples, IDENTITY
        delta = self._buffer("delta", (self.filters, n * oh * rw))
        ops.conv.samples_to_channels(grad.reshape(n, self.filters, oh, ow),
                                     self._cache_derivative_arg.reshape(n, self.filters, oh, ow),
                                     code, slope, delta.reshape(self.filters, n, oh, rw))
        unfolded = self._cache_unfolded
        if unfolded is None:  # a blocked forward pass (prediction) kept no unfold
            unfolded = self._buffer("cols", (c * kh * kw, n * oh * rw))
            ops.conv.im2col_wide(self._cache_padded, n, c, hp, wp, kh, kw, rw, unfolded)
        W = self.params["W"]
        if method == "direct":
            ops.conv.conv_direct_weight_grad(unfolded, delta, n, c, hp, wp, kh, kw,
                                             self.grads["W"])
        else:
            ops.dense.matmul_nt(unfolded, delta, self.grads["W"])
        ops.dense.row_sum(delta, self.grads["b"])
        if not self.need_input_grad:
            return [None]
        dx = self._buffer("dx", self._cache_input.shape)
        dx4 = dx.reshape(n, c, h, w)
        if method == "strided":
            dcols = self._buffer("dcols", unfolded.shape)
            ops.dense.matmul(W, delta, dcols, exact_rows=False)
            ops.conv.col2im(dcols, kh, kw, sh, sw, ph, pw, dx4)
            return [dx]
        if by_convolution:
            self._input_grad_as_convolution(delta_samples, dx4)
            return [dx]
        dpadded = self._buffer("dpadded", (n * c * hp * wp + kw - 1,))
        if method == "direct":
            ops.conv.conv_direct_input_grad(delta, W, n, c, hp, wp, kh, kw, dpadded)
        else:
            dcols = self._buffer("dcols", unfolded.shape)
            ops.dense.matmul(W, delta, dcols, exact_rows=False)
            ops.conv.col2im_wide(dcols, n, c, hp, wp, kh, kw, rw, dpadded)
        ops.conv.unpad(dpadded, ph, pw, dx4)
        return [dx]


    def _input_grad_by_convolution(self):
        """Whether the input gradient runs as a convolution of the output gradient.

        Both ways do the same arithmetic. Unfold + product + fold multiplies
        the weights (C*KH*KW x F) by the gradient: with few filters the
        product's inner size F is small for BLAS, and the fold scatters
        C*KH*KW rows. The convolution unfolds the gradient (F*KH*KW rows) and
        multiplies flipped filters (C x F*KH*KW), an inner size KH*KW times
        larger, writing only C rows. It needs the padding within the window
        (always so for "same" and "valid"). Measured on a U-Net (one core,
        32 rows): faster for 96 -> 32 and 128 -> 64 channels (5.2 -> 4.3 ms,
        3.2 -> 2.5 ms), the same for 32 -> 32, slower for 32 -> 64: hence
        "at most as many filters as input channels".
        """
        c, h, w, kh, kw, sh, sw, ph, pw, oh, ow = self._geometry
        if INPUT_GRAD_BY_CONVOLUTION == "never" or ph > kh - 1 or pw > kw - 1 or kh * kw == 1:
            return False
        return INPUT_GRAD_BY_CONVOLUTION == "always" or self.filters <= c

    def _input_grad_as_convolution(self, delta, dx4):
        """``dx4`` = the full correlation of ``delta`` (the gradient with respect to the
        pre-activation, (N, F, OH, OW)) with the flipped filters."""
        ops = self.backend
        n = delta.shape[0]
        c, h, w, kh, kw, sh, sw, ph, pw, oh, ow = self._geometry
        f = self.filters
        # Padding the gradient by KH-1-PH (KW-1-PW) gives exactly the input's
        # H x W positions as the outputs of the correlation.
        qh, qw = kh - 1 - ph, kw - 1 - pw
        hq, wq = oh + 2 * qh, ow + 2 * qw
        rw = _row_width(wq, w)
        padded = self._buffer("delta_padded", (n * f * hq * wq + kw - 1,))
        ops.conv.pad(delta.reshape(n, f, oh, ow), qh, qw, padded)
        cols = self._buffer("delta_cols", (f * kh * kw, n * h * rw))
        ops.conv.im2col_wide(padded, n, f, hq, wq, kh, kw, rw, cols)
        flipped = self._buffer("flipped", (f * kh * kw, c))
        ops.conv.flip_filters(self.params["W"], c, kh, kw, flipped)
        product = self._buffer("dx_product", (c, n * h * rw))
        ops.dense.matmul_tn(flipped, cols, product)
        zeros = self._buffer("zero_bias", (c,))
        ops.dense.fill(zeros, ops.scalar(0.0))
        ops.conv.channels_to_samples(product.reshape(c, n, h, rw), zeros, IDENTITY,
                                     ops.scalar(1.0), dx4)


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
