"""The forward process of a diffusion model, drawn per training batch.

Row ``i`` of a batch at training step ``step`` gets a noise level
``t = floor(u * T)`` from the uniform ``hash_uniform(seed + 3, step,
first_row + i)`` and standard normal noise ``eps`` (draw ``q = (first_row +
i) * D + j`` of ``(seed, step)``, as in :mod:`skneuro.kernels.cpu.gaussian`),
and becomes ``x_t = sqrt(abar_t) * x_0 + sqrt(1 - abar_t) * eps``. The
network's input row is ``[x_t | t]`` (then the class label, for a
conditional model, left in place), its target ``eps``.
"""

import numba
from numba import prange

from skneuro.kernels._jit import kernel
from skneuro.kernels._random import hash_uniform
from skneuro.kernels.cpu.gaussian import _normal

_uniform = numba.njit(inline="always")(hash_uniform)


@kernel
def diffusion_noise(x0, sqrt_abar, sqrt_one_minus_abar, seed, step, first_row, x_in, eps):
    """Write ``[x_t | t]`` into the first ``D + 1`` columns of ``x_in`` and ``eps``.

    ``x0`` and ``eps`` are (N, D), ``x_in`` (N, >= D + 1); the schedules have T
    entries.
    """
    n, d = x0.shape
    n_steps = sqrt_abar.shape[0]
    for i in prange(n):
        row = first_row + i
        t = min(int(_uniform(seed + 3, step, row) * n_steps), n_steps - 1)
        a = x0.dtype.type(sqrt_abar[t])
        b = x0.dtype.type(sqrt_one_minus_abar[t])
        base = row * d
        for j in range(d):
            e = x0.dtype.type(_normal(seed, step, base + j))
            eps[i, j] = e
            x_in[i, j] = a * x0[i, j] + b * e
        x_in[i, d] = x0.dtype.type(t)


@kernel
def drop_labels(labels, seed, step, p_uncond, null, column, x_in):
    """``x_in[i, column] = labels[i]``, or ``null`` with probability ``p_uncond``.

    Classifier-free guidance trains one network on labelled and unlabelled
    samples; the draw is ``hash_uniform(seed + 5, step, i)``.
    """
    for i in prange(labels.shape[0]):
        drop = _uniform(seed + 5, step, i) < p_uncond
        x_in[i, column] = x_in.dtype.type(null) if drop else labels[i]
