"""Transposed convolution: the adjoint of :class:`~skneuro.nn.Conv`, for decoders.

With the geometry of a convolution (kernel, stride, padding), the transposed
convolution maps the convolution's output space back onto its input space:
its linear part is exactly the input gradient of :class:`~skneuro.nn.Conv`.
It runs the convolution's kernels in the other order. Forward: the input,
reordered channel-major to (C, N*H*W), is multiplied by the weights into
``cols`` (F*KH*KW, N*H*W), which ``col2im`` folds (adding overlapping windows)
into the output; one pass adds the bias and the activation. Backward: the
activation derivative, ``im2col`` of the output gradient, two products and
the layout change back to samples.
"""

from skneuro.kernels.codes import CODES as ACTIVATION_CODES
from skneuro.kernels.codes import IDENTITY
from skneuro.nn.conv import _as_2d, _pair, set_window_attributes
from skneuro.nn.layers import Layer


def _same_padding(k, s):
    """``(padding, output_padding)`` for which an axis of length L becomes L * s.

    The padding is :class:`~skneuro.nn.Conv`'s "same", ``(k - 1) // 2``, so that
    "same" here is the adjoint of Conv's "same" at the same stride; the output
    padding then makes up the rest: ``s - 1`` for odd kernels, ``s - 2`` for
    even ones (impossible at stride 1).
    """
    p = (k - 1) // 2
    op = s - k + 2 * p
    if op < 0:
        raise ValueError(f'padding="same" cannot make a transposed convolution with a kernel '
                         f"of {k} and a stride of {s} multiply the size by the stride; use an "
                         "odd kernel or a stride of at least 2.")
    return p, op


