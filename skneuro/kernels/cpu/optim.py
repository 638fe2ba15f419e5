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
(:mod:`skneuro.backends._flat`), so that one call updates them all. Each part
is looped over as a slice: an index offset by ``decay_stop`` is not known to
be non-negative, and Numba's wraparound check on it stopped the loop from
vectorizing (10x slower).

They are compiled with exact rounding (no fused multiply-adds, no
reordering, no approximate division or square root), so their serial and
parallel variants compute every element to the same bits, and a dense fit
can run them on every core without its model depending on the thread count
(with the fast-math flags, the parallel Adam changed a fit's weights).
"""

import numpy as np
from numba import prange

from skneuro.kernels._jit import FLT_MIN, kernel


@kernel(exact_rounding=True)
def sgd_update(param, grad, velocity, lr, momentum, nesterov, l2, decay_stop):
    """SGD with (Nesterov) momentum, as scikit-learn's SGDOptimizer."""
    tiny = param.dtype.type(FLT_MIN)
    zero = param.dtype.type(0.0)
    for part in range(2):  # [0, decay_stop) with the penalty, then the rest without
        lo, hi, decay = (0, decay_stop, l2) if part == 0 else (decay_stop, param.size, zero)
        p, g, v = param.reshape(-1)[lo:hi], grad.reshape(-1)[lo:hi], velocity.reshape(-1)[lo:hi]
        for i in prange(p.shape[0]):
            gi = g[i] + decay * p[i]
            vi = momentum * v[i] - lr * gi
            vi = vi if abs(vi) >= tiny else zero
            v[i] = vi
            if nesterov:
                p[i] += momentum * vi - lr * gi
            else:
                p[i] += vi


@kernel(exact_rounding=True)
def adam_update(param, grad, m1, m2, lr_t, beta_1, beta_2, epsilon, l2, decay_stop):
    """Adam with the bias correction folded into ``lr_t``."""
    one = param.dtype.type(1.0)
    tiny = param.dtype.type(FLT_MIN)
    zero = param.dtype.type(0.0)
    for part in range(2):  # [0, decay_stop) with the penalty, then the rest without
        lo, hi, decay = (0, decay_stop, l2) if part == 0 else (decay_stop, param.size, zero)
        p, g = param.reshape(-1)[lo:hi], grad.reshape(-1)[lo:hi]
        m, v = m1.reshape(-1)[lo:hi], m2.reshape(-1)[lo:hi]
        for i in prange(p.shape[0]):
            gi = g[i] + decay * p[i]
            mi = beta_1 * m[i] + (one - beta_1) * gi
            vi = beta_2 * v[i] + (one - beta_2) * gi * gi
            mi = mi if abs(mi) >= tiny else zero
            vi = vi if vi >= tiny else zero
            m[i] = mi
            v[i] = vi
            p[i] -= lr_t * mi / (np.sqrt(vi) + epsilon)


@kernel(exact_rounding=True)
def rmsprop_update(param, grad, m2, lr, rho, epsilon, l2, decay_stop):
    """RMSprop: divide by a running root-mean-square of the gradient."""
    one = param.dtype.type(1.0)
    tiny = param.dtype.type(FLT_MIN)
    zero = param.dtype.type(0.0)
    for part in range(2):  # [0, decay_stop) with the penalty, then the rest without
        lo, hi, decay = (0, decay_stop, l2) if part == 0 else (decay_stop, param.size, zero)
        p, g, v = param.reshape(-1)[lo:hi], grad.reshape(-1)[lo:hi], m2.reshape(-1)[lo:hi]
        for i in prange(p.shape[0]):
            gi = g[i] + decay * p[i]
            vi = rho * v[i] + (one - rho) * gi * gi
            vi = vi if vi >= tiny else zero
            v[i] = vi
            p[i] -= lr * gi / (np.sqrt(vi) + epsilon)


@kernel(exact_rounding=True)
def adagrad_update(param, grad, m2, lr, epsilon, l2, decay_stop):
    """Adagrad: divide by the root of the summed squared gradients."""
    zero = param.dtype.type(0.0)
    for part in range(2):  # [0, decay_stop) with the penalty, then the rest without
        lo, hi, decay = (0, decay_stop, l2) if part == 0 else (decay_stop, param.size, zero)
        p, g, v = param.reshape(-1)[lo:hi], grad.reshape(-1)[lo:hi], m2.reshape(-1)[lo:hi]
        for i in prange(p.shape[0]):
            gi = g[i] + decay * p[i]
            vi = v[i] + gi * gi
            v[i] = vi
            p[i] -= lr * gi / (np.sqrt(vi) + epsilon)
