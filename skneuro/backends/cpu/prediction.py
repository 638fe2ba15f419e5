"""The CPU backend's prediction: pass sizes, who uses the cores, and shards.

A one-shard network (a dense one) predicts in passes of ``SMALL_ROWS`` rows
through our product kernels (:mod:`skneuro.kernels.cpu.dense`, never BLAS),
which skip zero blocks and give each row the result it gets alone, in any
request and with any number of threads; their dense layers run as one chain
(:mod:`skneuro.backends.cpu.dense_chain`) on every core. Networks that train
in shards (:mod:`skneuro.backends.cpu.shards`) predict through the parallel
variants of our kernels where every layer runs in them (the convolutions in
lanes: a CNN's), and in shards where BLAS computes some layer (unfolded and
1x1 convolutions), whose threads would fight the kernels'.
"""

from skneuro.backends._predict import predict_in_passes
from skneuro.backends.cpu.shards import shards_for, single_threaded_blas
from skneuro.kernels._jit import QUICK_THREAD_START, parallel_kernels
from skneuro.kernels.cpu import dense, dense_chain
from skneuro.kernels.cpu.dense import SMALL_ROWS

#: The kernels of dense products, which run on every core (see
#: :func:`products_on_every_core`).
_PRODUCTS = (dense.matmul_row_blocks, dense.transpose_tiles, dense.transpose_elements,
             dense_chain.chain_row_groups)


def predict(network, X, out, chunk, n_shards, finish):
    """:func:`skneuro.backends._predict.predict_in_passes` with the CPU's choices."""
    n = X.shape[0]
    sparse = hasattr(X, "tocsr")
    n_shards = 1 if sparse else n_shards
    if n_shards == 1:
        if not sparse:
            # Passes the dense chains take whole, in the cache (10,000 rows
            # through the MNIST benchmark's network: ~9 ms, ~15 ms through
            # BLAS as one pass; uniform noise without zeros ~14 ms, ~20).
            chunk = min(chunk, SMALL_ROWS)
        with products_on_every_core():
            predict_in_passes(network, X, out, chunk, finish)
        return
    if QUICK_THREAD_START and _in_our_kernels(network, min(n, chunk)):
        # Every layer runs in our kernels: their parallel variants take each
        # pass on every core, through TBB, whose workers wait a moment for
        # the next kernel. The shards' Python threads, woken for every pass,
        # ran at half speed for the first ~50 ms after an idle moment on the
        # machines we measure (the course's valid CNN, 1,000 rows after 0.5 s
        # of idle: 12-14 ms a call for the first four calls, then 7.7; through
        # TBB 7.2-7.8 ms from the first), and slower after as well (161,000
        # against 112,000-124,000 samples/s). Each output is one kernel's
        # fixed computation either way: the same values.
        with parallel_kernels(), single_threaded_blas():
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


def _in_our_kernels(network, rows):
    """Whether a pass of ``rows`` rows through ``network`` runs in our kernels
    alone: no convolution through BLAS (unfolded, or 1x1)."""
    from skneuro.backends.cpu import convolution

    return all(node.layer.op != "conv" or (convolution.method(node.layer, rows) == "lanes"
                                           and not convolution.is_pointwise(node.layer))
               for node in network.nodes)


def products_on_every_core(also=()):
    """A context in which this thread's dense products (our kernels, not
    BLAS's: see :mod:`skneuro.kernels.cpu.dense`), and the kernels ``also``,
    run on every core, where parallel regions start in microseconds (TBB);
    no BLAS thread spins between them. With ``workqueue`` a region's start
    (~75 us) costs more than most of these products: they stay serial."""
    return parallel_kernels(enabled=QUICK_THREAD_START, only=_PRODUCTS + tuple(also))
