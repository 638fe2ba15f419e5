"""The CPU backend's convolutions: samples in the vector lanes, Winograd, or unfolded.

A stride-1 convolution whose padding lies inside the window (so "same" and
"valid") runs with the samples in the vector lanes, on arrays (C, H, W, NV)
(:mod:`skneuro.kernels.cpu.lanes`): every tap of the window is a multiply-add
of whole vectors, which keeps small convolutions (6 or 16 channels, where
im2col + BLAS idles) near the machine's limit. A "same" 3x3 window on even
planes of at least 4x4 runs as Winograd's F(2x2, 3x3)
(:mod:`skneuro.kernels.cpu.winograd`); a 1x1 window as one BLAS product.
Other strides, and batches under :data:`MIN_LANES_BATCH` samples, run
unfolded (:mod:`skneuro.backends._unfold`).

The functions take the :class:`~skneuro.nn.Conv` layer whose parameters,
geometry and buffers they use; ``layer._cache_method`` records how the last
forward pass ran, for its backward pass.
"""

from skneuro.backends import _unfold
from skneuro.kernels.codes import CODES as ACTIVATION_CODES
from skneuro.kernels.codes import IDENTITY
from skneuro.kernels.cpu.lanes import lanes_size

#: Fewest samples a stride-1 convolution runs in lanes. The lanes hold the
#: batch rounded up to 32 samples, so a single row costs 32 rows'
#: arithmetic: the course's MNIST network predicts one row in 1.1 ms in lanes
#: and 0.46 ms unfolded, 8 rows in 2.2 and 2.6 ms.
MIN_LANES_BATCH = 8


def method(layer, n):
    """How ``layer`` computes a batch of ``n`` samples: "lanes" or "unfold"."""
    c, h, w, kh, kw, sh, sw, ph, pw, oh, ow = layer._geometry
    if (sh, sw) == (1, 1) and ph <= kh - 1 and pw <= kw - 1 and n >= MIN_LANES_BATCH:
        return "lanes"
    return "unfold"


def forward(layer, x, out):
    """``out`` = the layer's convolution of ``x`` (N, C, H, W), bias and fused activation
    (SiLU and GELU are finished by the layer)."""
    ops = layer.backend
    n = x.shape[0]
    c, h, w, kh, kw, sh, sw, ph, pw, oh, ow = layer._geometry
    layer._cache_method = how = method(layer, n)
    if how == "unfold":
        _unfold.forward(layer, x, out)
        return
    code = ACTIVATION_CODES[layer.activation]
    fused, slope = layer._fused_code(code), ops.scalar(layer.slope)
    W, b = layer.params["W"], layer.params["b"]
    nv = lanes_size(n)
    lanes_out = layer._buffer("lanes_out", (layer.filters, oh, ow, nv))
    if uses_winograd(layer):
        padded = layer._buffer("lanes_in", (c, h + 2, w + 2, nv))
        ops.lanes.to_lanes(x, 1, 1, padded)
        _convolve_winograd(layer, padded, W, b, lanes_out)
        layer._cache_operand, layer._cache_padded = None, padded
    else:
        # Unpadded planes: the kernel skips the taps outside them.
        lanes_in = layer._buffer("lanes_plain", (c, h, w, nv))
        ops.lanes.to_lanes(x, 0, 0, lanes_in)
        ops.lanes.conv_lanes(lanes_in, W, b, kh, kw, ph, pw, lanes_out)
        layer._cache_operand, layer._cache_padded = lanes_in, None
    ops.lanes.from_lanes(lanes_out, fused, slope, out.reshape(n, layer.filters, oh, ow))


