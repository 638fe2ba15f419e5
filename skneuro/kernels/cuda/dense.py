"""CUDA siblings of :mod:`skneuro.kernels.cpu.dense`.

Matrix products
---------------
:func:`matmul`, :func:`matmul_rows`, :func:`matmul_tn` and :func:`matmul_nt`
compute ``out = op(a) @ op(b)`` by one of two routes, chosen in
:mod:`skneuro.kernels.cuda.blas` (:func:`~skneuro.kernels.cuda.blas.current_product`):

* **cuBLAS** through zero-copy CuPy views, when CuPy is installed and a real
  GPU runs (not the simulator); float32 stays float32 (no TF32).
* **Our Numba kernel** otherwise: a register-blocked GEMM. A block of
  ``TY x TX`` threads computes a ``BM x BN`` tile of the output
  (``BM = TY * MR``, ``BN = TX * NR``), each thread an ``MR x NR`` micro-tile
  in registers (rows ``ty + i * TY``, columns ``tx + j * TX``: neighbouring
  threads read neighbouring shared words and write neighbouring outputs).
  The shared dimension is walked ``BK`` at a time through shared-memory tiles
  of both operands; the transposes are handled when the tiles are loaded
  (coalesced along whichever index is contiguous in memory), so
  ``matmul_tn`` and ``matmul_nt`` read their operands in place. Every output
  adds its products in index order (k ascending, one accumulator, padding
  past the edge adds exact zeros), so its value does not depend on the
  product's shape: a row's result does not depend on how many rows the
  product has (nor a column's on how many columns).

Row independence of predictions (``exact_rows``)
------------------------------------------------
Layers call ``matmul(x, W, out, exact_rows=not training)``; the chained
prediction path calls :func:`matmul_rows`. Those products promise what the
CPU's :func:`skneuro.kernels.cpu.dense.matmul_rows` promises: a sample's
prediction does not depend on how many rows came with it in the request.
The Numba kernel keeps it at every shape. cuBLAS does not: it picks its
algorithm (tile shape, split of the shared dimension) per call shape, so the
same row can be rounded differently in products of 1 and of 37 rows.

Decision: with cuBLAS, exact-rows products are computed in **fixed blocks of
ROW_BLOCK rows**. Every call cuBLAS sees has the shape
``(ROW_BLOCK, k) @ (k, n)``, the same leading dimensions and operands aligned
to ``BLOCK_ALIGNMENT`` bytes: a full block of a C-contiguous, aligned request
is passed in place; the last, partial block (and any block of a strided or
misaligned operand) is copied into a reusable per-thread buffer of
``ROW_BLOCK`` rows, computed there and its rows copied back. A row is then
always computed by the same cuBLAS call shape, whatever the request's size;
its result does not depend on the other rows of the block (a GEMM kernel
sums each output over k in an order that depends on the kernel, not on the
output's row). Why not the Numba kernel for predictions: prediction is where
skneuro trailed PyTorch (on cuBLAS) most, about 8x in the project's GPU
comparison with the previous Numba kernel, and the blocks keep most of
cuBLAS's speed: full blocks cost nothing extra, the partial block costs two
row copies and at most ``ROW_BLOCK - 1`` wasted rows. The price is paid by
small requests: a 1-row prediction computes a whole block. ``ROW_BLOCK`` is
a guess until measured on a GPU
(``asv_bench/gpu_gemm.py``); changing it changes predictions in the last bit
(the call shape changes), never their independence of the request size.

Training products (``exact_rows=False``, :func:`matmul_tn`,
:func:`matmul_nt`) go to cuBLAS whole, as the CPU's go to BLAS. So do the
convolution layers' products, where the samples are the product's
*columns* (as on the CPU, where they go to BLAS too): with cuBLAS, a
convolution's prediction may change in the last bit with the request size.
(So does the transposed convolution's ``matmul(W, x, cols, exact_rows=False)``:
its rows are filter taps, not samples, and blocks would only pad ``W`` to
``ROW_BLOCK`` rows.)
"""

import threading
from collections import namedtuple

import numpy as np
from numba import cuda, float32, float64

from skneuro._config import CUDA_MAX_BLOCKS, CUDA_SIMULATED, CUDA_THREADS
from skneuro.kernels.codes import IDENTITY
from skneuro.kernels.cuda import blas
from skneuro.kernels.cuda._launch import check_device, grid, kernel
from skneuro.kernels.cuda.activations import _apply, _derivative_times
from skneuro.kernels.cuda.activations import bias_activation_forward as _bias_activation

