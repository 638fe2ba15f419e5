"""Fused optimizer updates: one pass over a parameter array per step.

Every scalar arrives in the parameter's dtype (the caller casts), so a
float32 update never widens to float64 and the loops vectorize; see
PERF-NOTES: the difference is 15x on an Adam step. Moments and velocities
of parameters whose gradient stays zero (e.g. weights of a constant input)
decay geometrically; they are flushed to zero before they turn subnormal,
which would slow every later step 20-100x. ``l2`` is the L2 penalty
coefficient already divided by the batch weight; it is added to the gradient
here rather than in a separate pass, for the elements before ``decay_stop``
only: the backends pack the parameters that take the penalty (weights) ahead
of those that do not (biases) in one flat buffer
(:mod:`skneuro.backends._flat`), so that one call updates them all.

Each kernel runs over chunks of :data:`CHUNK` elements in one parallel loop,
and each chunk in at most two parts, split at ``decay_stop``, each looped
over as a slice by an inlined row function. A slice's index starts at zero:
an index offset by ``decay_stop`` is not known to be non-negative, and
Numba's wraparound check on it stopped the loop from vectorizing (10x
slower); and one parallel loop, not one per part, because the second part
(the biases, a few hundred elements) would start a parallel region of its
own, which made an MLP's epoch on two threads 5% slower.

They are compiled with exact rounding (no fused multiply-adds, no
reordering, no approximate division or square root), so their serial and
parallel variants compute every element to the same bits, and a dense fit
can run them on every core without its model depending on the thread count
(with the fast-math flags, the parallel Adam changed a fit's weights).
"""

import numba
import numpy as np
from numba import prange

from skneuro.kernels._jit import EXACT_FASTMATH, FLT_MIN, kernel

#: Elements per chunk of the parallel loop.
CHUNK = 4096

_part = numba.njit(inline="always", fastmath=set(EXACT_FASTMATH))


@numba.njit(inline="always")
def _chunks(n):
    return (n + CHUNK - 1) // CHUNK


@numba.njit(inline="always")
def _bounds(c, n, decay_stop):
    """``(lo, mid, hi)`` of chunk ``c``: the penalized part ``[lo, mid)``, the rest
    ``[mid, hi)``."""
    lo = c * CHUNK
    hi = min(n, lo + CHUNK)
    return lo, min(max(decay_stop, lo), hi), hi


@_part
def _sgd_part(p, g, v, lr, momentum, nesterov, decay):
    tiny = p.dtype.type(FLT_MIN)
    zero = p.dtype.type(0.0)
    for i in range(p.shape[0]):
        gi = g[i] + decay * p[i]
        vi = momentum * v[i] - lr * gi
        vi = vi if abs(vi) >= tiny else zero
        v[i] = vi
        if nesterov:
            p[i] += momentum * vi - lr * gi
        else:
            p[i] += vi


@kernel(exact_rounding=True)
def sgd_update(param, grad, velocity, lr, momentum, nesterov, l2, decay_stop):
    """SGD with (Nesterov) momentum, as scikit-learn's SGDOptimizer."""
    p, g, v = param.reshape(-1), grad.reshape(-1), velocity.reshape(-1)
    zero = param.dtype.type(0.0)
    for c in prange(_chunks(p.shape[0])):
        lo, mid, hi = _bounds(c, p.shape[0], decay_stop)
        _sgd_part(p[lo:mid], g[lo:mid], v[lo:mid], lr, momentum, nesterov, l2)
        _sgd_part(p[mid:hi], g[mid:hi], v[mid:hi], lr, momentum, nesterov, zero)


@_part
def _adam_part(p, g, m, v, lr_t, beta_1, beta_2, epsilon, decay):
    one = p.dtype.type(1.0)
    tiny = p.dtype.type(FLT_MIN)
    zero = p.dtype.type(0.0)
    for i in range(p.shape[0]):
        gi = g[i] + decay * p[i]
        mi = beta_1 * m[i] + (one - beta_1) * gi
        vi = beta_2 * v[i] + (one - beta_2) * gi * gi
        mi = mi if abs(mi) >= tiny else zero
        vi = vi if vi >= tiny else zero
        m[i] = mi
        v[i] = vi
        p[i] -= lr_t * mi / (np.sqrt(vi) + epsilon)


@kernel(exact_rounding=True)
def adam_update(param, grad, m1, m2, lr_t, beta_1, beta_2, epsilon, l2, decay_stop):
    """Adam with the bias correction folded into ``lr_t``."""
    p, g, m, v = param.reshape(-1), grad.reshape(-1), m1.reshape(-1), m2.reshape(-1)
    zero = param.dtype.type(0.0)
    for c in prange(_chunks(p.shape[0])):
        lo, mid, hi = _bounds(c, p.shape[0], decay_stop)
        _adam_part(p[lo:mid], g[lo:mid], m[lo:mid], v[lo:mid], lr_t, beta_1, beta_2, epsilon,
                   l2)
        _adam_part(p[mid:hi], g[mid:hi], m[mid:hi], v[mid:hi], lr_t, beta_1, beta_2, epsilon,
                   zero)


@_part
def _rmsprop_part(p, g, v, lr, rho, epsilon, decay):
    one = p.dtype.type(1.0)
    tiny = p.dtype.type(FLT_MIN)
    zero = p.dtype.type(0.0)
    for i in range(p.shape[0]):
        gi = g[i] + decay * p[i]
        vi = rho * v[i] + (one - rho) * gi * gi
        vi = vi if vi >= tiny else zero
        v[i] = vi
        p[i] -= lr * gi / (np.sqrt(vi) + epsilon)


@kernel(exact_rounding=True)
def rmsprop_update(param, grad, m2, lr, rho, epsilon, l2, decay_stop):
    """RMSprop: divide by a running root-mean-square of the gradient."""
    p, g, v = param.reshape(-1), grad.reshape(-1), m2.reshape(-1)
    zero = param.dtype.type(0.0)
    for c in prange(_chunks(p.shape[0])):
        lo, mid, hi = _bounds(c, p.shape[0], decay_stop)
        _rmsprop_part(p[lo:mid], g[lo:mid], v[lo:mid], lr, rho, epsilon, l2)
        _rmsprop_part(p[mid:hi], g[mid:hi], v[mid:hi], lr, rho, epsilon, zero)


@_part
def _adagrad_part(p, g, v, lr, epsilon, decay):
    for i in range(p.shape[0]):
        gi = g[i] + decay * p[i]
        vi = v[i] + gi * gi
        v[i] = vi
        p[i] -= lr * gi / (np.sqrt(vi) + epsilon)


@kernel(exact_rounding=True)
def adagrad_update(param, grad, m2, lr, epsilon, l2, decay_stop):
    """Adagrad: divide by the root of the summed squared gradients."""
    p, g, v = param.reshape(-1), grad.reshape(-1), m2.reshape(-1)
    zero = param.dtype.type(0.0)
    for c in prange(_chunks(p.shape[0])):
        lo, mid, hi = _bounds(c, p.shape[0], decay_stop)
        _adagrad_part(p[lo:mid], g[lo:mid], v[lo:mid], lr, epsilon, l2)
        _adagrad_part(p[mid:hi], g[mid:hi], v[mid:hi], lr, epsilon, zero)
