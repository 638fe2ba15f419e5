"""CUDA siblings of :mod:`skneuro.kernels.cpu.norm`.

Statistics: one thread per (sample, group), summing in the CPU kernel's order
(float64); the elementwise passes are grid-stride loops; the parameter
gradients one thread per channel, samples in order.
"""

import math

from numba import cuda

from skneuro.kernels.codes import GELU, IDENTITY, SILU
from skneuro.kernels.cuda._launch import check_device, grid, kernel
from skneuro.kernels.cuda.activations import _apply, _derivative_times


@kernel
def _stats(x, groups, eps, mean, inv_std):
    n, c, p = x.shape
    per = c // groups
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for k in range(start, n * groups, stride):
        s, g = k // groups, k % groups
        total = 0.0
        for ch in range(g * per, (g + 1) * per):
            for q in range(p):
                total += x[s, ch, q]
        m = total / (per * p)
        spread = 0.0
        for ch in range(g * per, (g + 1) * per):
            for q in range(p):
                d = x[s, ch, q] - m
                spread += d * d
        mean[s, g] = m
        inv_std[s, g] = 1.0 / math.sqrt(spread / (per * p) + eps)


@kernel
def _normalize(x, groups, gamma, beta, mean, inv_std, code, param, out, xhat):
    n, c, p = x.shape
    per = c // groups
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for k in range(start, n * c * p, stride):
        s = k // (c * p)
        ch = (k // p) % c
        q = k % p
        g = ch // per
        h = (x[s, ch, q] - mean[s, g]) * inv_std[s, g]
        xhat[s, ch, q] = h
        out[s, ch, q] = _apply(gamma[ch] * h + beta[ch], code, param)


@kernel
def _output_grad(grad, xhat, gamma, beta, code, param, dy):
    # The gradient with respect to the normalized output, before the activation.
    n, c, p = grad.shape
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for k in range(start, n * c * p, stride):
        s = k // (c * p)
        ch = (k // p) % c
        q = k % p
        y = gamma[ch] * xhat[s, ch, q] + beta[ch]
        a = y if code == SILU or code == GELU else _apply(y, code, param)
        dy[s, ch, q] = _derivative_times(grad[s, ch, q], a, code, param)


@kernel
def _group_means(grad, xhat, gamma, groups, mean_d, mean_dx):
    n, c, p = grad.shape
    per = c // groups
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for k in range(start, n * groups, stride):
        s, g = k // groups, k % groups
        sum_d = 0.0
        sum_dx = 0.0
        for ch in range(g * per, (g + 1) * per):
            for q in range(p):
                d = grad[s, ch, q] * gamma[ch]
                sum_d += d
                sum_dx += d * xhat[s, ch, q]
        mean_d[s, g] = sum_d / (per * p)
        mean_dx[s, g] = sum_dx / (per * p)


@kernel
def _input_grad(grad, xhat, inv_std, gamma, groups, mean_d, mean_dx, dx):
    n, c, p = grad.shape
    per = c // groups
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for k in range(start, n * c * p, stride):
        s = k // (c * p)
        ch = (k // p) % c
        q = k % p
        g = ch // per
        dx[s, ch, q] = inv_std[s, g] * (grad[s, ch, q] * gamma[ch] - mean_d[s, g]
                                        - xhat[s, ch, q] * mean_dx[s, g])


@kernel
def _param_grads(grad, xhat, dgamma, dbeta):
    n, c, p = grad.shape
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for ch in range(start, c, stride):
        a = 0.0
        b = 0.0
        for s in range(n):
            for q in range(p):
                a += grad[s, ch, q] * xhat[s, ch, q]
                b += grad[s, ch, q]
        dgamma[ch] = a
        dbeta[ch] = b


def group_norm_forward(x, groups, gamma, beta, eps, code, param, out, xhat, inv_std):
    """Normalize ``x`` and apply activation ``code`` into ``out``; keep ``xhat`` and
    ``inv_std`` (N, G)."""
    check_device(x, gamma, beta, out, xhat, inv_std)
    mean = cuda.device_array(inv_std.shape, dtype=inv_std.dtype)
    _stats[grid(inv_std.size)](x, groups, eps, mean, inv_std)
    _normalize[grid(x.size)](x, groups, gamma, beta, mean, inv_std, code, param, out, xhat)


def group_norm_backward(grad, xhat, inv_std, gamma, beta, groups, code, param, dx, dgamma,
                        dbeta):
    """Gradients with respect to the input, ``gamma`` and ``beta``."""
    check_device(grad, xhat, inv_std, gamma, beta, dx, dgamma, dbeta)
    if code != IDENTITY:
        # dy into dx; the kernels below read it there (the input gradient
        # elementwise in place, as on the CPU).
        _output_grad[grid(grad.size)](grad, xhat, gamma, beta, code, param, dx)
        grad = dx
    mean_d = cuda.device_array(inv_std.shape, dtype=inv_std.dtype)
    mean_dx = cuda.device_array(inv_std.shape, dtype=inv_std.dtype)
    _group_means[grid(inv_std.size)](grad, xhat, gamma, groups, mean_d, mean_dx)
    _param_grads[grid(grad.shape[1])](grad, xhat, dgamma, dbeta)
    _input_grad[grid(grad.size)](grad, xhat, inv_std, gamma, groups, mean_d, mean_dx, dx)
