"""CUDA siblings of :mod:`skneuro.kernels.cpu.gaussian`: the same draws, to float rounding."""

import math

from numba import cuda, float64

from skneuro.kernels.codes import U_MIN
from skneuro.kernels.cuda._launch import check_device, grid, kernel
from skneuro.kernels.cuda.dropout import _uniform


@cuda.jit(device=True)
def _normal(seed, step, q):
    u1 = max(float64(_uniform(seed, step, 2 * q)), U_MIN)
    u2 = float64(_uniform(seed, step, 2 * q + 1))
    return math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2)


@kernel
def _noise(x, seed, step, first_row, std, out):
    n, m = x.shape
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for k in range(start, n * m, stride):
        i, j = k // m, k % m
        out[i, j] = x[i, j] + std * _normal(seed, step, (first_row + i) * m + j)


@kernel
def _sample_forward(stats, seed, step, first_row, sample, out, eps):
    n, k = out.shape
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for t in range(start, n * k, stride):
        i, j = t // k, t % k
        if sample:
            e = _normal(seed, step, (first_row + i) * k + j)
            eps[i, j] = e
            out[i, j] = stats[i, j] + math.exp(0.5 * stats[i, k + j]) * eps[i, j]
        else:
            eps[i, j] = 0.0
            out[i, j] = stats[i, j]


@kernel
def _sample_backward(grad, stats, eps, dstats):
    n, k = grad.shape
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for t in range(start, n * k, stride):
        i, j = t // k, t % k
        g = grad[i, j]
        dstats[i, j] = g
        dstats[i, k + j] = g * 0.5 * math.exp(0.5 * stats[i, k + j]) * eps[i, j]


def gaussian_noise(x, seed, step, first_row, std, out):
    """``out = x + std * eps``, ``eps`` standard normal."""
    check_device(x, out)
    _noise[grid(x.size)](x, seed, step, first_row, std, out)


def gaussian_sample_forward(stats, seed, step, first_row, sample, out, eps):
    """``z = mu + exp(logvar / 2) * eps`` (``z = mu`` when not ``sample``)."""
    check_device(stats, out, eps)
    _sample_forward[grid(out.size)](stats, seed, step, first_row, sample, out, eps)


def gaussian_sample_backward(grad, stats, eps, dstats):
    """Gradients of the reparameterization with respect to ``[mu | logvar]``."""
    check_device(grad, stats, eps, dstats)
    _sample_backward[grid(grad.size)](grad, stats, eps, dstats)
