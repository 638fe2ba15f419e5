"""The CPU backend's prediction: pass sizes, who uses the cores, and shards.

Large requests whose rows are rich in zeros (MNIST's pixels) run through the
small-request kernels of :mod:`skneuro.kernels.cpu.dense`, which skip zero
blocks, in passes of ``SMALL_ROWS`` rows; other large requests go to BLAS in
passes of the estimator's chunk. Small passes run those kernels on every
core; networks that train in shards (:mod:`skneuro.backends.cpu.shards`)
predict in shards too.
"""

import contextlib

import numpy as np

from skneuro.backends._predict import predict_in_passes
from skneuro.backends.cpu.shards import shards_for, single_threaded_blas
from skneuro.kernels._jit import QUICK_THREAD_START, parallel_kernels
from skneuro.kernels.cpu import dense, dense_chain
from skneuro.kernels.cpu.dense import SMALL_ROWS
from skneuro.kernels.host import nonzero_block_density

#: Large prediction requests whose first rows' blocks of 4 have at most this
#: share of nonzero columns run in passes of ``SMALL_ROWS`` (see
#: :func:`skips_zeros`). The MNIST network of ``asv_bench/compare.py``, 10,000
#: rows, against one pass through BLAS: MNIST images (0.39) 1.85x faster,
#: uniform noise with zeros at 0.76, 1.3x; without zeros about as fast in
#: float32 and 0.9x in float64, so those requests stay with BLAS.
SKIP_ZEROS_BELOW = 0.8

#: The kernels that run small prediction requests in parallel (see
#: :func:`_threads`).
_SMALL_PRODUCTS = (dense.matmul_row_blocks, dense_chain.chain_row_groups)


def predict(network, X, out, chunk, n_shards, finish):
    """:func:`skneuro.backends._predict.predict_in_passes` with the CPU's choices."""
    n = X.shape[0]
    sparse = hasattr(X, "tocsr")
    n_shards = 1 if sparse else n_shards
    if n > SMALL_ROWS and n_shards == 1 and not sparse and skips_zeros(X):
        # Inputs with zeros to skip go through the small-request kernels
        # at any size (MNIST, 10,000 rows: ~1.8x faster than through
        # BLAS; on inputs without zeros they are about BLAS's speed).
        chunk = min(chunk, SMALL_ROWS)
    if n_shards == 1:
        with _threads(min(n, chunk)):
            predict_in_passes(network, X, out, chunk, finish)
        return
    # The shards' threads, each with single-threaded products, write into
    # ``out`` directly.
    network.check_rows(min(n, chunk), training=False)
    shards = shards_for(network, None, n_shards)
    with single_threaded_blas():
        for start in range(0, n, chunk):
            result = out[start:start + chunk]
            shards.forward(network.backend.asarray(X[start:start + chunk]), result)
            if finish is not None:
                finish(result)


def _threads(n):
    """Who uses the cores during a prediction in passes of ``n`` rows."""
    if n <= SMALL_ROWS and QUICK_THREAD_START:
        # Dense products this small are our kernels', not BLAS's (see
        # kernels.cpu.dense and dense_chain), so no BLAS thread spins
        # between them: they may use every core, where starting threads
        # costs microseconds (with workqueue, more than the product).
        return parallel_kernels(only=_SMALL_PRODUCTS)
    return contextlib.nullcontext()


def skips_zeros(X):
    """Whether the small-request kernels would skip a fifth of ``X``'s products or more.

    Measured on its first rows: ``SKIP_ZEROS_BELOW`` of the columns of a
    block of 4 rows nonzero, or fewer.
    """
    head = np.ascontiguousarray(X[:SMALL_ROWS].reshape(min(X.shape[0], SMALL_ROWS), -1))
    return nonzero_block_density(head, SMALL_ROWS) <= SKIP_ZEROS_BELOW
