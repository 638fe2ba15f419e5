"""CUDA sibling of :mod:`skneuro.kernels.cpu.diffusion` (the same draws)."""

from numba import cuda

from skneuro.kernels.cuda._launch import check_device, grid, kernel
from skneuro.kernels.cuda.dropout import _uniform
from skneuro.kernels.cuda.gaussian import _normal


@kernel
def _diffusion_noise(x0, sqrt_abar, sqrt_one_minus_abar, seed, step, first_row, x_in, eps):
    n, d = x0.shape
    n_steps = sqrt_abar.shape[0]
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for k in range(start, n * (d + 1), stride):
        i, j = k // (d + 1), k % (d + 1)
        row = first_row + i
        t = min(int(_uniform(seed + 3, step, row) * n_steps), n_steps - 1)
        if j == d:
            x_in[i, d] = t
        else:
            e = _normal(seed, step, row * d + j)
            eps[i, j] = e
            x_in[i, j] = sqrt_abar[t] * x0[i, j] + sqrt_one_minus_abar[t] * e


def diffusion_noise(x0, sqrt_abar, sqrt_one_minus_abar, seed, step, first_row, x_in, eps):
    """Write ``[x_t | t]`` into ``x_in`` and the noise into ``eps`` (see the CPU kernel)."""
    check_device(x0, sqrt_abar, sqrt_one_minus_abar, x_in, eps)
    _diffusion_noise[grid(x0.shape[0] * (x0.shape[1] + 1))](
        x0, sqrt_abar, sqrt_one_minus_abar, seed, step, first_row, x_in, eps)


@kernel
def _drop_labels(labels, seed, step, p_uncond, null, column, x_in):
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for i in range(start, labels.shape[0], stride):
        drop = _uniform(seed + 5, step, i) < p_uncond
        x_in[i, column] = null if drop else labels[i]


def drop_labels(labels, seed, step, p_uncond, null, column, x_in):
    """``x_in[i, column] = labels[i]``, or ``null`` with probability ``p_uncond``."""
    check_device(labels, x_in)
    _drop_labels[grid(labels.shape[0])](labels, seed, step, p_uncond, null, column, x_in)
