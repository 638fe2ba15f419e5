"""Activation functions, forward and backward, fused with the bias add.

Activations are identified by small integer codes (Numba kernels cannot take
Python callables cheaply). Each code has its own loop so that the branch sits
outside the loop and the loop body vectorizes.

The backward pass is written in terms of the activation's *output* ``a``
(sigmoid: ``beta*a*(1-a)``, tanh: ``1-a**2``, ReLU: ``a>0``), so the forward
pass never needs to keep its pre-activation; except for SiLU and GELU
(:data:`INPUT_DERIVATIVE`), whose derivative is not a function of their
output: their backward kernels take the pre-activation ``h`` in place of
``a``, and the layers keep it for them.

GELU is the tanh approximation of Hendrycks & Gimpel,
``0.5*h*(1 + tanh(sqrt(2/pi)*(h + 0.044715*h**3)))`` (within 1e-3 of the erf
form), computed as ``h * sigmoid(2*sqrt(2/pi)*(...))``, the same function
without the cancellation of ``1 + tanh`` for negative ``h``.

Sigmoid, SiLU and GELU call :func:`~skneuro.kernels.cpu.fast_exp.exp`, which
vectorizes in float32 (a library ``exp`` does not: 10x slower).
"""

import numba
import numpy as np
from numba import prange

from skneuro.kernels._jit import FLT_MIN, kernel, specialized
from skneuro.kernels.codes import (  # noqa: F401  (re-exported: the codes of these kernels)
    CODES,
    GELU,
    IDENTITY,
    INPUT_DERIVATIVE,
    LEAKY_RELU,
    RELU,
    SIGMOID,
    SILU,
    STEP,
    TANH,
)
from skneuro.kernels.codes import GELU_A as _GELU_A
from skneuro.kernels.codes import GELU_C as _GELU_C
from skneuro.kernels.cpu.fast_exp import exp

# -- one row, one activation ------------------------------------------------
# Each activation's forward row (``dst[j] = g(src[j] + bias)``, a scalar
# ``bias``) and backward row (``dst[j] = g[j] * g'(h[j])``, written with
# ``a = g(h)``, or ``a = h`` for the codes in INPUT_DERIVATIVE) is a function
# of its own: a kernel compiled for one activation sees only its two rows.
# Inlined into the kernels that call them, so each loop vectorizes there.
_row = numba.njit(inline="always")


@_row
def _identity(src, bias, param, dst):
    for j in range(src.shape[0]):
        dst[j] = src[j] + bias


@_row
def _step(src, bias, param, dst):
    one = dst.dtype.type(1.0)
    zero = dst.dtype.type(0.0)
    for j in range(src.shape[0]):
        dst[j] = one if src[j] + bias > zero else zero


@_row
def _sigmoid(src, bias, param, dst):
    one = dst.dtype.type(1.0)
    zero = dst.dtype.type(0.0)
    tiny = dst.dtype.type(FLT_MIN)
    for j in range(src.shape[0]):
        s = one / (one + exp(-param * (src[j] + bias)))
        dst[j] = s if s >= tiny else zero  # no subnormals downstream


@_row
def _tanh(src, bias, param, dst):
    for j in range(src.shape[0]):
        dst[j] = np.tanh(src[j] + bias)


@_row
def _relu(src, bias, param, dst):
    zero = dst.dtype.type(0.0)
    for j in range(src.shape[0]):
        dst[j] = max(src[j] + bias, zero)


@_row
def _leaky_relu(src, bias, param, dst):
    zero = dst.dtype.type(0.0)
    for j in range(src.shape[0]):
        h = src[j] + bias
        dst[j] = h if h > zero else param * h


@_row
def _silu(src, bias, param, dst):
    one = dst.dtype.type(1.0)
    for j in range(src.shape[0]):
        h = src[j] + bias
        dst[j] = h / (one + exp(-h))


@_row
def _gelu(src, bias, param, dst):  # 0.5 * (1 + tanh(u)) = sigmoid(2u)
    one = dst.dtype.type(1.0)
    c2 = dst.dtype.type(2.0 * _GELU_C)
    a = dst.dtype.type(_GELU_A)
    for j in range(src.shape[0]):
        h = src[j] + bias
        dst[j] = h / (one + exp(-c2 * (h + a * h * h * h)))


