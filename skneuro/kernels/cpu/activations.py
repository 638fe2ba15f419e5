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

from skneuro.kernels._jit import FLT_MIN, kernel
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


@kernel
def bias_activation_forward(z, b, code, param):
    """In place: ``z[i, j] = g(z[i, j] + b[j])``.

    ``param`` is the sigmoid's slope beta or the leaky ReLU's negative slope,
    of ``z``'s dtype.
    """
    n, m = z.shape
    one = z.dtype.type(1.0)
    zero = z.dtype.type(0.0)
    tiny = z.dtype.type(FLT_MIN)
    for i in prange(n):
        row = z[i]
        if code == IDENTITY:
            for j in range(m):
                row[j] = row[j] + b[j]
        elif code == STEP:
            for j in range(m):
                row[j] = one if row[j] + b[j] > zero else zero
        elif code == SIGMOID:
            for j in range(m):
                s = one / (one + exp(-param * (row[j] + b[j])))
                row[j] = s if s >= tiny else zero  # no subnormals downstream
        elif code == TANH:
            for j in range(m):
                row[j] = np.tanh(row[j] + b[j])
        elif code == RELU:
            for j in range(m):
                row[j] = max(row[j] + b[j], zero)
        elif code == SILU or code == GELU:
            for j in range(m):
                row[j] = row[j] + b[j]
            activate_row(row, zero, code, param, row)
        else:
            for j in range(m):
                h = row[j] + b[j]
                row[j] = h if h > zero else param * h


def _activate_row(src, bias, code, param, dst):
    """``dst[j] = g(src[j] + bias)`` over one contiguous row, for a scalar ``bias``."""
    m = src.shape[0]
    one = dst.dtype.type(1.0)
    zero = dst.dtype.type(0.0)
    tiny = dst.dtype.type(FLT_MIN)
    if code == IDENTITY:
        for j in range(m):
            dst[j] = src[j] + bias
    elif code == STEP:
        for j in range(m):
            dst[j] = one if src[j] + bias > zero else zero
    elif code == SIGMOID:
        for j in range(m):
            s = one / (one + exp(-param * (src[j] + bias)))
            dst[j] = s if s >= tiny else zero
    elif code == TANH:
        for j in range(m):
            dst[j] = np.tanh(src[j] + bias)
    elif code == RELU:
        for j in range(m):
            dst[j] = max(src[j] + bias, zero)
    elif code == SILU:
        for j in range(m):
            h = src[j] + bias
            dst[j] = h / (one + exp(-h))
    elif code == GELU:  # 0.5 * (1 + tanh(u)) = sigmoid(2u)
        c2 = dst.dtype.type(2.0 * _GELU_C)
        a = dst.dtype.type(_GELU_A)
        for j in range(m):
            h = src[j] + bias
            dst[j] = h / (one + exp(-c2 * (h + a * h * h * h)))
    else:
        for j in range(m):
            h = src[j] + bias
            dst[j] = h if h > zero else param * h


def _derivative_times_row(g, a, code, param, dst):
    """``dst[j] = g[j] * g'(h[j])`` over one row, written with ``a = g(h)``
    (with ``a = h`` for the codes in :data:`INPUT_DERIVATIVE`)."""
    m = g.shape[0]
    one = dst.dtype.type(1.0)
    zero = dst.dtype.type(0.0)
    tiny = dst.dtype.type(FLT_MIN)
    if code == IDENTITY:
        for j in range(m):
            dst[j] = g[j]
    elif code == STEP:
        for j in range(m):
            dst[j] = zero
    elif code == SIGMOID:
        for j in range(m):
            d = g[j] * param * a[j] * (one - a[j])
            dst[j] = d if abs(d) >= tiny else zero
    elif code == TANH:
        for j in range(m):
            dst[j] = g[j] * (one - a[j] * a[j])
    elif code == RELU:
        for j in range(m):
            dst[j] = g[j] if a[j] > zero else zero
    elif code == SILU:  # a is h: s + h*s*(1-s), s = sigmoid(h)
        for j in range(m):
            s = one / (one + exp(-a[j]))
            dst[j] = g[j] * s * (one + a[j] * (one - s))
    elif code == GELU:  # a is h; s = sigmoid(2u): s + 2 h s (1 - s) u'
        c2 = dst.dtype.type(2.0 * _GELU_C)
        c6 = dst.dtype.type(6.0 * _GELU_A * _GELU_C)
        k = dst.dtype.type(_GELU_A)
        for j in range(m):
            h = a[j]
            s = one / (one + exp(-c2 * (h + k * h * h * h)))
            dst[j] = g[j] * (s + h * s * (one - s) * (c2 + c6 * h * h))
    else:
        for j in range(m):
            dst[j] = g[j] if a[j] > zero else param * g[j]


#: Row helpers inlined into the kernels that call them (here and in the
#: convolution kernels), so each keeps its code branch outside the loop.
activate_row = numba.njit(inline="always")(_activate_row)
derivative_times_row = numba.njit(inline="always")(_derivative_times_row)


@kernel
def activation_backward(grad, a, code, param, out):
    """``out = grad * g'(h)``, with ``g'`` written in terms of ``a = g(h)``.

    ``out`` may be ``grad`` itself.
    """
    for i in prange(grad.shape[0]):
        derivative_times_row(grad[i], a[i], code, param, out[i])


@kernel
def activation_forward(x, code, param, out):
    """``out = g(x)`` (an activation on its own, without a bias)."""
    zero = x.dtype.type(0.0)
    for i in prange(x.shape[0]):
        activate_row(x[i], zero, code, param, out[i])
