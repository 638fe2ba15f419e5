"""Dense-layer kernels: matrix products and the bias-gradient reduction.

Dense products run in our own register-blocked kernel, :func:`matmul_rows`,
not in BLAS, for two reasons.

* Each output is one fixed chain of fused multiply-adds over the inner index
  in order, whatever the number of rows, their position in the request or the
  number of threads. BLAS picks different code paths (and so different
  roundings) for different shapes and thread counts (OpenBLAS's float32
  products differ between 1 and 2 threads), so with it a sample's prediction
  would change in the last bit with the size of the request it came in, and
  a model with the number of threads its fit ran on.
* It skips the inner indices where every row of a 4-row block is zero: the
  black background of an image, the zeros of one-hot features, the units a
  ReLU switched off. On MNIST a 4-row block has 39% nonzero pixels, so the
  first layer's product of 64 rows takes ~47 us on 2 cores where BLAS takes
  ~110; on inputs without zeros it runs at 0.55x to 1.4x BLAS's speed
  (doc/architecture.rst has the figures). Skipping a zero term changes
  nothing in the sum (``x + 0 * w == x``) as long as ``w`` is finite, which
  a fitted network's weights are (the trainer puts back the last finite ones
  when training diverges), with one exception that no prediction sees: a
  zero result's sign (the kernels are compiled without signed zeros anyway).
  With an inf or NaN in ``b``, a row whose input is zero there gets a finite
  result alone and NaN (IEEE's ``0 * inf``) in a block with a nonzero
  neighbour. Non-finite inputs ``a`` always propagate.

A fit of a dense network (:class:`fixed_order_products`, entered by the CPU
backend around an unsharded fit) also sends the weight gradient ``a.T @ b``
and the input gradient ``a @ b.T`` to that kernel, through a transposed copy
of ``a`` or ``b``, so the zeros of a layer's input and of ReLU's gradient are
skipped there too: the MNIST benchmark's 784-256-128-10 epoch takes ~21 ms
on 2 cores instead of ~30-40 through BLAS. Products of fewer than
:data:`PARALLEL_PRODUCT_WORK` multiply-adds stay BLAS's, in the one thread
BLAS has during a fit (:func:`_small`), which gives the same bits for any
number of our threads too. Outside the block (the CNNs' shards, whose BLAS
runs one thread in each shard's thread) those two products and
``matmul(..., exact_rows=False)`` are BLAS's.

The bias gradient is a column sum computed over fixed column blocks, each
summed over rows in order, so its result does not depend on the thread count.
"""

import threading

import numba
import numpy as np
from numba import prange

from skneuro.kernels._jit import kernel, serial_kernel
from skneuro.kernels.cpu import activations as _activations
from skneuro.kernels.cpu import simd

_COLUMN_BLOCK = 16

#: Rows of a prediction pass of a dense network (the dense chains' limit,
#: :mod:`skneuro.kernels.cpu.dense_chain`): their activations stay in the
#: cores' caches between the layers.
SMALL_ROWS = 256

#: Rows in a block of :func:`matmul_rows`: each loaded vector of ``b`` feeds
#: as many multiply-adds. 4 rows x 4 vectors keep 16 accumulators in
#: registers; 2 or 1 rows skip more zeros but are bound by loads.
_ROW_BLOCK = 4

#: Blocks of rows per job of :func:`matmul_rows` (16 rows): 16 jobs for the
#: first layer of 64 rows, which TBB can balance when one core is slowed by
#: something else; as fast as 64-row jobs when both cores are free.
_ROW_GROUP = 4

#: Right-hand sides up to this size are read whole by every job of
#: :func:`matmul_row_blocks` (1 MiB: a core's L2 cache on the machines we
#: measure; the MLP benchmark's first layer is 784 x 256 float32, 784 KiB).
_CACHED_B_BYTES = 1 << 20

_WORKSPACE = threading.local()


class fixed_order_products:  # noqa: N801  (a context manager, used like a function)
    """Inside the block, this thread's training products (:func:`matmul` with
    ``exact_rows=False``, :func:`matmul_tn`, :func:`matmul_nt`) run in our
    fixed-order kernel instead of BLAS, except those too small to pay its
    calls (:func:`_small`); see the module docstring for why. Who may run
    them in parallel is the caller's business
    (:class:`~skneuro.kernels._jit.parallel_kernels`)."""

    __slots__ = ("_previous",)

    def __enter__(self):
        self._previous = getattr(_WORKSPACE, "fixed_order", False)
        _WORKSPACE.fixed_order = True
        return self

    def __exit__(self, *exc_info):
        _WORKSPACE.fixed_order = self._previous
        return False