class ConvTranspose(Layer):
    """Transposed convolution with a fused bias and activation, 1-D or 2-D by its input.

    The exact adjoint of :class:`~skneuro.nn.Conv` with the same kernel size,
    stride and padding (plus the bias and the activation): it upsamples, a
    spatial axis of length ``L`` becoming ``(L - 1) * stride - 2 * padding +
    kernel_size + output_padding`` long, which a convolution with that
    geometry maps back to ``L``.

    Parameters
    ----------
    filters : int
        Number of output channels.
    kernel_size : int or tuple of int
        Window size (one int per spatial axis, or one for all).
    stride : int or tuple of int, default=1
        The upsampling factor.
    padding : {"same", "valid"} or int or tuple of int, default="same"
        Padding of the matching convolution, which trims the output.
        "same" makes the output ``L * stride`` long: the padding is Conv's
        "same", ``(kernel_size - 1) // 2``, and the output padding is
        ``stride - 1`` for odd kernels and ``stride - 2`` for even ones (an
        even kernel at stride 1 is refused). "valid" trims nothing:
        ``(L - 1) * stride + kernel_size + output_padding``.
    output_padding : int or tuple of int, default=0
        Rows (columns) added at the end of each axis, each in
        ``[0, stride)``: they pick one of the ``stride`` input lengths that a
        strided convolution maps to the same output length. Set by
        ``padding="same"``, so it must be 0 there.
    activation : str, default="relu"
        As for :class:`~skneuro.nn.Dense`.
    slope : float, default=None
        As for :class:`~skneuro.nn.Dense`.
    init : str, default="auto"
        As for :class:`~skneuro.nn.Dense`, with the fan-in of the convolution
        that has this kernel in the forward direction, ``C_in * KH * KW`` (the
        number of products each output sums at stride 1; at stride ``s`` an
        output sums about ``1 / s`` of them per axis, so the initial outputs
        are smaller than at stride 1).

    Attributes
    ----------
    params : dict of str to ndarray
        ``"W"`` of shape ``(filters * KH * KW, C_in)``, a row per output
        channel and kernel tap (channel, row, column), a column per input
        channel: the weights of ``Conv(C_in, kernel_size, stride, padding)``
        on a ``filters``-channel input, whose adjoint this layer is; ``"b"`` of
        shape ``(filters,)``.
    """

    def __init__(self, filters, kernel_size, stride=1, padding="same", output_padding=0,
                 activation="relu", slope=None, init="auto"):
        super().__init__()
        set_window_attributes(self, filters, kernel_size, stride, padding, activation, slope,
                              init)
        self.output_padding = output_padding

    def _describe(self):
        return (f"{self.filters}, kernel_size={self.kernel_size!r}, stride={self.stride!r}, "
                f"padding={self.padding!r}, output_padding={self.output_padding!r}, "
                f"activation={self.activation!r}")

    def _build(self, input_shapes, rng):
        from skneuro.nn.init import initialize

        shape = tuple(input_shapes[0])
        ndim = len(shape) - 1
        c, h, w = _as_2d(shape)
        kh, kw = _pair(self.kernel_size, ndim, "kernel_size")
        sh, sw = _pair(self.stride, ndim, "stride")
        oph, opw = _pair(self.output_padding, ndim, "output_padding", minimum=0, flat=0)
        if self.padding == "same":
            if oph or opw:
                raise ValueError('padding="same" sets the output padding; output_padding must '
                                 f"be 0 with it, got {self.output_padding!r}.")
            (ph, oph), (pw, opw) = _same_padding(kh, sh), _same_padding(kw, sw)
        elif self.padding == "valid":
            ph, pw = 0, 0
        elif isinstance(self.padding, str):
            raise ValueError(f"padding must be 'same', 'valid' or ints, got {self.padding!r}.")
        else:
            ph, pw = _pair(self.padding, ndim, "padding", minimum=0, flat=0)
        # An output padding of a whole stride would give the matching
        # convolution one more output than this layer has inputs.
        if oph >= sh or opw >= sw:
            raise ValueError(f"output_padding must be smaller than the stride, got "
                             f"{self.output_padding!r} with stride {self.stride!r}.")
        oh = (h - 1) * sh - 2 * ph + kh + oph
        ow = (w - 1) * sw - 2 * pw + kw + opw
        if oh < 1 or ow < 1:
            raise ValueError(f"A {kh}x{kw} transposed convolution with padding "
                             f"{self.padding!r} leaves no output for an input of spatial "
                             f"size {h}x{w}.")
        self._geometry = (c, h, w, kh, kw, sh, sw, ph, pw, oh, ow)
        # The draws are independent: only the bound depends on the shape asked
        # for, so the forward convolution's draws serve in the transposed layout.
        W, b = initialize((c * kh * kw, self.filters), self.activation, self.init, rng)
        self.params = {"W": self.backend.asarray(W.reshape(self.filters * kh * kw, c)),
                       "b": self.backend.asarray(b)}
        return (self.filters, ow) if ndim == 1 else (self.filters, oh, ow)

    def forward(self, inputs, training=False):
        x = inputs[0]
        ops = self.backend
        n = x.shape[0]
        c, h, w, kh, kw, sh, sw, ph, pw, oh, ow = self._geometry
        x4 = x.reshape(n, c, h, w)
        xcm = self._buffer("xcm", (c, n * h * w))
        # The identity's derivative times the input: a plain reordering.
        ops.conv.samples_to_channels(x4, x4, IDENTITY, ops.scalar(1.0),
                                     xcm.reshape(c, n, h, w))
        cols = self._buffer("cols", (self.filters * kh * kw, n * h * w))
        # The product's rows are filter taps, not samples: nothing to keep
        # independent of the request (convolutions promise it on neither
        # device), so BLAS / cuBLAS whole, not row blocks padded for cuBLAS.
        ops.dense.matmul(self.params["W"], xcm, cols, exact_rows=False)
        out = self._buffer("out", (n,) + tuple(self.output_shape))
        out3 = out.reshape(n, self.filters, oh * ow)
        ops.conv.col2im(cols, kh, kw, sh, sw, ph, pw, out.reshape(n, self.filters, oh, ow))
        code = ACTIVATION_CODES[self.activation]
        slope = ops.scalar(self.slope)
        ops.conv.channel_bias_activation(out3, self.params["b"], self._fused_code(code), slope,
                                         out3)
        self._cache_input_shape = x.shape
        self._cache_xcm = xcm
        self._cache_derivative_arg = self._finish_activation(out, code, slope)
        return out

    def backward(self, grad):
        ops = self.backend
        n = grad.shape[0]
        c, h, w, kh, kw, sh, sw, ph, pw, oh, ow = self._geometry
        f = self.filters
        code = ACTIVATION_CODES[self.activation]
        if code == IDENTITY:
            delta = grad
        else:
            delta = self._buffer("delta", grad.shape)
            ops.activations.activation_backward(grad.reshape(n, -1),
                                                self._cache_derivative_arg.reshape(n, -1), code,
                                                ops.scalar(self.slope), delta.reshape(n, -1))
        # Bias gradient: over samples, then over positions, each in a fixed order.
        per_position = self._buffer("per_position", (f * oh * ow,))
        ops.dense.column_sum(delta.reshape(n, f * oh * ow), per_position)
        ops.dense.row_sum(per_position.reshape(f, oh * ow), self.grads["b"])
        dcols = self._buffer("dcols", (f * kh * kw, n * h * w))
        ops.conv.im2col(delta.reshape(n, f, oh, ow), kh, kw, sh, sw, ph, pw, dcols)
        ops.dense.matmul_nt(dcols, self._cache_xcm, self.grads["W"])
        if not self.need_input_grad:
            return [None]
        dxcm = self._buffer("dxcm", (c, n * h * w))
        ops.dense.matmul_tn(self.params["W"], dcols, dxcm)
        dx = self._buffer("dx", self._cache_input_shape)
        # A zero bias and the identity: channels_to_samples as a plain reordering.
        zero = self._buffer("zero_bias", (c,))
        ops.dense.fill(zero, 0.0)
        ops.conv.channels_to_samples(dxcm.reshape(c, n, h, w), zero, IDENTITY,
                                     ops.scalar(1.0), dx.reshape(n, c, h, w))
        return [dx]
