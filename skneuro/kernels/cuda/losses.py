"""CUDA siblings of :mod:`skneuro.kernels.cpu.losses`: one thread per row."""

import math

from numba import cuda, float64

from skneuro.kernels._jit import FLT_MIN
from skneuro.kernels.cuda._launch import check_device, grid, kernel


@kernel
def _squared_error(out, target, weight, grad, row_loss):
    n, m = out.shape
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for i in range(start, n, stride):
        w = weight[i]
        acc = 0.0
        for j in range(m):
            d = out[i, j] - target[i, j]
            acc += d * d
            grad[i, j] = w * d
        row_loss[i] = 0.5 * acc


@kernel
def _softmax_cross_entropy(logits, labels, weight, grad, row_loss):
    n, m = logits.shape
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for i in range(start, n, stride):
        zmax = logits[i, 0]
        for j in range(1, m):
            zmax = max(zmax, logits[i, j])
        s = 0.0
        for j in range(m):
            e = math.exp(logits[i, j] - zmax)
            grad[i, j] = e if e >= FLT_MIN else 0.0
            s += e
        w = weight[i]
        for j in range(m):
            grad[i, j] = grad[i, j] * (w / s)
        grad[i, labels[i]] -= w
        row_loss[i] = math.log(s) + zmax - logits[i, labels[i]]


@kernel
def _sigmoid_binary_cross_entropy(logits, target, weight, grad, row_loss):
    n, m = logits.shape
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for i in range(start, n, stride):
        w = weight[i]
        acc = 0.0
        for j in range(m):
            z = logits[i, j]
            t = target[i, j]
            acc += max(z, 0.0) - z * t + math.log1p(math.exp(-abs(z)))
            g = w * (1.0 / (1.0 + math.exp(-z)) - t)
            grad[i, j] = g if abs(g) >= FLT_MIN else 0.0
        row_loss[i] = acc


@kernel
def _poisson_deviance(logits, target, weight, grad, row_loss):
    n, m = logits.shape
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for i in range(start, n, stride):
        w = weight[i]
        acc = 0.0
        for j in range(m):
            mu = math.exp(logits[i, j])
            t = target[i, j]
            constant = t * math.log(t) - t if t > 0 else 0.0
            acc += mu - t * logits[i, j] + constant
            grad[i, j] = w * (mu - t)
        row_loss[i] = acc


@kernel
def _vae_squared_error(out, target, weight, kl_weight, grad, row_loss):
    n, m = target.shape
    k = (out.shape[1] - m) // 2
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for i in range(start, n, stride):
        w = weight[i]
        acc = 0.0
        for j in range(m):
            d = out[i, j] - target[i, j]
            acc += d * d
            grad[i, j] = w * d
        kl = 0.0
        for j in range(k):
            mu = out[i, m + j]
            logvar = out[i, m + k + j]
            var = math.exp(logvar)
            kl += mu * mu + var - 1.0 - logvar
            grad[i, m + j] = w * kl_weight * mu
            grad[i, m + k + j] = w * kl_weight * 0.5 * (var - 1.0)
        row_loss[i] = 0.5 * acc + kl_weight * 0.5 * kl


@kernel
def _weighted_sum(row_loss, weight, scale, acc):
    if cuda.grid(1) == 0:  # one thread, rows in order: the CPU kernel's sum
        total = 0.0
        for i in range(row_loss.shape[0]):
            total += float64(weight[i]) * float64(row_loss[i])
        acc[0] += scale * total


@kernel
def _softmax(z):
    n, m = z.shape
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for i in range(start, n, stride):
        zmax = z[i, 0]
        for j in range(1, m):
            zmax = max(zmax, z[i, j])
        s = 0.0
        for j in range(m):
            z[i, j] = math.exp(z[i, j] - zmax)
            s += z[i, j]
        for j in range(m):
            z[i, j] = z[i, j] / s


@kernel
def _elementwise(z, kind):
    n, m = z.shape
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for k in range(start, n * m, stride):
        i, j = k // m, k % m
        if kind == 0:
            z[i, j] = 1.0 / (1.0 + math.exp(-z[i, j]))
        else:
            z[i, j] = math.exp(z[i, j])


def _loss(kernel, a, target, weight, grad, row_loss):
    check_device(a, target, weight, grad, row_loss)
    kernel[grid(a.shape[0])](a, target, weight, grad, row_loss)


def squared_error(out, target, weight, grad, row_loss):
    """``E = 1/2 * sum_j (a_j - t_j)**2`` per row; ``grad = w * (a - t)``."""
    _loss(_squared_error, out, target, weight, grad, row_loss)


def softmax_cross_entropy(logits, labels, weight, grad, row_loss):
    """Cross-entropy of softmax(logits) with integer ``labels``."""
    _loss(_softmax_cross_entropy, logits, labels, weight, grad, row_loss)


def sigmoid_binary_cross_entropy(logits, target, weight, grad, row_loss):
    """Binary cross-entropy of sigmoid(logits), summed over outputs."""
    _loss(_sigmoid_binary_cross_entropy, logits, target, weight, grad, row_loss)


def poisson_deviance(logits, target, weight, grad, row_loss):
    """Half Poisson deviance of ``exp(logits)``."""
    _loss(_poisson_deviance, logits, target, weight, grad, row_loss)


def vae_squared_error(out, target, weight, kl_weight, grad, row_loss):
    """Squared reconstruction error plus ``kl_weight`` times the KL divergence."""
    check_device(out, target, weight, grad, row_loss)
    _vae_squared_error[grid(target.shape[0])](out, target, weight, kl_weight, grad, row_loss)


def weighted_sum(row_loss, weight, scale, acc):
    """``acc[0] += scale * sum_i weight[i] * row_loss[i]`` in float64."""
    check_device(row_loss, weight, acc)
    _weighted_sum[1, 1](row_loss, weight, scale, acc)


def softmax(z):
    """In place, row-wise softmax."""
    check_device(z)
    _softmax[grid(z.shape[0])](z)


def sigmoid(z):
    """In place, element-wise logistic sigmoid."""
    check_device(z)
    _elementwise[grid(z.size)](z, 0)


def exp(z):
    """In place, element-wise exponential."""
    check_device(z)
    _elementwise[grid(z.size)](z, 1)