def _fixed_order():
    return getattr(_WORKSPACE, "fixed_order", False)


def _small(out, inner):
    """Whether a training product is too small for our kernel to pay its calls.

    Below :data:`PARALLEL_PRODUCT_WORK` multiply-adds (a 32-row batch
    through a 64-128-2-128-64 autoencoder: every product) the kernel's
    dispatch and the transposed copy cost more than the product: BLAS
    does these, in the one thread it has during a fit, so their results do
    not depend on the thread count either (a digits autoencoder fit, 64-128-2,
    batch 32, 30 epochs: 0.22 s through our kernels, 0.21 s so; 0.18 s
    before this engine, with BLAS on 2 threads and no step timing).
    """
    return out.size * inner < PARALLEL_PRODUCT_WORK


def matmul(a, b, out, exact_rows=True):
    """``out = a @ b``, by :func:`matmul_rows`.

    ``exact_rows=False`` (training) sends the product to BLAS, unless inside
    :class:`fixed_order_products` and not :func:`_small`: in the CNNs'
    shards each shard's BLAS runs in one thread.
    """
    if exact_rows or (_fixed_order() and not _small(out, a.shape[1])):
        matmul_rows(np.ascontiguousarray(a, dtype=b.dtype), np.ascontiguousarray(b), out)
    else:
        np.dot(a, b, out=out)


def matmul_bias_activation(a, b, bias, code, param, out, exact_rows=True):
    """``out = g(a @ b + bias)``, ``g`` the activation of ``code``: a dense layer's
    output, by :func:`matmul` then
    :func:`~skneuro.kernels.cpu.activations.bias_activation_forward` (the GPU
    runs both in one launch). ``exact_rows`` as for :func:`matmul`.
    """
    matmul(a, b, out, exact_rows)
    _activations.bias_activation_forward(out, bias, code, param)


def matmul_rows(a, b, out):
    """``out = a @ b``, each ``out[i, j]`` a chain of fused multiply-adds over k in order.

    ``a`` (N, K), ``b`` (K, P) and ``out`` (N, P) are C-contiguous arrays of
    one float dtype. For finite ``b`` the result depends neither on N, nor on
    the other rows, nor on the number of threads (up to the sign of a zero
    result; see the module docstring).
    """
    matmul_row_blocks(out, a, b, taps_workspace(a.shape[0], a.shape[1]))


def taps_workspace(n, k):
    """The ``taps`` workspace of :func:`matmul_row_blocks` for ``n`` rows of ``k`` columns.

    Kept per thread: allocating it in the kernel (~100 KB, page faults
    included) cost as much as a fifth of a 64-row product.
    """
    jobs = n // _ROW_BLOCK + n % _ROW_BLOCK
    return _thread_buffer("taps", jobs * k, np.int32).reshape(jobs, k)


def _thread_buffer(name, size, dtype):
    """``size`` elements of ``dtype`` from this thread's buffer ``name``, grown
    when too small (valid until the next call with that name)."""
    space = getattr(_WORKSPACE, name, None)
    if space is None or space.size < size or space.dtype != dtype:
        space = np.empty(max(size, 1), dtype)
        setattr(_WORKSPACE, name, space)
    return space[:size]


#: Multiply-adds from which a product runs in parallel (where it may): a
#: 64-row product of 256 x 128 (2M) takes ~25 us on one core and ~17 on two;
#: at 64 x 128 x 10 (82k, a 10-class layer) starting threads costs more than
#: it saves. Small networks (a 20-feature MLP of 32 units on 200-row
#: batches: 128k) then never compile the parallel variants, ~5 s of a first
#: fit's compilation.
PARALLEL_PRODUCT_WORK = 1 << 18


def _product_work(out, a, *rest):
    return out.size * a.shape[1]


