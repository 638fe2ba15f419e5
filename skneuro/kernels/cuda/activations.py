"""CUDA siblings of :mod:`skneuro.kernels.cpu.activations`."""

import math

from numba import cuda

from skneuro.kernels._jit import FLT_MIN
from skneuro.kernels.codes import (  # noqa: F401  (the same codes)
    CODES,
    GELU,
    IDENTITY,
    LEAKY_RELU,
    RELU,
    SIGMOID,
    SILU,
    STEP,
    TANH,
)
from skneuro.kernels.codes import GELU_A as _GELU_A
from skneuro.kernels.codes import GELU_C as _GELU_C
from skneuro.kernels.cuda._launch import check_device, grid, kernel


@cuda.jit(device=True)
def _apply(h, code, param):
    if code == IDENTITY:
        return h
    if code == STEP:
        return 1.0 if h > 0 else 0.0
    if code == SIGMOID:
        s = 1.0 / (1.0 + math.exp(-param * h))
        return s if s >= FLT_MIN else 0.0
    if code == TANH:
        return math.tanh(h)
    if code == RELU:
        return h if h > 0 else 0.0
    if code == SILU:
        return h / (1.0 + math.exp(-h))
    if code == GELU:  # 0.5 * h * (1 + tanh(u)) = h * sigmoid(2u), as on the CPU
        return h / (1.0 + math.exp(-2.0 * _GELU_C * (h + _GELU_A * h * h * h)))
    return h if h > 0 else param * h


@cuda.jit(device=True)
def _derivative_times(g, a, code, param):
    # ``a`` is the output g(h), or h itself for SILU and GELU (as on the CPU).
    if code == IDENTITY:
        return g
    if code == STEP:
        return 0.0
    if code == SIGMOID:
        d = g * param * a * (1.0 - a)
        return d if abs(d) >= FLT_MIN else 0.0
    if code == TANH:
        return g * (1.0 - a * a)
    if code == RELU:
        return g if a > 0 else 0.0
    if code == SILU:
        s = 1.0 / (1.0 + math.exp(-a))
        return g * s * (1.0 + a * (1.0 - s))
    if code == GELU:
        s = 1.0 / (1.0 + math.exp(-2.0 * _GELU_C * (a + _GELU_A * a * a * a)))
        slope = 2.0 * _GELU_C + 6.0 * _GELU_A * _GELU_C * a * a
        return g * (s + a * s * (1.0 - s) * slope)
    return g if a > 0 else param * g


@kernel
def _bias_activation_forward(z, b, code, param):
    n, m = z.shape
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for k in range(start, n * m, stride):
        i, j = k // m, k % m
        z[i, j] = _apply(z[i, j] + b[j], code, param)


@kernel
def _activation_forward(x, code, param, out):
    n, m = x.shape
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for k in range(start, n * m, stride):
        i, j = k // m, k % m
        out[i, j] = _apply(x[i, j], code, param)


@kernel
def _activation_backward(grad, a, code, param, out):
    n, m = grad.shape
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for k in range(start, n * m, stride):
        i, j = k // m, k % m
        out[i, j] = _derivative_times(grad[i, j], a[i, j], code, param)


def bias_activation_forward(z, b, code, param):
    """In place: ``z[i, j] = g(z[i, j] + b[j])``."""
    check_device(z, b)
    _bias_activation_forward[grid(z.size)](z, b, code, param)


def activation_forward(x, code, param, out):
    """``out = g(x)``."""
    check_device(x, out)
    _activation_forward[grid(x.size)](x, code, param, out)


def activation_backward(grad, a, code, param, out):
    """``out = grad * g'(h)``, written in terms of ``a = g(h)``."""
    check_device(grad, a, out)
    _activation_backward[grid(grad.size)](grad, a, code, param, out)
