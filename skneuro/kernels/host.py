"""Kernels over host arrays whatever the estimator's device: checks of the
user's input and of the predictions returned.

Not backend operations (the CPU and CUDA modules' siblings), so they have no
CUDA twin: the arrays they read are numpy arrays, the ones a user passed in
or the ones returned to them.
"""

from skneuro.kernels._jit import serial_kernel


@serial_kernel
def all_finite(x):
    """Whether every element of the C-contiguous ``x`` is finite.

    ``v * 0`` is NaN exactly for inf and NaN, and NaN survives the sum: one
    vectorized pass without branches (~1 us for 64 MNIST rows, where
    ``np.isfinite(x.sum())`` takes ~9 us).
    """
    flat = x.reshape(-1)
    zero = flat.dtype.type(0.0)
    acc = zero
    for i in range(flat.shape[0]):
        acc += flat[i] * zero
    return acc == zero


@serial_kernel
def nonzero_block_density(x, rows):
    """The share of columns where some row of a block of 4 is nonzero, over the
    first ``rows`` rows (whole blocks) of the C-contiguous 2-D ``x``.

    What the small-product kernels (:func:`~skneuro.kernels.cpu.dense.matmul_rows`)
    would sum of ``x``: they skip the columns where a whole block is zero.
    1.0 for fewer than 4 rows.
    """
    blocks = min(rows, x.shape[0]) // 4
    if blocks == 0:
        return 1.0
    m = x.shape[1]
    count = 0
    for blk in range(blocks):
        for k in range(m):
            nonzero = False
            for i in range(4 * blk, 4 * blk + 4):
                nonzero |= x[i, k] != 0
            count += nonzero
    return count / (blocks * m)