@_row
def _identity_grad(g, a, param, dst):
    for j in range(g.shape[0]):
        dst[j] = g[j]


@_row
def _step_grad(g, a, param, dst):
    zero = dst.dtype.type(0.0)
    for j in range(g.shape[0]):
        dst[j] = zero


@_row
def _sigmoid_grad(g, a, param, dst):
    one = dst.dtype.type(1.0)
    zero = dst.dtype.type(0.0)
    tiny = dst.dtype.type(FLT_MIN)
    for j in range(g.shape[0]):
        d = g[j] * param * a[j] * (one - a[j])
        dst[j] = d if abs(d) >= tiny else zero


@_row
def _tanh_grad(g, a, param, dst):
    one = dst.dtype.type(1.0)
    for j in range(g.shape[0]):
        dst[j] = g[j] * (one - a[j] * a[j])


@_row
def _relu_grad(g, a, param, dst):
    zero = dst.dtype.type(0.0)
    for j in range(g.shape[0]):
        dst[j] = g[j] if a[j] > zero else zero


@_row
def _leaky_relu_grad(g, a, param, dst):
    zero = dst.dtype.type(0.0)
    for j in range(g.shape[0]):
        dst[j] = g[j] if a[j] > zero else param * g[j]


@_row
def _silu_grad(g, a, param, dst):  # a is h: s + h*s*(1-s), s = sigmoid(h)
    one = dst.dtype.type(1.0)
    for j in range(g.shape[0]):
        s = one / (one + exp(-a[j]))
        dst[j] = g[j] * s * (one + a[j] * (one - s))


@_row
def _gelu_grad(g, a, param, dst):  # a is h; s = sigmoid(2u): s + 2 h s (1 - s) u'
    one = dst.dtype.type(1.0)
    c2 = dst.dtype.type(2.0 * _GELU_C)
    c6 = dst.dtype.type(6.0 * _GELU_A * _GELU_C)
    k = dst.dtype.type(_GELU_A)
    for j in range(g.shape[0]):
        h = a[j]
        s = one / (one + exp(-c2 * (h + k * h * h * h)))
        dst[j] = g[j] * (s + h * s * (one - s) * (c2 + c6 * h * h))


#: The rows of each code.
FORWARD_ROWS = {IDENTITY: _identity, STEP: _step, SIGMOID: _sigmoid, TANH: _tanh, RELU: _relu,
                LEAKY_RELU: _leaky_relu, SILU: _silu, GELU: _gelu}
BACKWARD_ROWS = {IDENTITY: _identity_grad, STEP: _step_grad, SIGMOID: _sigmoid_grad,
                 TANH: _tanh_grad, RELU: _relu_grad, LEAKY_RELU: _leaky_relu_grad,
                 SILU: _silu_grad, GELU: _gelu_grad}


def _activate_row(src, bias, code, param, dst):
    """``dst[j] = g(src[j] + bias)`` over one contiguous row, for a scalar ``bias``
    and the activation of ``code``."""
    if code == IDENTITY:
        _identity(src, bias, param, dst)
    elif code == STEP:
        _step(src, bias, param, dst)
    elif code == SIGMOID:
        _sigmoid(src, bias, param, dst)
    elif code == TANH:
        _tanh(src, bias, param, dst)
    elif code == RELU:
        _relu(src, bias, param, dst)
    elif code == SILU:
        _silu(src, bias, param, dst)
    elif code == GELU:
        _gelu(src, bias, param, dst)
    else:
        _leaky_relu(src, bias, param, dst)


def _derivative_times_row(g, a, code, param, dst):
    """``dst[j] = g[j] * g'(h[j])`` over one row, written with ``a = g(h)``
    (with ``a = h`` for the codes in :data:`INPUT_DERIVATIVE`)."""
    if code == IDENTITY:
        _identity_grad(g, a, param, dst)
    elif code == STEP:
        _step_grad(g, a, param, dst)
    elif code == SIGMOID:
        _sigmoid_grad(g, a, param, dst)
    elif code == TANH:
        _tanh_grad(g, a, param, dst)
    elif code == RELU:
        _relu_grad(g, a, param, dst)
    elif code == SILU:
        _silu_grad(g, a, param, dst)
    elif code == GELU:
        _gelu_grad(g, a, param, dst)
    else:
        _leaky_relu_grad(g, a, param, dst)


