"""CUDA siblings of :mod:`skneuro.kernels.cpu.dense`.

The matrix product is a tiled shared-memory kernel: each block computes a
``TILE x TILE`` tile of the output, stepping through the shared dimension one
tile at a time. Every output element adds its products in index order, so a
row's result does not depend on how many rows the product has.
"""

import numpy as np
from numba import cuda, float32, float64

from skneuro._config import CUDA_MAX_BLOCKS, CUDA_THREADS, CUDA_TILE
from skneuro.kernels.cuda._launch import check_device, grid

TILE = CUDA_TILE

#: Kept for the CPU module's interface; the CUDA product is row-independent
#: at every size.
SMALL_ROWS = 256


def _make_gemm(dtype):
    @cuda.jit
    def gemm(a, b, out, ta, tb):
        # out = op(a) @ op(b); op(a)[i, k] is a[k, i] when ta, else a[i, k].
        # Each shared array on its own line: the simulator would merge them.
        sa = cuda.shared.array((TILE, TILE), dtype)
        sb = cuda.shared.array((TILE, TILE), dtype)
        tx = cuda.threadIdx.x
        ty = cuda.threadIdx.y
        row = cuda.blockIdx.y * TILE + ty
        col = cuda.blockIdx.x * TILE + tx
        n_rows, n_cols = out.shape
        depth = a.shape[0] if ta else a.shape[1]
        acc = 0.0
        for t in range((depth + TILE - 1) // TILE):
            k_a = t * TILE + tx
            if row < n_rows and k_a < depth:
                sa[ty, tx] = a[k_a, row] if ta else a[row, k_a]
            else:
                sa[ty, tx] = 0.0
            k_b = t * TILE + ty
            if col < n_cols and k_b < depth:
                sb[ty, tx] = b[col, k_b] if tb else b[k_b, col]
            else:
                sb[ty, tx] = 0.0
            cuda.syncthreads()
            for k in range(TILE):
                acc += sa[ty, k] * sb[k, tx]
            cuda.syncthreads()
        if row < n_rows and col < n_cols:
            out[row, col] = acc

    return gemm


_GEMM = {np.dtype(np.float32): _make_gemm(float32), np.dtype(np.float64): _make_gemm(float64)}


def _launch_gemm(a, b, out, ta, tb):
    check_device(a, b, out)
    n_rows, n_cols = out.shape
    blocks = ((n_cols + TILE - 1) // TILE, (n_rows + TILE - 1) // TILE)
    _GEMM[np.dtype(out.dtype)][blocks, (TILE, TILE)](a, b, out, ta, tb)


def matmul(a, b, out, exact_rows=True):
    """``out = a @ b`` (always row-independent on the GPU: ``exact_rows`` is free)."""
    _launch_gemm(a, b, out, False, False)


def matmul_rows(a, b, out):
    """``out = a @ b`` (the same kernel: already row-independent on the GPU)."""
    _launch_gemm(a, b, out, False, False)


def matmul_tn(a, b, out):
    """``out = a.T @ b`` (weight gradient)."""
    _launch_gemm(a, b, out, True, False)


def matmul_nt(a, b, out):
    """``out = a @ b.T`` (gradient with respect to the input)."""
    _launch_gemm(a, b, out, False, True)


@cuda.jit
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


@cuda.jit
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


@cuda.jit
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


@cuda.jit
def _take_scaled(out, x, idx, scale):
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for k in range(start, idx.shape[0], stride):
        out[k] = x[idx[k]] * scale


def take(out, x, idx):
    """``out[k] = x[idx[k]]`` for 1-D arrays."""
    check_device(out, x, idx)
    _take[grid(idx.shape[0])](out, x, idx)


@cuda.jit
def _take(out, x, idx):
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for k in range(start, idx.shape[0], stride):
        out[k] = x[idx[k]]


def take_scaled(out, x, idx, scale):
    """``out[k] = x[idx[k]] * scale``."""
    check_device(out, x, idx)
    _take_scaled[grid(idx.shape[0])](out, x, idx, scale)


@cuda.jit
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


@cuda.jit
def _copy(out, x):
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for i in range(start, out.shape[0], stride):
        out[i] = x[i]


def copy(out, x):
    """``out[...] = x``."""
    check_device(out, x)
    _copy[grid(out.size)](out.reshape(-1), x.reshape(-1))


@cuda.jit
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


@cuda.jit
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


@cuda.jit
def _fill(x, value):
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for i in range(start, x.shape[0], stride):
        x[i] = value


def fill(x, value):
    """``x[...] = value``."""
    check_device(x)
    _fill[grid(x.size)](x.reshape(-1), value)


@cuda.jit
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
