"""Fused optimizer updates: one pass over a parameter array per step.

Every scalar arrives in the parameter's dtype (the caller casts), so a
float32 update never widens to float64 and the loops vectorize; see
PERF-NOTES: the difference is 15x on an Adam step. Moments and velocities
of parameters whose gradient stays zero (e.g. weights of a constant input)
decay geometrically; they are flushed to zero before they turn subnormal,
which would slow every later step 20-100x. ``l2`` is the L2 penalty
coefficient already divided by the batch weight (0 for biases); it is added to
the gradient here rather than in a separate pass.

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
def sgd_update(param, grad, velocity, lr, momentum, nesterov, l2):
    """SGD with (Nesterov) momentum, as scikit-learn's SGDOptimizer."""
    p = param.reshape(-1)
    g = grad.reshape(-1)
    v = velocity.reshape(-1)
    tiny = param.dtype.type(FLT_MIN)
    zero = param.dtype.type(0.0)
    for i in prange(p.shape[0]):
        gi = g[i] + l2 * p[i]
        vi = momentum * v[i] - lr * gi
        vi = vi if abs(vi) >= tiny else zero
        v[i] = vi
        if nesterov:
            p[i] += momentum * vi - lr * gi
        else:
            p[i] += vi


@kernel(exact_rounding=True)
def adam_update(param, grad, m1, m2, lr_t, beta_1, beta_2, epsilon, l2):
    """Adam with the bias correction folded into ``lr_t``."""
    p = param.reshape(-1)
    g = grad.reshape(-1)
    m = m1.reshape(-1)
    v = m2.reshape(-1)
    one = param.dtype.type(1.0)
    tiny = param.dtype.type(FLT_MIN)
    zero = param.dtype.type(0.0)
    for i in prange(p.shape[0]):
        gi = g[i] + l2 * p[i]
        mi = beta_1 * m[i] + (one - beta_1) * gi
        vi = beta_2 * v[i] + (one - beta_2) * gi * gi
        mi = mi if abs(mi) >= tiny else zero
        vi = vi if vi >= tiny else zero
        m[i] = mi
        v[i] = vi
        p[i] -= lr_t * mi / (np.sqrt(vi) + epsilon)


@kernel(exact_rounding=True)
def rmsprop_update(param, grad, m2, lr, rho, epsilon, l2):
    """RMSprop: divide by a running root-mean-square of the gradient."""
    p = param.reshape(-1)
    g = grad.reshape(-1)
    v = m2.reshape(-1)
    one = param.dtype.type(1.0)
    tiny = param.dtype.type(FLT_MIN)
    zero = param.dtype.type(0.0)
    for i in prange(p.shape[0]):
        gi = g[i] + l2 * p[i]
        vi = rho * v[i] + (one - rho) * gi * gi
        vi = vi if vi >= tiny else zero
        v[i] = vi
        p[i] -= lr * gi / (np.sqrt(vi) + epsilon)


@kernel(exact_rounding=True)
def adagrad_update(param, grad, m2, lr, epsilon, l2):
    """Adagrad: divide by the root of the summed squared gradients."""
    p = param.reshape(-1)
    g = grad.reshape(-1)
    v = m2.reshape(-1)
    for i in prange(p.shape[0]):
        gi = g[i] + l2 * p[i]
        vi = v[i] + gi * gi
        v[i] = vi
        p[i] -= lr * gi / (np.sqrt(vi) + epsilon)
