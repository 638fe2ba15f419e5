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
