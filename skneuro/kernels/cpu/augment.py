"""Data augmentation of a batch (N, C, H, W), drawn from the counter-based generator.

Per sample: an integer shift in [-max_shift, max_shift] along each spatial
axis of size > 1 (zeros fill what comes in), a left-right flip with
probability 1/2 when ``flip``, a brightness factor in [1 - b, 1 + b]; per
element, Gaussian noise of standard deviation ``noise`` (Box-Muller on two
uniforms). Draw ``k`` of sample ``s`` is ``hash_uniform(seed, step, 4*s + k)``;
the noise uses the stream ``seed + 1``. The same seed gives the same batch on
every device.
"""

import numba
import numpy as np
from numba import prange

from skneuro.kernels._jit import kernel
from skneuro.kernels._random import hash_uniform

_uniform = numba.njit(inline="always")(hash_uniform)


@kernel
def augment(x, seed, step, first_row, max_shift, flip, noise, brightness, out):
    """Write an augmented copy of ``x`` into ``out``; sample ``s`` draws as ``first_row + s``."""
    n, c, h, w = x.shape
    zero = x.dtype.type(0.0)
    one = x.dtype.type(1.0)
    two_pi = x.dtype.type(2.0 * np.pi)
    for s in prange(n):
        r = first_row + s
        shift_y = 0
        if h > 1:
            shift_y = min(int(_uniform(seed, step, 4 * r) * (2 * max_shift + 1)),
                          2 * max_shift) - max_shift
        shift_x = 0
        if w > 1:
            shift_x = min(int(_uniform(seed, step, 4 * r + 1) * (2 * max_shift + 1)),
                          2 * max_shift) - max_shift
        mirrored = flip and _uniform(seed, step, 4 * r + 2) < 0.5
        factor = one + x.dtype.type(brightness) * (
            x.dtype.type(2.0) * _uniform(seed, step, 4 * r + 3) - one)
        for ch in range(c):
            for i in range(h):
                src_i = i - shift_y
                for j in range(w):
                    jj = w - 1 - j if mirrored else j
                    src_j = jj - shift_x
                    if 0 <= src_i < h and 0 <= src_j < w:
                        v = x[s, ch, src_i, src_j] * factor
                    else:
                        v = zero
                    if noise > 0:
                        k = ((r * c + ch) * h + i) * w + j
                        u1 = max(_uniform(seed + 1, step, 2 * k), np.float32(1e-7))
                        u2 = _uniform(seed + 1, step, 2 * k + 1)
                        gauss = np.sqrt(-2.0 * np.log(u1)) * np.cos(two_pi * u2)
                        v += x.dtype.type(noise) * x.dtype.type(gauss)
                    out[s, ch, i, j] = v
