"""Resampling kernels over (N, C, H, W): nearest-neighbour upsampling.

Upsampling by integer factors ``(SH, SW)`` repeats every input pixel over an
``SH x SW`` block of the output, of shape (N, C, H*SH, W*SW). Its gradient
sums each block back into its pixel. Kernels are parallel over samples; each
sample is written by one thread, and each block summed in a fixed order (rows,
then columns), as the CUDA sibling does.
"""

from numba import prange

from skneuro.kernels._jit import kernel


@kernel
def upsample_nearest_forward(x, sh, sw, out):
    """``out[n, c, i, j] = x[n, c, i // sh, j // sw]``."""
    n, c, h, w = x.shape
    ow = w * sw
    for s in prange(n):
        for ch in range(c):
            for y in range(h):
                src = x[s, ch, y]
                first = out[s, ch, y * sh]
                for xx in range(w):
                    value = src[xx]
                    for q in range(sw):
                        first[xx * sw + q] = value
                # The other rows of the block are copies of the first: contiguous
                # copies, where indexing the input again would not vectorize.
                for r in range(1, sh):
                    dest = out[s, ch, y * sh + r]
                    for j in range(ow):
                        dest[j] = first[j]


@kernel
def upsample_nearest_backward(grad, sh, sw, dx):
    """``dx[n, c, y, x]`` = the sum of ``grad`` over the ``sh x sw`` block of pixel (y, x)."""
    n, c, h, w = dx.shape
    zero = dx.dtype.type(0.0)
    for s in prange(n):
        for ch in range(c):
            for y in range(h):
                dest = dx[s, ch, y]
                for xx in range(w):
                    acc = zero
                    for r in range(sh):
                        row = grad[s, ch, y * sh + r]
                        for q in range(sw):
                            acc += row[xx * sw + q]
                    dest[xx] = acc
