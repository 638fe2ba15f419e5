"""The prediction pass of a chain of dense layers, in one call.

A network's consecutive dense layers (a multilayer perceptron's whole stack)
predict a small request with one kernel call instead of two per layer:
each job of its parallel loop takes a group of 16 rows through every layer,
product, bias and activation, before the next group. Rows are independent in
a dense layer, so no job waits for another between layers: one parallel
region instead of one per layer, no Python between the layers, and a job's
hidden activations stay in its core's cache (64 MNIST rows through
784-256-128-10: ~107 us as three layers, ~84 us as a chain, on 2 cores).

The products are :func:`~skneuro.kernels.cpu.dense.matmul_rows`'s (the same
row blocks, zero skipping and chains of fused multiply-adds, by the same
compiled jobs) and the activations
:func:`~skneuro.kernels.cpu.activations.bias_activation_forward`'s (the same
compiled code), so the outputs are bit-identical to the layers run one by
one, and a sample's prediction does not depend on the request it came in.
"""

import numpy as np
from numba import prange

from skneuro.kernels._jit import kernel
from skneuro.kernels.codes import check_layer_counts
from skneuro.kernels.cpu import simd
from skneuro.kernels.cpu.activations import bias_activation_forward, bias_activation_forward_any
from skneuro.kernels.cpu.dense import (
    _CACHED_B_BYTES,
    _ROW_BLOCK,
    _ROW_GROUP,
    PARALLEL_PRODUCT_WORK,
    _block_rows,
    _list_taps,
    _sum_column_block,
    matmul_rows,
    taps_workspace,
)


def forward_chain(x, weights, biases, codes, params, outs):
    """``outs[l] = g_l(h @ weights[l] + biases[l])``, ``h`` being ``x``, then ``outs[l - 1]``.

    Parameters
    ----------
    x : ndarray of shape (N, K)
        The chain's input (cast to the weights' dtype, made C-contiguous).
    weights : tuple of ndarray
        Layer ``l``'s (K_l, P_l) C-contiguous weights, K_0 = K and
        K_l = P_(l-1).
    biases : tuple of ndarray
        Layer ``l``'s (P_l,) bias.
    codes : ndarray of int64
        Layer ``l``'s activation code (:mod:`~skneuro.kernels.cpu.activations`).
    params : ndarray
        Layer ``l``'s activation parameter (a sigmoid's slope, a leaky ReLU's
        negative slope), of the weights' dtype.
    outs : tuple of ndarray
        Layer ``l``'s (N, P_l) C-contiguous output.
    """
    check_layer_counts(weights, biases, codes, params, outs)
    x = np.ascontiguousarray(x, dtype=weights[0].dtype)
    widest = 0
    cached = True
    for w in weights:
        widest = max(widest, w.shape[0])
        cached &= w.nbytes <= _CACHED_B_BYTES
    if cached:
        taps = taps_workspace(x.shape[0], widest)
        chain_row_groups(x, outs, weights, biases, codes, params, taps)
        return
    # A layer whose weights do not fit a core's cache needs the products'
    # column split (see matmul_row_blocks): layer after layer.
    for h, w, b, code, param, out in zip((x,) + outs[:-1], weights, biases, codes, params,
                                         outs):
        matmul_rows(h, w, out)
        bias_activation_forward(out, b, code, param)


#: The activation kernel's serial variant, called on a job's rows: the same
#: code as the layers' (inlined here, its loops ran ~30% slower).
_bias_activation_rows = bias_activation_forward_any.serial


def _chain_work(x, outs, weights, *rest):
    """The size that decides :func:`chain_row_groups`'s variant: its multiply-adds,
    or 0 for one job (at most 16 rows), which has no one to share with."""
    n = x.shape[0]
    if n <= _ROW_BLOCK * _ROW_GROUP:
        return 0
    return n * sum(w.size for w in weights)


@kernel(threshold=PARALLEL_PRODUCT_WORK, work=_chain_work)
def chain_row_groups(x, outs, weights, biases, codes, params, taps):
    """:func:`forward_chain` for weights that fit a core's cache, with ``taps``, a
    (N // 4 + N % 4, max K_l) int32 workspace.

    Runs in parallel from ``PARALLEL_PRODUCT_WORK`` multiply-adds, in more
    than one job (``_chain_work``). A job is a group of row blocks
    (``_ROW_GROUP``): for each layer in turn, the nonzero lists of its
    blocks, all the columns, then the bias and activation of its rows.
    """
    n = x.shape[0]
    layers = len(weights)
    for lay in range(layers):
        k = x.shape[1] if lay == 0 else outs[lay - 1].shape[1]
        p = weights[lay].shape[1]
        if (weights[lay].shape[0] != k or outs[lay].shape[0] != n or outs[lay].shape[1] != p
                or biases[lay].shape[0] != p or taps.shape[1] < k):
            raise ValueError("forward_chain: shapes do not match")
    if codes.shape[0] != layers or params.shape[0] != layers:
        raise ValueError("forward_chain: one code and one parameter per layer")
    full = n // _ROW_BLOCK
    row_jobs = full + n % _ROW_BLOCK
    counts = np.empty(row_jobs, np.int64)
    groups = (row_jobs + _ROW_GROUP - 1) // _ROW_GROUP
    for g in prange(groups):
        first = g * _ROW_GROUP
        stop = min(first + _ROW_GROUP, row_jobs)
        top = _block_rows(first, full)[0]
        last, rows = _block_rows(stop - 1, full)
        for lay in range(layers):
            h = x if lay == 0 else outs[lay - 1]
            w = weights[lay]
            out = outs[lay]
            af = h.reshape(-1)
            bf = w.reshape(-1)
            of = out.reshape(-1)
            m, p = w.shape
            v = simd.width(bf)
            for rj in range(first, stop):
                counts[rj] = _list_taps(af, m, rj, full, taps[rj])
            for j in range(0, p, 4 * v):
                _sum_column_block(af, bf, of, m, p, j, first, stop, full, taps, counts)
            _bias_activation_rows(out[top:last + rows], biases[lay], codes[lay], params[lay])
