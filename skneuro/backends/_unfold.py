"""A convolution as the product of its weights with the unfolded input.

``im2col`` writes every window of the input as a column; the convolution is
then one matrix product, forward and backward, and ``col2im`` folds the input
gradient back. Both backends run it: the CUDA backend for every
convolution (the product is its GEMM), the CPU backend for the geometries its
lanes kernels do not take (strides above one, small batches).

The functions take the :class:`~skneuro.nn.Conv` layer whose parameters,
geometry and buffers they use.
"""

from skneuro.kernels.codes import CODES as ACTIVATION_CODES


def forward(layer, x, out):
    """``out`` = the layer's convolution of ``x`` (N, C, H, W), bias and fused activation."""
    ops = layer.backend
    n = x.shape[0]
    c, h, w, kh, kw, sh, sw, ph, pw, oh, ow = layer._geometry
    code = ACTIVATION_CODES[layer.activation]
    fused, slope = layer._fused_code(code), ops.scalar(layer.slope)
    product = layer._buffer("product", (layer.filters, n * oh * ow))
    unfolded = layer._buffer("cols", (c * kh * kw, n * oh * ow))
    ops.conv.im2col(x, kh, kw, sh, sw, ph, pw, unfolded)
    ops.dense.matmul_tn(layer.params["W"], unfolded, product)
    ops.conv.channels_to_samples(product.reshape(layer.filters, n, oh, ow), layer.params["b"],
                                 fused, slope, out.reshape(n, layer.filters, oh, ow))
    layer._cache_operand = unfolded


def backward(layer, grad):
    """The gradients of :func:`forward`'s last pass; returns ``[input gradient]``."""
    ops = layer.backend
    n = grad.shape[0]
    c, h, w, kh, kw, sh, sw, ph, pw, oh, ow = layer._geometry
    code = ACTIVATION_CODES[layer.activation]
    # The gradient with respect to the pre-activation, channel-major.
    delta = layer._buffer("delta", (layer.filters, n * oh * ow))
    ops.conv.samples_to_channels(grad.reshape(n, layer.filters, oh, ow),
                                 layer._cache_derivative_arg.reshape(n, layer.filters, oh, ow),
                                 code, ops.scalar(layer.slope),
                                 delta.reshape(layer.filters, n, oh, ow))
    unfolded = layer._cache_operand
    ops.dense.matmul_nt(unfolded, delta, layer.grads["W"])
    ops.dense.row_sum(delta, layer.grads["b"])
    if not layer.need_input_grad:
        return [None]
    dx = layer._buffer("dx", layer._cache_input.shape)
    dcols = layer._buffer("dcols", unfolded.shape)
    ops.dense.matmul(layer.params["W"], delta, dcols, exact_rows=False)
    ops.conv.col2im(dcols, kh, kw, sh, sw, ph, pw, dx.reshape(n, c, h, w))
    return [dx]