#: Row helpers inlined into the kernels that call them (here and in the
#: convolution kernels), so each keeps its code branch outside the loop.
activate_row = numba.njit(inline="always")(_activate_row)
derivative_times_row = numba.njit(inline="always")(_derivative_times_row)


@numba.njit(inline="always")
def _add_bias(row, b):
    for j in range(row.shape[0]):
        row[j] = row[j] + b[j]


# -- the kernels ---------------------------------------------------------------
# The kernels the layers call run one activation each (and the forward ones
# the identity too): compiled for the codes a program uses, each with its own
# rows only (~0.1 s to compile, where one kernel of all eight took ~0.5-0.8 s:
# a first ReLU MLP's fit compiles one forward and one backward kernel). The
# ``*_any`` kernel takes any code, for compiled callers that pick it per layer
# (the dense chains). Both add the bias in a pass of its own, then activate
# the row with a zero bias: the same values as one pass (``h + 0 == h``).

@kernel
def bias_activation_forward_any(z, b, code, param):
    """:func:`bias_activation_forward` for any ``code`` (one compiled kernel)."""
    zero = z.dtype.type(0.0)
    for i in prange(z.shape[0]):
        _add_bias(z[i], b)
        activate_row(z[i], zero, code, param, z[i])


#: The row of a kernel made for one activation: each variant sees its own
#: (:func:`_variant`).
_ROW = _identity


def _bias_activation_forward(z, b, code, param):
    zero = z.dtype.type(0.0)
    for i in prange(z.shape[0]):
        _add_bias(z[i], b)
        if code != IDENTITY:
            _ROW(z[i], zero, param, z[i])


def _activation_backward(grad, a, param, out):
    for i in prange(grad.shape[0]):
        _ROW(grad[i], a[i], param, out[i])


_VARIANTS = {}


def _variant(body, rows, code):
    """The kernel of ``body`` for activation ``code`` (its row from ``rows``),
    made at its first use."""
    code = int(code)
    key = (body, code)
    found = _VARIANTS.get(key)
    if found is None:
        made = kernel(specialized(body, f"_code{code}", _ROW=rows[code]))
        found = _VARIANTS.setdefault(key, made)
    return found


def forward_kernel(code):
    """The :class:`~skneuro.kernels._jit.Kernel` of :func:`bias_activation_forward`
    made for activation ``code``: ``(z, b, code, param)``, where ``code`` is
    that code or the identity."""
    return _variant(_bias_activation_forward, FORWARD_ROWS, code)


#: The forward kernel of the last activation other than the identity: it runs
#: the identity too (a network's output layer, most often), so that a network
#: of one hidden activation loads one forward kernel, not two (~15 ms of a
#: warm start, ~0.1 s cold). Any variant gives the identity the same bits.
_last_forward = None


def backward_kernel(code):
    """The :class:`~skneuro.kernels._jit.Kernel` of :func:`activation_backward` for
    activation ``code``: ``(grad, a, param, out)``."""
    return _variant(_activation_backward, BACKWARD_ROWS, code)


def bias_activation_forward(z, b, code, param):
    """In place: ``z[i, j] = g(z[i, j] + b[j])``, ``g`` the activation of ``code``.

    ``param`` is the sigmoid's slope beta or the leaky ReLU's negative slope,
    of ``z``'s dtype. Runs the kernel compiled for ``code`` (for the identity,
    the kernel of the last other activation run, if any).
    """
    global _last_forward
    if code != IDENTITY:
        _last_forward = forward_kernel(code)
        _last_forward(z, b, code, param)
    else:
        (_last_forward or forward_kernel(IDENTITY))(z, b, code, param)


def activation_backward(grad, a, code, param, out):
    """``out = grad * g'(h)``, with ``g'`` written in terms of ``a = g(h)``.

    ``out`` may be ``grad`` itself. Runs the kernel compiled for ``code`` alone.
    """
    backward_kernel(code)(grad, a, param, out)


@kernel
def activation_forward(x, code, param, out):
    """``out = g(x)`` (an activation on its own, without a bias)."""
    zero = x.dtype.type(0.0)
    for i in prange(x.shape[0]):
        activate_row(x[i], zero, code, param, out[i])
