"""CUDA siblings of :mod:`skneuro.kernels.cpu.resample`."""

from numba import cuda

from skneuro.kernels.cuda._launch import check_device, grid, kernel


@kernel
def _upsample_forward(x, sh, sw, out):
    n, c, oh, ow = out.shape
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for k in range(start, n * c * oh * ow, stride):
        s = k // (c * oh * ow)
        ch = (k // (oh * ow)) % c
        i = (k // ow) % oh
        j = k % ow
        out[s, ch, i, j] = x[s, ch, i // sh, j // sw]


@kernel
def _upsample_backward(grad, sh, sw, dx):
    # One thread per input element sums its own block, in the CPU kernel's
    # order: no atomics, so the result does not depend on the launch.
    n, c, h, w = dx.shape
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for k in range(start, n * c * h * w, stride):
        s = k // (c * h * w)
        ch = (k // (h * w)) % c
        y = (k // w) % h
        xx = k % w
        total = 0.0
        for r in range(sh):
            for q in range(sw):
                total += grad[s, ch, y * sh + r, xx * sw + q]
        dx[s, ch, y, xx] = total


def upsample_nearest_forward(x, sh, sw, out):
    """``out[n, c, i, j] = x[n, c, i // sh, j // sw]``."""
    check_device(x, out)
    _upsample_forward[grid(out.size)](x, sh, sw, out)


def upsample_nearest_backward(grad, sh, sw, dx):
    """``dx[n, c, y, x]`` = the sum of ``grad`` over the ``sh x sw`` block of pixel (y, x)."""
    check_device(grad, dx)
    _upsample_backward[grid(dx.size)](grad, sh, sw, dx)