#: Threads ``(TX, TY)`` per block, micro-tile ``(MR, NR)`` per thread and the
#: depth ``BK`` of the shared tiles of the Numba GEMM. On a GPU: 256 threads,
#: 4 x 4 outputs each, 64 x 64 outputs per block. Under the simulator every
#: thread is a Python thread and a block costs as much as its work: 16 threads,
#: 8 x 8 outputs each.
Geometry = namedtuple("Geometry", "tx ty mr nr bk")
GEOMETRY = Geometry(4, 4, 8, 8, 16) if CUDA_SIMULATED else Geometry(16, 16, 4, 4, 16)

#: Rows per cuBLAS call of an exact-rows product (see the module docstring).
ROW_BLOCK = 8 if CUDA_SIMULATED else 1024

#: A block of rows is passed to cuBLAS in place only when its operands start
#: on this boundary (cudaMalloc's): cuBLAS may choose kernels by alignment.
BLOCK_ALIGNMENT = 256

#: CUDA's limit on gridDim.y: the kernel loops over row tiles beyond it.
_MAX_GRID_Y = 65535


def _make_gemm(dtype, ta, tb, geometry, epilogue):
    tx_n, ty_n, mr, nr, bk = geometry
    bm, bn, nt = ty_n * mr, tx_n * nr, tx_n * ty_n
    # Array shapes must be compile-time constants: worked out here, not in the
    # kernel (where ``bm + 1`` is an int64 the CUDA target cannot size an array by).
    a_tile, b_tile, micro_tile = (bk, bm + 1), (bk, bn + 1), (mr, nr)

    @kernel
    def gemm(a, b, out, bias, code, param):
        # out = op(a) @ op(b); op(a)[i, k] is a[k, i] when ta, else a[i, k].
        # With the epilogue (a compile-time constant of the variant), each
        # output leaves as g(value + bias[col]): a dense layer in one launch.
        # The plain variant is given a dummy bias, code and param, unread.
        # The shared tiles hold op(a)'s tile transposed (k, row) and op(b)'s
        # (k, col); one padding column keeps the strided stores of the
        # untransposed loads off a single bank. Each shared or local array on
        # its own line: the simulator would merge them.
        sa = cuda.shared.array(a_tile, dtype)
        sb = cuda.shared.array(b_tile, dtype)
        acc = cuda.local.array(micro_tile, dtype)
        av = cuda.local.array(mr, dtype)
        bv = cuda.local.array(nr, dtype)
        tx = cuda.threadIdx.x
        ty = cuda.threadIdx.y
        tid = ty * tx_n + tx
        n_rows, n_cols = out.shape
        depth = a.shape[0] if ta else a.shape[1]
        col0 = cuda.blockIdx.x * bn
        for row_tile in range(cuda.blockIdx.y, (n_rows + bm - 1) // bm, cuda.gridDim.y):
            row0 = row_tile * bm
            for i in range(mr):
                for j in range(nr):
                    acc[i, j] = 0
            for k0 in range(0, depth, bk):
                # Consecutive threads load consecutive addresses of the operand.
                for e in range(tid, bm * bk, nt):
                    if ta:
                        r, kk = e % bm, e // bm
                    else:
                        r, kk = e // bk, e % bk
                    gr, gk = row0 + r, k0 + kk
                    if gr < n_rows and gk < depth:
                        sa[kk, r] = a[gk, gr] if ta else a[gr, gk]
                    else:
                        sa[kk, r] = 0
                for e in range(tid, bn * bk, nt):
                    if tb:
                        c, kk = e // bk, e % bk
                    else:
                        c, kk = e % bn, e // bn
                    gc, gk = col0 + c, k0 + kk
                    if gc < n_cols and gk < depth:
                        sb[kk, c] = b[gc, gk] if tb else b[gk, gc]
                    else:
                        sb[kk, c] = 0
                cuda.syncthreads()
                for kk in range(bk):  # k ascending, for every output
                    for i in range(mr):
                        av[i] = sa[kk, ty + i * ty_n]
                    for j in range(nr):
                        bv[j] = sb[kk, tx + j * tx_n]
                    for i in range(mr):
                        for j in range(nr):
                            acc[i, j] += av[i] * bv[j]
                cuda.syncthreads()
            for i in range(mr):
                row = row0 + ty + i * ty_n
                if row < n_rows:
                    for j in range(nr):
                        col = col0 + tx + j * tx_n
                        if col < n_cols:
                            if epilogue:  # acc's type plus bias: as bias_activation_forward
                                out[row, col] = _apply(acc[i, j] + bias[col], code, param)
                            else:
                                out[row, col] = acc[i, j]

    return gemm


_KERNELS = {}
_LAUNCHES = {}
_DUMMY_BIAS = {}
_MAX_LAUNCHES = 512
_TYPES = {np.dtype(np.float32): float32, np.dtype(np.float64): float64}


def _kernel(dtype, ta, tb, geometry=None, epilogue=False):
    """The compiled-on-first-use GEMM for a dtype, pair of transposes and
    epilogue (bias and activation, or none): ``(a, b, out, bias, code, param)``."""
    geometry = GEOMETRY if geometry is None else geometry
    key = (dtype, ta, tb, geometry, epilogue)
    kernel = _KERNELS.get(key)
    if kernel is None:
        kernel = _KERNELS[key] = _make_gemm(_TYPES[dtype], ta, tb, geometry, epilogue)
    return kernel


def _no_epilogue(dtype):
    """``(bias, code, param)`` for the plain GEMM: a one-element device array
    made once per dtype (kernel arguments must be device arrays), unread."""
    bias = _DUMMY_BIAS.get(dtype)
    if bias is None:
        bias = _DUMMY_BIAS[dtype] = cuda.to_device(np.zeros(1, dtype))
    return bias, IDENTITY, dtype.type(0)


def _launcher(n_rows, n_cols, dtype, ta, tb, epilogue=False):
    """The kernel and its grid for an output shape, worked out once per shape and kept.

    The configured kernel (``kernel[blocks, threads]``) is made at each call:
    numba's simulator keeps state in it, and a kept one computed wrong
    products after other shapes had run (``tests/test_cuda_gemm.py``).
    """
    key = (n_rows, n_cols, dtype, ta, tb, epilogue)
    launch = _LAUNCHES.get(key)
    if launch is None:
        g = GEOMETRY
        bm, bn = g.ty * g.mr, g.tx * g.nr
        blocks = ((n_cols + bn - 1) // bn, min(_MAX_GRID_Y, (n_rows + bm - 1) // bm))
        if len(_LAUNCHES) >= _MAX_LAUNCHES:  # prediction requests of many sizes
            _LAUNCHES.clear()
        launch = _LAUNCHES[key] = (_kernel(dtype, ta, tb, epilogue=epilogue), blocks,
                                   (g.tx, g.ty))
    return launch


def _check_shapes(a, b, out, ta, tb):
    n, k = (a.shape[1], a.shape[0]) if ta else a.shape
    k_b, m = (b.shape[1], b.shape[0]) if tb else b.shape
    if k != k_b or out.shape != (n, m):
        ops = ("a.T" if ta else "a") + " @ " + ("b.T" if tb else "b")
        raise ValueError(f"{ops}: shapes {a.shape}, {b.shape} and out {out.shape} do not match.")


def _numba_product(a, b, out, ta, tb, epilogue=None):
    """``out = op(a) @ op(b)`` by the Numba kernel (shapes already checked), then
    ``g(out + bias)`` in the same launch if ``epilogue`` is ``(bias, code, param)``."""
    if out.shape[0] and out.shape[1]:
        dtype = np.dtype(out.dtype)
        kernel, blocks, threads = _launcher(out.shape[0], out.shape[1], dtype, ta, tb,
                                            epilogue=epilogue is not None)
        kernel[blocks, threads](a, b, out, *(epilogue or _no_epilogue(dtype)))


def _product(a, b, out, ta, tb):
    check_device(a, b, out)
    _check_shapes(a, b, out, ta, tb)
    product = blas.current_product()
    if product is None:
        _numba_product(a, b, out, ta, tb)
    elif out.shape[0] and out.shape[1]:
        product(a, b, out, ta, tb)


def _address(x):
    try:
        return x.__cuda_array_interface__["data"][0]
    except AttributeError:  # the simulator's arrays: host memory
        return x.__array_interface__["data"][0]


def _in_place(x):
    """Whether a block of rows can be given to cuBLAS where it lies."""
    return x.is_c_contiguous() and _address(x) % BLOCK_ALIGNMENT == 0


_staging = threading.local()


def _staging_buffers(dtype, rows, k, m):
    """This thread's ``(rows, k)`` and ``(rows, m)`` device buffers, made once."""
    buffers = getattr(_staging, "buffers", None)
    if buffers is None:
        buffers = _staging.buffers = {}
    key = (dtype, rows, k, m)
    pair = buffers.get(key)
    if pair is None:
        if len(buffers) >= 8:  # the layers of a few models
            buffers.clear()
        pair = buffers[key] = (cuda.to_device(np.zeros((rows, k), dtype)),
                               cuda.to_device(np.zeros((rows, m), dtype)))
    return pair


@kernel
def _copy_rows(out, x, n):
    m = out.shape[1]
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for t in range(start, n * m, stride):
        i, j = t // m, t % m
        out[i, j] = x[i, j]


def _block_product(product, a, b, out, rows):
    """One exact-rows block: ``out = a @ b`` by a call of exactly ``rows`` rows."""
    if a.shape[0] == rows and _in_place(a) and _in_place(out):
        product(a, b, out, False, False)
        return
    k, m, n = a.shape[1], out.shape[1], a.shape[0]
    a_buf, out_buf = _staging_buffers(np.dtype(out.dtype), rows, k, m)
    if k:
        _copy_rows[grid(n * k)](a_buf, a, n)
    product(a_buf, b, out_buf, False, False)
    _copy_rows[grid(n * m)](out, out_buf, n)


def _exact_rows_product(a, b, out):
    check_device(a, b, out)
    _check_shapes(a, b, out, False, False)
    product = blas.current_product()
    if product is None:  # the Numba kernel is row-independent by itself
        _numba_product(a, b, out, False, False)
        return
    n, rows = out.shape[0], ROW_BLOCK
    if not out.shape[1]:
        return
    for lo in range(0, n, rows):
        hi = min(n, lo + rows)
        _block_product(product, a[lo:hi], b, out[lo:hi], rows)


def matmul(a, b, out, exact_rows=True):
    """``out = a @ b``.

    ``exact_rows=True`` (prediction) keeps each row's result independent of
    the number of rows (see the module docstring); ``False`` (training) lets
    cuBLAS, when it is the route, compute the product in one call.
    """
    if exact_rows:
        _exact_rows_product(a, b, out)
    else:
        _product(a, b, out, False, False)


def matmul_rows(a, b, out):
    """``out = a @ b``, each row's result independent of the number of rows."""
    _exact_rows_product(a, b, out)


def matmul_tn(a, b, out):
    """``out = a.T @ b`` (weight gradient)."""
    _product(a, b, out, True, False)


def matmul_nt(a, b, out):
    """``out = a @ b.T`` (gradient with respect to the input)."""
    _product(a, b, out, False, True)


def matmul_bias_activation(a, b, bias, code, param, out, exact_rows=True):
    """``out = g(a @ b + bias)``, ``g`` the activation of ``code``: a dense layer's
    output.

    By the Numba kernel, one launch: the bias and the activation are the
    GEMM's epilogue, the same values to the bit as :func:`matmul` then
    :func:`~skneuro.kernels.cuda.activations.bias_activation_forward`. By
    cuBLAS (which runs no epilogue of ours), those two calls.
    ``exact_rows`` as for :func:`matmul`.
    """
    if blas.current_product() is not None:
        matmul(a, b, out, exact_rows)
        _bias_activation(out, bias, code, param)
        return
    check_device(a, b, bias, out)
    _check_shapes(a, b, out, False, False)
    _numba_product(a, b, out, False, False, (bias, code, param))


@kernel
def _column_sum(x, out):
    n, m = x.shape
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for j in range(start, m, stride):
        total = 0.0
        for i in range(n):  # rows in order: the CPU kernel's order
            total += x[i, j]
        out[j] = total


def column_sum(x, out):
    """``out[j] = sum_i x[i, j]``, rows added in index order."""
    check_device(x, out)
    _column_sum[grid(x.shape[1])](x, out)


@kernel
def _bias_activation_backward(grad, a, code, param, out, bias_grad):
    # One thread per column, rows in index order: column_sum's order, and its
    # float64 total of the stored values.
    n, m = grad.shape
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for j in range(start, m, stride):
        total = 0.0
        for i in range(n):
            out[i, j] = _derivative_times(grad[i, j], a[i, j], code, param)
            total += out[i, j]
        bias_grad[j] = total


def bias_activation_backward(grad, a, code, param, out, bias_grad):
    """The backward pass of ``g(h + bias)``: ``out = grad * g'(h)`` (written with
    ``a = g(h)``, as :func:`~skneuro.kernels.cuda.activations.activation_backward`)
    and ``bias_grad[j] = sum_i out[i, j]``, in one launch. The same values to
    the bit as ``activation_backward`` then :func:`column_sum`."""
    check_device(grad, a, out, bias_grad)
    _bias_activation_backward[grid(grad.shape[1])](grad, a, code, param, out, bias_grad)


@kernel
def _row_sum(x, out):
    # One block per row (grid-stride over rows): each thread sums a strided
    # share, then thread 0 adds the shares in thread order (deterministic).
    partial = cuda.shared.array(CUDA_THREADS, float64)
    t = cuda.threadIdx.x
    for i in range(cuda.blockIdx.x, x.shape[0], cuda.gridDim.x):
        total = 0.0
        for j in range(t, x.shape[1], CUDA_THREADS):
            total += x[i, j]
        partial[t] = total
        cuda.syncthreads()
        if t == 0:
            s = 0.0
            for k in range(CUDA_THREADS):
                s += partial[k]
            out[i] = s
        cuda.syncthreads()


def row_sum(x, out):
    """``out[i] = sum_j x[i, j]``."""
    check_device(x, out)
    blocks = max(1, min(CUDA_MAX_BLOCKS, x.shape[0]))
    _row_sum[blocks, CUDA_THREADS](x, out)


@kernel
def _take_rows(out, x, idx):
    n, m = out.shape
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for k in range(start, n * m, stride):
        i, j = k // m, k % m
        out[i, j] = x[idx[i], j]


def take_rows(out, x, idx):
    """``out[k] = x[idx[k]]``."""
    check_device(out, x, idx)
    _take_rows[grid(out.size)](out, x, idx)


@kernel
def _take_scaled(out, x, idx, scale):
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for k in range(start, idx.shape[0], stride):
        out[k] = x[idx[k]] * scale


def take(out, x, idx):
    """``out[k] = x[idx[k]]`` for 1-D arrays."""
    check_device(out, x, idx)
    _take[grid(idx.shape[0])](out, x, idx)


@kernel
def _take(out, x, idx):
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for k in range(start, idx.shape[0], stride):
        out[k] = x[idx[k]]


def take_scaled(out, x, idx, scale):
    """``out[k] = x[idx[k]] * scale``."""
    check_device(out, x, idx)
    _take_scaled[grid(idx.shape[0])](out, x, idx, scale)


@kernel
def _add(out, a, b):
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for i in range(start, out.shape[0], stride):
        out[i] = a[i] + b[i]


def add(out, a, b):
    """``out = a + b`` element-wise."""
    check_device(out, a, b)
    _add[grid(out.size)](out.reshape(-1), a.reshape(-1), b.reshape(-1))


def add_into(out, x):
    """In place: ``out += x``."""
    add(out, out, x)


@kernel
def _copy(out, x):
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for i in range(start, out.shape[0], stride):
        out[i] = x[i]


def copy(out, x):
    """``out[...] = x``."""
    check_device(out, x)
    _copy[grid(out.size)](out.reshape(-1), x.reshape(-1))


@kernel
def _put_columns(out, x, offset):
    n, m = x.shape
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for k in range(start, n * m, stride):
        i, j = k // m, k % m
        out[i, offset + j] = x[i, j]


def put_columns(out, x, offset):
    """``out[:, offset:offset + x.shape[1]] = x``."""
    check_device(out, x)
    _put_columns[grid(x.size)](out, x, offset)


@kernel
def _take_columns(out, x, offset):
    n, m = out.shape
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for k in range(start, n * m, stride):
        i, j = k // m, k % m
        out[i, j] = x[i, offset + j]


def take_columns(out, x, offset):
    """``out = x[:, offset:offset + out.shape[1]]``."""
    check_device(out, x)
    _take_columns[grid(out.size)](out, x, offset)


@kernel
def _fill(x, value):
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for i in range(start, x.shape[0], stride):
        x[i] = value


def fill(x, value):
    """``x[...] = value``."""
    check_device(x)
    _fill[grid(x.size)](x.reshape(-1), value)


@kernel
def _sum_squares(x, acc):
    # One block: each thread sums a fixed strided share in float64, then
    # thread 0 adds the partial sums in thread order (deterministic).
    partial = cuda.shared.array(CUDA_THREADS, float64)
    t = cuda.threadIdx.x
    total = 0.0
    for i in range(t, x.shape[0], CUDA_THREADS):
        v = float64(x[i])
        total += v * v
    partial[t] = total
    cuda.syncthreads()
    if t == 0:
        s = 0.0
        for k in range(CUDA_THREADS):
            s += partial[k]
        acc[0] += s


def sum_squares(x, acc):
    """``acc[0] += sum(x**2)`` in float64."""
    check_device(x, acc)
    _sum_squares[1, CUDA_THREADS](x.reshape(-1), acc)