@kernel(threshold=PARALLEL_PRODUCT_WORK, work=_product_work)
def matmul_row_blocks(out, a, b, taps):
    """:func:`matmul_rows` with ``taps``, a (N // 4 + N % 4, K) int32 workspace.

    Runs in parallel from :data:`PARALLEL_PRODUCT_WORK` multiply-adds.

    Rows go in blocks of 4 (the last N % 4 alone); each block lists the k
    where some of its rows is nonzero, then sums only those. Where ``b``
    fits a core's cache (``_CACHED_B_BYTES``), a job is a group of blocks
    of rows, all columns. Otherwise a first parallel loop makes the lists
    and a second one sums, in jobs of one block of columns for a group of
    blocks of rows, so that the job's columns of ``b`` (K x 4 vectors) stay
    in its core's cache for all its rows (a CNN's 2352 x 1024 head would
    not fit whole). Columns go in blocks of 4 vectors (a last, partial
    block recomputes its last whole vector instead of branching), then the
    columns past the last whole vector as one masked vector. Every output
    is written by one job. The jobs are compiled functions of their own,
    shared by both variants: inlined, the parallel variant took 4 s to
    compile.
    """
    n, m = a.shape
    p = b.shape[1]
    if b.shape[0] != m or out.shape[0] != n or out.shape[1] != p:
        raise ValueError("matmul_rows: shapes do not match")
    af = a.reshape(-1)
    bf = b.reshape(-1)
    of = out.reshape(-1)
    full = n // _ROW_BLOCK
    row_jobs = full + n % _ROW_BLOCK
    counts = np.empty(row_jobs, np.int64)
    v = simd.width(bf)
    groups = (row_jobs + _ROW_GROUP - 1) // _ROW_GROUP
    if b.size * b.itemsize <= _CACHED_B_BYTES:
        # ``b`` stays in each core's cache: one parallel loop, a job per
        # group of rows doing its lists and then all the columns (a region
        # fewer: 60 -> 54 us for the first layer of 64 MNIST rows).
        for g in prange(groups):
            first = g * _ROW_GROUP
            stop = min(first + _ROW_GROUP, row_jobs)
            for rj in range(first, stop):
                counts[rj] = _list_taps(af, m, rj, full, taps[rj])
            for j in range(0, p, 4 * v):
                _sum_column_block(af, bf, of, m, p, j, first, stop, full, taps, counts)
        return
    for rj in prange(row_jobs):
        counts[rj] = _list_taps(af, m, rj, full, taps[rj])
    col_jobs = max(1, (p + 4 * v - 1) // (4 * v))
    for job in prange(col_jobs * groups):
        g = (job % groups) * _ROW_GROUP
        _sum_column_block(af, bf, of, m, p, (job // groups) * 4 * v, g,
                          min(g + _ROW_GROUP, row_jobs), full, taps, counts)


@serial_kernel
def _list_taps(af, m, rj, full, taps):
    """The nonzero taps of row job ``rj`` (see :func:`_nonzero_taps`); return how many."""
    i, rows = _block_rows(rj, full)
    return _nonzero_taps(af, m, i, i + rows - 1, taps)


@serial_kernel
def _sum_column_block(af, bf, of, m, p, j, first, stop, full, taps, counts):
    """The column block at ``j`` of row jobs ``first..stop-1``."""
    for rj in range(first, stop):
        i, rows = _block_rows(rj, full)
        if rows == _ROW_BLOCK:
            _four_rows(af, bf, of, m, p, i, j, taps[rj], counts[rj])
        else:
            _one_row(af, bf, of, m, p, i, j, taps[rj], counts[rj])


@numba.njit(inline="always")
def _block_rows(rj, full):
    """First row and row count of row job ``rj``: blocks of 4, then single rows."""
    if rj < full:
        return rj * _ROW_BLOCK, _ROW_BLOCK
    return full * _ROW_BLOCK + rj - full, 1


@numba.njit(inline="always")
def _nonzero_taps(af, m, first, last, taps):
    """Write to ``taps`` the k where some of rows ``first..last`` of ``a`` is nonzero;
    return how many.

    A vector of k at a time gives a bit mask of the nonzero ones; the
    indices are written without branches (always written, the count
    advanced by the bit): a branch per k would be mispredicted on most images.
    """
    v = simd.width(af)
    count = 0
    k = 0
    while k + v <= m:
        bits = 0
        for i in range(first, last + 1):
            bits |= simd.nonzero_bits(af, i * m + k)
        for lane in range(v):
            taps[count] = k + lane
            count += (bits >> lane) & 1
        k += v
    for rest in range(k, m):
        taps[count] = rest
        nonzero = False
        for i in range(first, last + 1):
            nonzero |= af[i * m + rest] != 0
        count += nonzero
    return count


@numba.njit(inline="always")
def _column_block(bf, p, j):
    """Vector width, end of the whole vectors, start of the last whole one, and the
    starts of the 4 vectors of the column block at ``j``: a partial block
    repeats its last whole vector (computed, not stored)."""
    v = simd.width(bf)
    whole = p - p % v
    last = whole - v
    return (v, whole, last, min(j, last), min(j + v, last), min(j + 2 * v, last),
            min(j + 3 * v, last))


@numba.njit(inline="always")
def _four_rows(af, bf, of, m, p, i, j, taps, count):
    """Rows i..i+3, columns j..j+4*width-1 of ``out``: 4 rows x 4 vectors of accumulators."""
    v, whole, last, c0, c1, c2, c3 = _column_block(bf, p, j)
    if j < whole:
        a0 = a1 = a2 = a3 = b0 = b1 = b2 = b3 = simd.zeros(bf)
        e0 = e1 = e2 = e3 = d0 = d1 = d2 = d3 = simd.zeros(bf)
        for t in range(count):
            k = taps[t]
            q = k * p
            w0 = simd.load(bf, q + c0)
            w1 = simd.load(bf, q + c1)
            w2 = simd.load(bf, q + c2)
            w3 = simd.load(bf, q + c3)
            x = simd.broadcast(af, i * m + k)
            a0 = simd.fma(x, w0, a0)
            a1 = simd.fma(x, w1, a1)
            a2 = simd.fma(x, w2, a2)
            a3 = simd.fma(x, w3, a3)
            x = simd.broadcast(af, (i + 1) * m + k)
            b0 = simd.fma(x, w0, b0)
            b1 = simd.fma(x, w1, b1)
            b2 = simd.fma(x, w2, b2)
            b3 = simd.fma(x, w3, b3)
            x = simd.broadcast(af, (i + 2) * m + k)
            e0 = simd.fma(x, w0, e0)
            e1 = simd.fma(x, w1, e1)
            e2 = simd.fma(x, w2, e2)
            e3 = simd.fma(x, w3, e3)
            x = simd.broadcast(af, (i + 3) * m + k)
            d0 = simd.fma(x, w0, d0)
            d1 = simd.fma(x, w1, d1)
            d2 = simd.fma(x, w2, d2)
            d3 = simd.fma(x, w3, d3)
        _store_block(of, i * p + j, v, last - j, a0, a1, a2, a3)
        _store_block(of, (i + 1) * p + j, v, last - j, b0, b1, b2, b3)
        _store_block(of, (i + 2) * p + j, v, last - j, e0, e1, e2, e3)
        _store_block(of, (i + 3) * p + j, v, last - j, d0, d1, d2, d3)
    if whole < p and j + 4 * v > whole:  # the masked vector: this block's last
        rest = p - whole
        a0 = a1 = a2 = a3 = simd.zeros(bf)
        for t in range(count):
            k = taps[t]
            w = simd.load_first(bf, k * p + whole, rest)
            a0 = simd.fma(simd.broadcast(af, i * m + k), w, a0)
            a1 = simd.fma(simd.broadcast(af, (i + 1) * m + k), w, a1)
            a2 = simd.fma(simd.broadcast(af, (i + 2) * m + k), w, a2)
            a3 = simd.fma(simd.broadcast(af, (i + 3) * m + k), w, a3)
        simd.store_first(of, i * p + whole, rest, a0)
        simd.store_first(of, (i + 1) * p + whole, rest, a1)
        simd.store_first(of, (i + 2) * p + whole, rest, a2)
        simd.store_first(of, (i + 3) * p + whole, rest, a3)


@numba.njit(inline="always")
def _one_row(af, bf, of, m, p, i, j, taps, count):
    """Row i, columns j..j+4*width-1 of ``out``, alone: 4 vectors of accumulators."""
    v, whole, last, c0, c1, c2, c3 = _column_block(bf, p, j)
    if j < whole:
        a0 = a1 = a2 = a3 = simd.zeros(bf)
        for t in range(count):
            k = taps[t]
            q = k * p
            x = simd.broadcast(af, i * m + k)
            a0 = simd.fma(x, simd.load(bf, q + c0), a0)
            a1 = simd.fma(x, simd.load(bf, q + c1), a1)
            a2 = simd.fma(x, simd.load(bf, q + c2), a2)
            a3 = simd.fma(x, simd.load(bf, q + c3), a3)
        _store_block(of, i * p + j, v, last - j, a0, a1, a2, a3)
    if whole < p and j + 4 * v > whole:
        a0 = simd.zeros(bf)
        for t in range(count):
            k = taps[t]
            a0 = simd.fma(simd.broadcast(af, i * m + k),
                          simd.load_first(bf, k * p + whole, p - whole), a0)
        simd.store_first(of, i * p + whole, p - whole, a0)


@numba.njit(inline="always")
def _store_block(of, at, v, room, a0, a1, a2, a3):
    """Store a row's 4 vectors of a block at ``of[at:]``, those that start at most
    ``room`` elements in (the real ones)."""
    simd.store(of, at, a0)
    if room >= v:
        simd.store(of, at + v, a1)
    if room >= 2 * v:
        simd.store(of, at + 2 * v, a2)
    if room >= 3 * v:
        simd.store(of, at + 3 * v, a3)


def matmul_tn(a, b, out):
    """``out = a.T @ b`` (weight gradient): BLAS, or :func:`matmul_rows` on a
    transposed copy of ``a`` inside :class:`fixed_order_products`."""
    if _fixed_order() and not _small(out, a.shape[0]):
        a_t = _transposed(a, "a_t")
        b = np.ascontiguousarray(b)
        matmul_row_blocks(out, a_t, b, taps_workspace(*a_t.shape))
    else:
        np.dot(a.T, b, out=out)


def matmul_nt(a, b, out):
    """``out = a @ b.T`` (gradient with respect to the input): BLAS, or
    :func:`matmul_rows` on a transposed copy of ``b`` inside
    :class:`fixed_order_products`."""
    if _fixed_order() and not _small(out, a.shape[1]):
        b_t = _transposed(b, "b_t")
        a = np.ascontiguousarray(a)
        matmul_row_blocks(out, a, b_t, taps_workspace(*a.shape))
    else:
        np.dot(a, b.T, out=out)


def _transposed(x, name):
    """``x.T`` as a C-contiguous array, in this thread's workspace ``name``
    (valid until the next call with that name)."""
    x = np.ascontiguousarray(x)
    n, m = x.shape
    x_t = _thread_buffer(name, n * m, x.dtype).reshape(m, n)
    transpose(x_t, x)
    return x_t


#: Side of the square tiles :func:`transpose` copies: 16 float32 rows of a
#: tile are one 64-byte vector each.
_TILE = 16


def transpose(out, x):
    """``out[j, i] = x[i, j]`` for a C-contiguous (N, M) ``x`` and (M, N) ``out``.

    float32 goes through 16 x 16 tiles transposed in registers
    (:func:`transpose_tiles`): a 256 x 128 matrix in ~7-8.5 us on one core,
    where an element loop (:func:`transpose_elements`, for float64) or
    numpy's strided copy take ~19-22 us.
    """
    if x.dtype == np.float32:
        transpose_tiles(out, x)
    else:
        transpose_elements(out, x)


@kernel(threshold=1 << 15)
def transpose_tiles(out, x):
    """:func:`transpose` of float32 arrays: each whole 16 x 16 tile is 16 vector
    loads, a transpose in registers and 16 vector stores; the rows and
    columns past the last whole tile go element by element."""
    n, m = x.shape
    xf = x.reshape(-1)
    of = out.reshape(-1)
    row_tiles = n // _TILE
    col_tiles = m // _TILE
    for tile in prange(row_tiles * col_tiles):
        i0 = (tile // col_tiles) * _TILE
        j0 = (tile % col_tiles) * _TILE
        t = simd.load_transposed(xf, i0 * m + j0, m)
        for r in range(_TILE):
            simd.store(of, (j0 + r) * n + i0, t[r])
    for i in range(row_tiles * _TILE, n):  # the rows past the whole tiles
        for j in range(m):
            out[j, i] = x[i, j]
    for j in range(col_tiles * _TILE, m):  # the columns past them
        for i in range(row_tiles * _TILE):
            out[j, i] = x[i, j]


@kernel(threshold=1 << 15)
def transpose_elements(out, x):
    """:func:`transpose` element by element, in square tiles (a plain double loop
    misses the cache on every write)."""
    n, m = x.shape
    row_tiles = (n + _TILE - 1) // _TILE
    col_tiles = (m + _TILE - 1) // _TILE
    for tile in prange(row_tiles * col_tiles):
        i0 = (tile // col_tiles) * _TILE
        j0 = (tile % col_tiles) * _TILE
        for i in range(i0, min(i0 + _TILE, n)):
            for j in range(j0, min(j0 + _TILE, m)):
                out[j, i] = x[i, j]


@kernel
def column_sum(x, out):
    """``out[j] = sum_i x[i, j]``, rows added in index order."""
    n, m = x.shape
    n_blocks = (m + _COLUMN_BLOCK - 1) // _COLUMN_BLOCK
    for blk in prange(n_blocks):
        start = blk * _COLUMN_BLOCK
        stop = min(start + _COLUMN_BLOCK, m)
        for j in range(start, stop):
            out[j] = x.dtype.type(0.0)
        for i in range(n):
            for j in range(start, stop):
                out[j] += x[i, j]


def bias_activation_backward(grad, a, code, param, out, bias_grad):
    """The backward pass of ``g(h + bias)``: ``out = grad * g'(h)`` (written with
    ``a = g(h)``, see :func:`~skneuro.kernels.cpu.activations.activation_backward`)
    and ``bias_grad = column_sum(out)``: a dense layer's delta and bias gradient.

    On the CPU, the two tuned kernels one after the other; the GPU fuses them
    into one launch.
    """
    _activations.activation_backward(grad, a, code, param, out)
    column_sum(out, bias_grad)


@kernel
def row_sum(x, out):
    """``out[i] = sum_j x[i, j]`` (the bias gradient of a channel-major convolution)."""
    n, m = x.shape
    for i in prange(n):
        row = x[i]
        total = x.dtype.type(0.0)
        for j in range(m):
            total += row[j]
        out[i] = total


@kernel
def take_rows(out, x, idx):
    """``out[k] = x[idx[k]]``: gather a batch into a preallocated buffer."""
    m = x.shape[1]
    for k in prange(idx.shape[0]):
        src = idx[k]
        for j in range(m):
            out[k, j] = x[src, j]


@kernel
def add_into(out, x):
    """In place: ``out += x`` (gradient accumulation at graph forks)."""
    flat_out = out.reshape(-1)
    flat_x = x.reshape(-1)
    for i in prange(flat_out.shape[0]):
        flat_out[i] += flat_x[i]


@kernel
def take(out, x, idx):
    """``out[k] = x[idx[k]]`` for 1-D arrays (labels, weights)."""
    for k in prange(idx.shape[0]):
        out[k] = x[idx[k]]


@kernel
def add(out, a, b):
    """``out = a + b`` element-wise (arrays of one shape, contiguous)."""
    o = out.reshape(-1)
    x = a.reshape(-1)
    y = b.reshape(-1)
    for i in prange(o.shape[0]):
        o[i] = x[i] + y[i]


@kernel
def copy(out, x):
    """``out[...] = x`` (arrays of one size, contiguous)."""
    o = out.reshape(-1)
    s = x.reshape(-1)
    for i in prange(o.shape[0]):
        o[i] = s[i]


@kernel
def put_columns(out, x, offset):
    """``out[:, offset:offset + x.shape[1]] = x`` (concatenation of features)."""
    n, m = x.shape
    for i in prange(n):
        for j in range(m):
            out[i, offset + j] = x[i, j]


@kernel
def take_columns(out, x, offset):
    """``out = x[:, offset:offset + out.shape[1]]`` (the gradient of a concatenation)."""
    n, m = out.shape
    for i in prange(n):
        for j in range(m):
            out[i, j] = x[i, offset + j]


@serial_kernel
def sum_squares(x, acc):
    """``acc[0] += sum(x**2)`` in float64: non-finite if any element is."""
    flat = x.reshape(-1)
    total = 0.0
    for i in range(flat.shape[0]):
        v = np.float64(flat[i])
        total += v * v
    acc[0] += total


@kernel
def take_scaled(out, x, idx, scale):
    """``out[k] = x[idx[k]] * scale`` (batch weights, normalized to sum to one)."""
    for k in prange(idx.shape[0]):
        out[k] = x[idx[k]] * scale


@serial_kernel
def fill(x, value):
    """``x[...] = value``."""
    flat = x.reshape(-1)
    for i in range(flat.shape[0]):
        flat[i] = value
