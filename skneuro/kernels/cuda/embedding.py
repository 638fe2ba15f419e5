"""CUDA siblings of :mod:`skneuro.kernels.cpu.embedding`."""

import math

from numba import cuda

from skneuro.kernels.cuda._launch import check_device, grid, kernel


@kernel
def _sinusoidal_embedding(t, max_period, out):
    n, dim = out.shape
    half = dim // 2
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for k in range(start, n * dim, stride):
        i, j = k // dim, k % dim
        if j < 2 * half:
            f = j % half
            angle = t[i] * math.exp(-math.log(max_period) * f / half)
            out[i, j] = math.sin(angle) if j < half else math.cos(angle)
        else:
            out[i, j] = 0.0


@kernel
def _add_channel_vector(x, e, out):
    n, c, p = x.shape
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for k in range(start, n * c * p, stride):
        s = k // (c * p)
        ch = (k // p) % c
        q = k % p
        out[s, ch, q] = x[s, ch, q] + e[s, ch]


@kernel
def _channel_sums(grad, out):
    n, c, p = grad.shape
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for k in range(start, n * c, stride):
        s, ch = k // c, k % c
        total = 0.0
        for q in range(p):
            total += grad[s, ch, q]
        out[s, ch] = total


def sinusoidal_embedding(t, max_period, out):
    """Sinusoidal embedding of the values ``t`` into ``out`` (see the CPU kernel)."""
    check_device(t, out)
    _sinusoidal_embedding[grid(out.size)](t, max_period, out)


def add_channel_vector(x, e, out):
    """``out[n, c, p] = x[n, c, p] + e[n, c]``."""
    check_device(x, e, out)
    _add_channel_vector[grid(x.size)](x, e, out)


def channel_sums(grad, out):
    """``out[n, c] = sum_p grad[n, c, p]``."""
    check_device(grad, out)
    _channel_sums[grid(out.size)](grad, out)


@kernel
def _one_hot(labels, out):
    n, k = out.shape
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for q in range(start, n * k, stride):
        i, j = q // k, q % k
        out[i, j] = 1.0 if j == int(labels[i]) else 0.0


def one_hot(labels, out):
    """``out[n, k] = 1`` where ``k == labels[n]``, else 0."""
    check_device(labels, out)
    _one_hot[grid(out.size)](labels, out)
