"""Activation functions, forward and backward, fused with the bias add.

Activations are identified by small integer codes (Numba kernels cannot take
Python callables cheaply). Each code has its own loop so that the branch sits
outside the loop and the loop body vectorizes.

The backward pass is written in terms of the activation's *output* ``a``
(sigmoid: ``beta*a*(1-a)``, tanh: ``1-a**2``, ReLU: ``a>0``), so the forward
pass never needs to keep its pre-activation.
"""

import numpy as np
from numba import prange

from skneuro.kernels._jit import FLT_MIN, kernel

IDENTITY = 0
STEP = 1
SIGMOID = 2
TANH = 3
RELU = 4
LEAKY_RELU = 5

CODES = {
    "identity": IDENTITY,
    "step": STEP,
    "sigmoid": SIGMOID,
    "logistic": SIGMOID,
    "tanh": TANH,
    "relu": RELU,
    "leaky_relu": LEAKY_RELU,
}


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
                s = one / (one + np.exp(-param * (row[j] + b[j])))
                row[j] = s if s >= tiny else zero  # no subnormals downstream
        elif code == TANH:
            for j in range(m):
                row[j] = np.tanh(row[j] + b[j])
        elif code == RELU:
            for j in range(m):
                row[j] = max(row[j] + b[j], zero)
        else:
            for j in range(m):
                h = row[j] + b[j]
                row[j] = h if h > zero else param * h


@kernel
def activation_backward(grad, a, code, param, out):
    """``out = grad * g'(h)``, with ``g'`` written in terms of ``a = g(h)``.

    ``out`` may be ``grad`` itself.
    """
    n, m = grad.shape
    one = grad.dtype.type(1.0)
    zero = grad.dtype.type(0.0)
    tiny = grad.dtype.type(FLT_MIN)
    for i in prange(n):
        g = grad[i]
        ar = a[i]
        o = out[i]
        if code == IDENTITY:
            for j in range(m):
                o[j] = g[j]
        elif code == STEP:
            for j in range(m):
                o[j] = zero
        elif code == SIGMOID:
            for j in range(m):
                d = g[j] * param * ar[j] * (one - ar[j])
                o[j] = d if abs(d) >= tiny else zero
        elif code == TANH:
            for j in range(m):
                o[j] = g[j] * (one - ar[j] * ar[j])
        elif code == RELU:
            for j in range(m):
                o[j] = g[j] if ar[j] > zero else zero
        else:
            for j in range(m):
                o[j] = g[j] if ar[j] > zero else param * g[j]


@kernel
def activation_forward(x, code, param, out):
    """``out = g(x)`` (an activation on its own, without a bias)."""
    n, m = x.shape
    one = x.dtype.type(1.0)
    zero = x.dtype.type(0.0)
    tiny = x.dtype.type(FLT_MIN)
    for i in prange(n):
        xr = x[i]
        o = out[i]
        if code == IDENTITY:
            for j in range(m):
                o[j] = xr[j]
        elif code == STEP:
            for j in range(m):
                o[j] = one if xr[j] > zero else zero
        elif code == SIGMOID:
            for j in range(m):
                s = one / (one + np.exp(-param * xr[j]))
                o[j] = s if s >= tiny else zero
        elif code == TANH:
            for j in range(m):
                o[j] = np.tanh(xr[j])
        elif code == RELU:
            for j in range(m):
                o[j] = max(xr[j], zero)
        else:
            for j in range(m):
                o[j] = xr[j] if xr[j] > zero else param * xr[j]