def backward(layer, grad):
    """The gradients of :func:`forward`'s last pass; returns ``[input gradient]``."""
    if layer._cache_method == "unfold":
        return _unfold.backward(layer, grad)
    # The output gradient into lanes, the gradients there, the input gradient back.
    ops = layer.backend
    n = grad.shape[0]
    c, h, w, kh, kw, sh, sw, ph, pw, oh, ow = layer._geometry
    f = layer.filters
    delta = _pre_activation_grad(layer, grad, "delta_samples")
    lanes_delta = layer._buffer("lanes_delta_plain", (f, oh, ow, lanes_size(n)))
    ops.lanes.to_lanes(delta.reshape(n, f, oh, ow), 0, 0, lanes_delta)
    lanes_dx = _lanes_gradients(layer, lanes_delta)
    if lanes_dx is None:
        return [None]
    dx = layer._buffer("dx", layer._cache_input.shape)
    ops.lanes.from_lanes(lanes_dx, IDENTITY, ops.scalar(1.0), dx.reshape(n, c, h, w))
    return [dx]


# -- in a lanes region (see skneuro.backends.cpu.lanes) ----------------------
def lanes_inputs(layer, n):
    return (True,) if method(layer, n) == "lanes" else None


def forward_lanes(layer, inputs, n, training=False):
    x = inputs[0]
    ops = layer.backend
    c, h, w, kh, kw, sh, sw, ph, pw, oh, ow = layer._geometry
    f, nv = layer.filters, x.shape[3]
    out = layer._buffer("lanes_out", (f, oh, ow, nv))
    code = ACTIVATION_CODES[layer.activation]
    slope = ops.scalar(layer.slope)
    fused = layer._fused_code(code)
    layer._cache_operand, layer._cache_padded = x, None
    if is_pointwise(layer):
        ops.dense.matmul_tn(layer.params["W"], x.reshape(c, -1), out.reshape(f, -1))
        out3 = out.reshape(f, -1, nv)
        ops.lanes_layers.bias_activation_lanes(out3, layer.params["b"], fused, slope, out3)
    else:
        if uses_winograd(layer):
            padded = layer._buffer("lanes_in", (c, h + 2, w + 2, nv))
            ops.lanes.pad_lanes(x, 1, 1, padded)
            _convolve_winograd(layer, padded, layer.params["W"], layer.params["b"], out)
            layer._cache_padded = padded  # the weight gradient reads it
        else:
            # The padding stays implicit: the kernel skips the taps outside
            # the planes (on 4x4 planes, 31% of a 3x3 window's).
            ops.lanes.conv_lanes(x, layer.params["W"], layer.params["b"], kh, kw, ph, pw, out)
        if fused != IDENTITY:
            out2 = out.reshape(f, -1)
            ops.activations.activation_forward(out2, fused, slope, out2)
    layer._cache_method = "region"
    layer._cache_derivative_arg = layer._finish_activation(out, code, slope)
    return out


def backward_lanes(layer, grad):
    """As :func:`backward`, with the output and input gradients in lanes: no layout change."""
    return [_lanes_gradients(layer, _pre_activation_grad(layer, grad, "lanes_delta_act"))]


# -- the pieces ----------------------------------------------------------------
def _pre_activation_grad(layer, grad, name):
    """``grad`` times the activation's derivative, into buffer ``name`` (``grad``
    itself for the identity); element-wise, so in either layout."""
    code = ACTIVATION_CODES[layer.activation]
    if code == IDENTITY:
        return grad
    ops = layer.backend
    delta = layer._buffer(name, grad.shape)
    rows = grad.shape[0]
    ops.activations.activation_backward(
        grad.reshape(rows, -1), layer._cache_derivative_arg.reshape(rows, -1), code,
        ops.scalar(layer.slope), delta.reshape(rows, -1))
    return delta


