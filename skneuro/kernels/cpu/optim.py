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

On the CPU a call runs its kernel (``_sgd``, ``_adam``, ...) once per part,
``[0, decay_stop)`` with ``l2`` and the rest without: a dispatch costs ~2 us
here, and each part picks its own variant, so the few hundred biases do not
start a parallel region. One kernel over both parts was tried: with a
parallel loop per part the two-thread MLP epoch was 5% slower; with one loop
over chunks split at ``decay_stop``, the cold compilation of a fit's update
took ~0.15 s longer, against a start-up target with little room. (The GPU,
where a launch costs 20-30 us, runs one kernel over both parts.)

The kernels are compiled with exact rounding (no fused multiply-adds, no
reordering, no approximate division or square root), so their serial and
parallel variants compute every element to the same bits, and a dense fit
can run them on every core without its model depending on the thread count
(with the fast-math flags, the parallel Adam changed a fit's weights).
"""

import numpy as np
from numba import prange

from skneuro.kernels._jit import FLT_MIN, kernel


def _in_parts(update, arrays, scalars, l2, decay_stop):
    """``update(*arrays, *scalars, l2)`` over ``[0, decay_stop)`` of the flattened
    arrays, then ``update(..., 0)`` over the rest."""
    flat = [a.reshape(-1) for a in arrays]
    if decay_stop > 0:
        update(*[a[:decay_stop] for a in flat], *scalars, l2)
    if decay_stop < flat[0].shape[0]:
        update(*[a[decay_stop:] for a in flat], *scalars, flat[0].dtype.type(0.0))


def sgd_update(param, grad, velocity, lr, momentum, nesterov, l2, decay_stop):
    """SGD with (Nesterov) momentum, as scikit-learn's SGDOptimizer."""
    _in_parts(_sgd, (param, grad, velocity), (lr, momentum, nesterov), l2, decay_stop)


def adam_update(param, grad, m1, m2, lr_t, beta_1, beta_2, epsilon, l2, decay_stop):
    """Adam with the bias correction folded into ``lr_t``."""
    _in_parts(_adam, (param, grad, m1, m2), (lr_t, beta_1, beta_2, epsilon), l2, decay_stop)


def rmsprop_update(param, grad, m2, lr, rho, epsilon, l2, decay_stop):
    """RMSprop: divide by a running root-mean-square of the gradient."""
    _in_parts(_rmsprop, (param, grad, m2), (lr, rho, epsilon), l2, decay_stop)


def adagrad_update(param, grad, m2, lr, epsilon, l2, decay_stop):
    """Adagrad: divide by the root of the summed squared gradients."""
    _in_parts(_adagrad, (param, grad, m2), (lr, epsilon), l2, decay_stop)


# -- the kernels, over one part ------------------------------------------------

@kernel(exact_rounding=True)
def _sgd(param, grad, velocity, lr, momentum, nesterov, l2):
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
def _adam(param, grad, m1, m2, lr_t, beta_1, beta_2, epsilon, l2):
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
def _rmsprop(param, grad, m2, lr, rho, epsilon, l2):
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
def _adagrad(param, grad, m2, lr, epsilon, l2):
    p = param.reshape(-1)
    g = grad.reshape(-1)
    v = m2.reshape(-1)
    for i in prange(p.shape[0]):
        gi = g[i] + l2 * p[i]
        vi = v[i] + gi * gi
        v[i] = vi
        p[i] -= lr * gi / (np.sqrt(vi) + epsilon)


#: The kernels the updates run: what a caller lets run on every core
#: (:func:`skneuro.kernels._jit.parallel_kernels`).
UPDATE_KERNELS = (_sgd, _adam, _rmsprop, _adagrad)
