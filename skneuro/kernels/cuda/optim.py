"""CUDA siblings of :mod:`skneuro.kernels.cpu.optim`: one thread per element.

``l2`` applies to the elements before ``decay_stop``, as on the CPU; the others
take ``l2 - l2``, a zero of ``l2``'s type (a literal ``0.0`` would be a float64
and widen a float32 update).
"""

import math

from numba import cuda

from skneuro.kernels._jit import FLT_MIN
from skneuro.kernels.cuda._launch import check_device, grid, kernel


@kernel
def _sgd(p, g, v, lr, momentum, nesterov, l2, decay_stop):
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for i in range(start, p.shape[0], stride):
        gi = g[i] + (l2 if i < decay_stop else l2 - l2) * p[i]
        vi = momentum * v[i] - lr * gi
        vi = vi if abs(vi) >= FLT_MIN else 0.0
        v[i] = vi
        if nesterov:
            p[i] += momentum * vi - lr * gi
        else:
            p[i] += vi


@kernel
def _adam(p, g, m, v, lr_t, beta_1, beta_2, epsilon, l2, decay_stop):
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for i in range(start, p.shape[0], stride):
        gi = g[i] + (l2 if i < decay_stop else l2 - l2) * p[i]
        mi = beta_1 * m[i] + (1.0 - beta_1) * gi
        vi = beta_2 * v[i] + (1.0 - beta_2) * gi * gi
        mi = mi if abs(mi) >= FLT_MIN else 0.0
        vi = vi if vi >= FLT_MIN else 0.0
        m[i] = mi
        v[i] = vi
        p[i] -= lr_t * mi / (math.sqrt(vi) + epsilon)


@kernel
def _rmsprop(p, g, v, lr, rho, epsilon, l2, decay_stop):
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for i in range(start, p.shape[0], stride):
        gi = g[i] + (l2 if i < decay_stop else l2 - l2) * p[i]
        vi = rho * v[i] + (1.0 - rho) * gi * gi
        vi = vi if vi >= FLT_MIN else 0.0
        v[i] = vi
        p[i] -= lr * gi / (math.sqrt(vi) + epsilon)


@kernel
def _adagrad(p, g, v, lr, epsilon, l2, decay_stop):
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for i in range(start, p.shape[0], stride):
        gi = g[i] + (l2 if i < decay_stop else l2 - l2) * p[i]
        vi = v[i] + gi * gi
        v[i] = vi
        p[i] -= lr * gi / (math.sqrt(vi) + epsilon)


def _flat(*arrays):
    check_device(*arrays)
    return [a.reshape(-1) for a in arrays]


def sgd_update(param, grad, velocity, lr, momentum, nesterov, l2, decay_stop):
    """SGD with (Nesterov) momentum."""
    p, g, v = _flat(param, grad, velocity)
    _sgd[grid(p.size)](p, g, v, lr, momentum, nesterov, l2, decay_stop)


def adam_update(param, grad, m1, m2, lr_t, beta_1, beta_2, epsilon, l2, decay_stop):
    """Adam with the bias correction folded into ``lr_t``."""
    p, g, m, v = _flat(param, grad, m1, m2)
    _adam[grid(p.size)](p, g, m, v, lr_t, beta_1, beta_2, epsilon, l2, decay_stop)


def rmsprop_update(param, grad, m2, lr, rho, epsilon, l2, decay_stop):
    """RMSprop."""
    p, g, v = _flat(param, grad, m2)
    _rmsprop[grid(p.size)](p, g, v, lr, rho, epsilon, l2, decay_stop)


def adagrad_update(param, grad, m2, lr, epsilon, l2, decay_stop):
    """Adagrad."""
    p, g, v = _flat(param, grad, m2)
    _adagrad[grid(p.size)](p, g, v, lr, epsilon, l2, decay_stop)
