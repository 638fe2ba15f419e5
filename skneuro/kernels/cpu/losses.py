"""Losses fused with their output activation, and the output activations.

Each loss kernel writes the gradient with respect to the network's output into
``grad`` and each row's loss into ``row_loss``; :func:`weighted_sum` then adds
the weighted total into an accumulator. Nothing is returned, so the CUDA
siblings can keep the running loss on the device. ``weight`` holds per-row
weights that already sum to one over the batch, so the loss is a weighted
mean over rows (a weight acts like a repeated row) and the gradient needs no
extra scaling.

Softmax cross-entropy and sigmoid binary cross-entropy take *logits*: fusing
the activation with the loss gives the exact, stable gradient ``p - t``.

Gradients below the smallest normal float32 are flushed to zero: confident
outputs otherwise fill the backward pass with subnormal numbers, on which the
CPU (and so BLAS) runs 20-100x slower.
"""

import numpy as np
from numba import prange

from skneuro.kernels._jit import FLT_MIN, kernel, serial_kernel


@serial_kernel
def weighted_sum(row_loss, weight, scale, acc):
    """``acc[0] += scale * sum_i weight[i] * row_loss[i]``, in float64, rows in order."""
    total = 0.0
    for i in range(row_loss.shape[0]):
        total += np.float64(weight[i]) * np.float64(row_loss[i])
    acc[0] += scale * total


@kernel
def squared_error(out, target, weight, grad, row_loss):
    """``E = 1/2 * sum_j (a_j - t_j)**2`` per row; ``grad = w * (a - t)``."""
    n, m = out.shape
    half = out.dtype.type(0.5)
    for i in prange(n):
        w = weight[i]
        acc = out.dtype.type(0.0)
        for j in range(m):
            d = out[i, j] - target[i, j]
            acc += d * d
            grad[i, j] = w * d
        row_loss[i] = half * acc


@kernel
def softmax_cross_entropy(logits, labels, weight, grad, row_loss):
    """Cross-entropy of softmax(logits) with integer ``labels``; ``grad = w * (p - onehot)``."""
    n, m = logits.shape
    tiny = logits.dtype.type(FLT_MIN)
    zero = logits.dtype.type(0.0)
    for i in prange(n):
        z = logits[i]
        zmax = z[0]
        for j in range(1, m):
            zmax = max(zmax, z[j])
        s = logits.dtype.type(0.0)
        for j in range(m):
            e = np.exp(z[j] - zmax)
            grad[i, j] = e if e >= tiny else zero
            s += e
        w = weight[i]
        scale = w / s
        for j in range(m):
            grad[i, j] *= scale
        grad[i, labels[i]] -= w
        row_loss[i] = np.log(s) + zmax - z[labels[i]]


@kernel
def sigmoid_binary_cross_entropy(logits, target, weight, grad, row_loss):
    """Sum over outputs of binary cross-entropy of sigmoid(logits) with 0/1 ``target``."""
    n, m = logits.shape
    one = logits.dtype.type(1.0)
    zero = logits.dtype.type(0.0)
    tiny = logits.dtype.type(FLT_MIN)
    for i in prange(n):
        w = weight[i]
        acc = zero
        for j in range(m):
            z = logits[i, j]
            t = target[i, j]
            # max(z, 0) - z*t + log(1 + exp(-|z|)) never overflows.
            acc += max(z, zero) - z * t + np.log1p(np.exp(-abs(z)))
            g = w * (one / (one + np.exp(-z)) - t)
            grad[i, j] = g if abs(g) >= tiny else zero
        row_loss[i] = acc


@kernel
def poisson_deviance(logits, target, weight, grad, row_loss):
    """Half Poisson deviance of ``exp(logits)``: ``exp(z) - t*z + t*log(t) - t``."""
    n, m = logits.shape
    zero = logits.dtype.type(0.0)
    for i in prange(n):
        w = weight[i]
        acc = zero
        for j in range(m):
            mu = np.exp(logits[i, j])
            t = target[i, j]
            # t*log(t) - t makes a perfect fit cost 0 (0*log(0) is 0).
            constant = t * np.log(t) - t if t > zero else zero
            acc += mu - t * logits[i, j] + constant
            grad[i, j] = w * (mu - t)
        row_loss[i] = acc


@kernel
def vae_squared_error(out, target, weight, kl_weight, grad, row_loss):
    """A variational autoencoder's loss: squared error plus a weighted KL divergence.

    Rows of ``out`` are ``[reconstruction (m) | mu (k) | logvar (k)]``, rows
    of ``target`` the ``m`` clean inputs. Per row,
    ``1/2 * sum_j (a_j - t_j)**2 + kl_weight * KL``, with the KL divergence of
    ``N(mu, exp(logvar))`` from ``N(0, 1)``,
    ``KL = 1/2 * sum_l (mu_l**2 + exp(logvar_l) - 1 - logvar_l)``;
    ``grad`` is ``w`` times its derivative with respect to every column.
    """
    n, m = target.shape
    k = (out.shape[1] - m) // 2
    half = out.dtype.type(0.5)
    one = out.dtype.type(1.0)
    for i in prange(n):
        w = weight[i]
        acc = out.dtype.type(0.0)
        for j in range(m):
            d = out[i, j] - target[i, j]
            acc += d * d
            grad[i, j] = w * d
        kl = out.dtype.type(0.0)
        for j in range(k):
            mu = out[i, m + j]
            logvar = out[i, m + k + j]
            var = np.exp(logvar)
            kl += mu * mu + var - one - logvar
            grad[i, m + j] = w * kl_weight * mu
            grad[i, m + k + j] = w * kl_weight * half * (var - one)
        row_loss[i] = half * acc + kl_weight * half * kl


@kernel
def exp(z):
    """In place, element-wise exponential (the Poisson model's mean)."""
    n, m = z.shape
    for i in prange(n):
        for j in range(m):
            z[i, j] = np.exp(z[i, j])


@kernel
def softmax(z):
    """In place, row-wise softmax."""
    n, m = z.shape
    for i in prange(n):
        row = z[i]
        zmax = row[0]
        for j in range(1, m):
            zmax = max(zmax, row[j])
        s = z.dtype.type(0.0)
        for j in range(m):
            row[j] = np.exp(row[j] - zmax)
            s += row[j]
        for j in range(m):
            row[j] /= s


@kernel
def sigmoid(z):
    """In place, element-wise logistic sigmoid."""
    n, m = z.shape
    one = z.dtype.type(1.0)
    for i in prange(n):
        for j in range(m):
            z[i, j] = one / (one + np.exp(-z[i, j]))