def _lanes_gradients(layer, delta):
    """Fill the parameter gradients from the cached input lanes and ``delta``
    (the gradient with respect to the pre-activation, in lanes, (F, OH, OW,
    NV)); return the input gradient in lanes, or None if not needed.

    The weight gradient's kernel reads padded planes, written here; the
    input gradient is the convolution of ``delta``, padded by KH-1-PH
    (KW-1-PW) (implicitly), with flipped filters (the transposed
    convolution of stride 1), whose outputs are exactly the input's H x W
    positions.
    """
    ops = layer.backend
    c, h, w, kh, kw, sh, sw, ph, pw, oh, ow = layer._geometry
    f, nv = layer.filters, delta.shape[3]
    if is_pointwise(layer):
        x2 = layer._cache_operand.reshape(c, -1)
        d2 = delta.reshape(f, -1)
        ops.dense.matmul_nt(x2, d2, layer.grads["W"])
        ops.dense.row_sum(d2, layer.grads["b"])
        if not layer.need_input_grad:
            return None
        dx = layer._buffer("lanes_dx", layer._cache_operand.shape)
        ops.dense.matmul(layer.params["W"], d2, dx.reshape(c, -1), exact_rows=False)
        return dx
    lanes_in = layer._cache_padded
    if lanes_in is None:
        lanes_in = layer._cache_operand
        if ph or pw:
            lanes_in = layer._buffer("lanes_in", (c, h + 2 * ph, w + 2 * pw, nv))
            ops.lanes.pad_lanes(layer._cache_operand, ph, pw, lanes_in)
    qh, qw = kh - 1 - ph, kw - 1 - pw
    lanes_delta = delta
    if qh or qw:
        lanes_delta = layer._buffer("lanes_delta", (f, oh + 2 * qh, ow + 2 * qw, nv))
        ops.lanes.pad_lanes(delta, qh, qw, lanes_delta)
    ops.lanes.conv_lanes_weight_grad(lanes_in, lanes_delta, qh, qw, kh, kw, layer.grads["W"])
    # The samples past the batch have zero gradients.
    ops.dense.row_sum(delta.reshape(f, -1), layer.grads["b"])
    if not layer.need_input_grad:
        return None
    flipped = layer._buffer("flipped", (f * kh * kw, c))
    ops.conv.flip_filters(layer.params["W"], c, kh, kw, flipped)
    dx = layer._buffer("lanes_dx", (c, h, w, nv))
    if uses_winograd(layer):  # the same geometry: "same" 3x3 on the output's planes
        _convolve_winograd(layer, lanes_delta, flipped, _zero_bias(layer, c), dx)
    else:
        ops.lanes.conv_lanes(delta, flipped, _zero_bias(layer, c), kh, kw, qh, qw, dx)
    return dx


def is_pointwise(layer):
    """A 1x1 window without padding: in lanes, the product of the weights with
    the input's (C, H*W*NV) matrix, which BLAS computes at twice the speed
    of :func:`~skneuro.kernels.cpu.lanes.conv_lanes` (whose loads, one plane
    apart per channel, then share a few cache sets)."""
    c, h, w, kh, kw, sh, sw, ph, pw, oh, ow = layer._geometry
    # One filter would be a matrix-vector product, whose rounding in
    # OpenBLAS depends on the number of columns (the batch): a sample's
    # output would change with its batch.
    return (kh, kw, ph, pw) == (1, 1, 0, 0) and layer.filters >= 2


def uses_winograd(layer):
    """A "same" 3x3 window on planes of even sizes, at least 4x4: F(2x2, 3x3)
    (:mod:`skneuro.kernels.cpu.winograd`), 1.5x faster than the direct sums
    on 8x8 and 4x4 planes; on 2x2 planes the direct kernel skips as many
    taps."""
    c, h, w, kh, kw, sh, sw, ph, pw, oh, ow = layer._geometry
    return ((kh, kw, ph, pw) == (3, 3, 1, 1) and h % 2 == 0 and w % 2 == 0
            and h >= 4 and w >= 4)


def _convolve_winograd(layer, padded, W, b, out):
    """``out`` = the convolution of the planes ``padded`` by one with weights ``W``
    (C*9, F), plus ``b``."""
    ops = layer.backend
    c, f = padded.shape[0], W.shape[1]
    transformed = layer._buffer("winograd_weights", (16, c, f))
    ops.winograd.winograd_weights(W, transformed)
    scratch = layer._buffer("winograd_scratch",
                            ops.winograd.scratch_shape(c, padded.shape[3], ops.dtype))
    ops.winograd.conv_lanes_winograd(padded, transformed, b, scratch, out)


def _zero_bias(layer, size):
    """Zeros for the input gradient's convolution, which has no bias."""
    zeros = layer._buffer("zero_bias", (size,))
    layer.backend.dense.fill(zeros, layer.backend.scalar(0.0))
    return zeros
