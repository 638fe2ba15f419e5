"""CUDA sibling of :mod:`skneuro.kernels.cpu.augment`: the same batches, bit for bit
in the shifts, flips and factors (the noise to float rounding)."""

import math

from numba import cuda

from skneuro.kernels.cuda._launch import check_device, grid, kernel
from skneuro.kernels.cuda.dropout import _uniform


@kernel
def _augment(x, seed, step, first_row, max_shift, flip, noise, brightness, out):
    n, c, h, w = x.shape
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for k in range(start, n * c * h * w, stride):
        s = k // (c * h * w)
        r = first_row + s
        ch = (k // (h * w)) % c
        i = (k // w) % h
        j = k % w
        shift_y = 0
        if h > 1:
            shift_y = min(int(_uniform(seed, step, 4 * r) * (2 * max_shift + 1)),
                          2 * max_shift) - max_shift
        shift_x = 0
        if w > 1:
            shift_x = min(int(_uniform(seed, step, 4 * r + 1) * (2 * max_shift + 1)),
                          2 * max_shift) - max_shift
        mirrored = flip and _uniform(seed, step, 4 * r + 2) < 0.5
        factor = 1.0 + brightness * (2.0 * _uniform(seed, step, 4 * r + 3) - 1.0)
        jj = w - 1 - j if mirrored else j
        src_i = i - shift_y
        src_j = jj - shift_x
        v = 0.0
        if 0 <= src_i < h and 0 <= src_j < w:
            v = x[s, ch, src_i, src_j] * factor
        if noise > 0:
            g = first_row * c * h * w + k
            u1 = max(_uniform(seed + 1, step, 2 * g), 1e-7)
            u2 = _uniform(seed + 1, step, 2 * g + 1)
            v += noise * math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2)
        out[s, ch, i, j] = v


def augment(x, seed, step, first_row, max_shift, flip, noise, brightness, out):
    """Write an augmented copy of ``x`` into ``out``; sample ``s`` draws as ``first_row + s``."""
    check_device(x, out)
    _augment[grid(out.size)](x, seed, step, first_row, max_shift, flip, noise, brightness,
                             out)
