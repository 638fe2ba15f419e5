"""3x3 convolutions in lanes by Winograd's minimal filtering, F(2x2, 3x3).

A 2x2 block of outputs of a 3x3 window needs 36 multiplications per input
channel and filter done directly, 16 this way (Lavin & Gray 2016): the 4x4
input tile ``d`` and the window ``g`` are transformed, ``V = B^T d B`` and
``U = G g G^T``, multiplied element by element and summed over the channels,
``M = sum_c U * V``, and transformed back, ``Y = A^T M A``. Summed over the
channels, the element-wise products are 16 matrix products, one per tile
position ``xi``: in the lanes layout, the same register-blocked micro-kernel
as :func:`skneuro.kernels.cpu.lanes.conv_lanes` (8 filters x 32 samples of
sums in 16 vector registers) over a tile's transformed channels, which stay
in the cache (16 x C x 32 values per job).

``B^T = [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]]``,
``G = [[1, 0, 0], [1/2, 1/2, 1/2], [1/2, -1/2, 1/2], [0, 0, 1]]``,
``A^T = [[1, 1, 1, 0], [0, 1, -1, -1]]``: additions, subtractions and halves,
exact in floating point except for the rounding of the sums (results agree
with the direct sums to a few units of the last place).

For "same" 3x3 windows (padding 1) on planes of even height and width; the
padding is implicit, as in ``conv_lanes``. The backward pass stays direct.
"""

import numba
import numpy as np
from numba import prange

from skneuro.kernels._jit import kernel
from skneuro.kernels.cpu import simd
from skneuro.kernels.cpu.lanes import SAMPLE_BLOCK


@kernel
def winograd_weights(W, out):
    """``out[xi, c, f] = (G g G^T)[xi // 4, xi % 4]`` for each window ``g`` =
    ``W[9c:9c + 9, f]`` as 3x3 (``W``: (C*9, F), ``out``: (16, C, F))."""
    n_filters = W.shape[1]
    c = W.shape[0] // 9
    wf = W.reshape(-1)
    uf = out.reshape(-1)
    v = simd.width(wf)
    blocked = n_filters - n_filters % v
    half = np.full(1, 0.5, W.dtype)
    for ch in prange(c):
        h = simd.broadcast(half, 0)
        # Vectors of filters (written with arrays and 25 rows, the loop does not
        # vectorize: too many possible overlaps for LLVM to check).
        for f in range(0, blocked, v):
            at = 9 * ch * n_filters + f
            g0 = simd.load(wf, at)
            g1 = simd.load(wf, at + n_filters)
            g2 = simd.load(wf, at + 2 * n_filters)
            g3 = simd.load(wf, at + 3 * n_filters)
            g4 = simd.load(wf, at + 4 * n_filters)
            g5 = simd.load(wf, at + 5 * n_filters)
            g6 = simd.load(wf, at + 6 * n_filters)
            g7 = simd.load(wf, at + 7 * n_filters)
            g8 = simd.load(wf, at + 8 * n_filters)
            # G g: rows of 3 columns; then each row times G^T.
            step = c * n_filters
            first = ch * n_filters + f
            _weight_row(uf, first, step, 0, g0, g1, g2, h)
            _weight_row(uf, first, step, 4, _half_sum(g0, g3, g6, h), _half_sum(g1, g4, g7, h),
                        _half_sum(g2, g5, g8, h), h)
            _weight_row(uf, first, step, 8, _half_diff(g0, g3, g6, h),
                        _half_diff(g1, g4, g7, h), _half_diff(g2, g5, g8, h), h)
            _weight_row(uf, first, step, 12, g6, g7, g8, h)
        for f in range(blocked, n_filters):
            g = W[9 * ch:9 * ch + 9, f]
            r = np.empty((4, 3), W.dtype)
            for col in range(3):
                r[0, col] = g[col]
                r[1, col] = (g[col] + g[3 + col] + g[6 + col]) * half[0]
                r[2, col] = (g[col] - g[3 + col] + g[6 + col]) * half[0]
                r[3, col] = g[6 + col]
            for row in range(4):
                out[4 * row, ch, f] = r[row, 0]
                out[4 * row + 1, ch, f] = (r[row, 0] + r[row, 1] + r[row, 2]) * half[0]
                out[4 * row + 2, ch, f] = (r[row, 0] - r[row, 1] + r[row, 2]) * half[0]
                out[4 * row + 3, ch, f] = r[row, 2]


@numba.njit(inline="always")
def _half_sum(a, b, c, h):
    return simd.mul(simd.add(simd.add(a, b), c), h)


@numba.njit(inline="always")
def _half_diff(a, b, c, h):
    return simd.mul(simd.add(simd.sub(a, b), c), h)


@numba.njit(inline="always")
def _weight_row(uf, first, step, xi, r0, r1, r2, h):
    """Row ``xi // 4`` of U from row (r0, r1, r2) of G g: [r0, (r0+r1+r2)/2, (r0-r1+r2)/2, r2]."""
    simd.store(uf, first + xi * step, r0)
    simd.store(uf, first + (xi + 1) * step, _half_sum(r0, r1, r2, h))
    simd.store(uf, first + (xi + 2) * step, _half_diff(r0, r1, r2, h))
    simd.store(uf, first + (xi + 3) * step, r2)


def scratch_shape(c, nv, dtype):
    """The shape of :func:`conv_lanes_winograd`'s scratch for C channels and NV lanes:
    a row per block of two vectors of samples, each a tile's transforms and products."""
    v = simd.VECTOR_BYTES // np.dtype(dtype).itemsize
    return (nv // (2 * v), (16 * c + 16 * 8) * 2 * v)


@numba.njit(inline="always")
def _input(xf, ch, row, col, wp, nv, lane, plane):
    """The vector of samples at (row, col) of a padded plane (``plane`` = ch * HP)."""
    return simd.load(xf, ((plane + row) * wp + col) * nv + lane)


@numba.njit(inline="always")
def _tile_rows(d0, d1, d2, d3):
    """B^T applied to four vectors (a column, or a row, of a tile)."""
    return simd.sub(d0, d2), simd.add(d1, d2), simd.sub(d2, d1), simd.sub(d1, d3)


@numba.njit(inline="always")
def _output_rows(m0, m1, m2, m3):
    """A^T applied to four vectors."""
    return simd.add(simd.add(m0, m1), m2), simd.sub(simd.sub(m1, m2), m3)


@kernel
def conv_lanes_winograd(xl, U, b, scratch, out):
    """The "same" 3x3 convolution of ``xl`` (C, H + 2, W + 2, NV), planes padded by
    one (see :func:`~skneuro.kernels.cpu.lanes.pad_lanes`), into ``out`` (F, H,
    W, NV), plus ``b``, from ``U`` = :func:`winograd_weights` of the weights; H
    and W even. (Padded, the tiles' loads need no test: 12 of the 16 tiles of
    an 8x8 plane touch its border.)

    ``scratch``, of :func:`scratch_shape`, holds a row per block of two
    vectors of samples: a tile's transformed channels and their products,
    kept by the caller so that no call allocates (fresh pages cost more than
    the transforms). The blocks of samples are the parallel jobs; each runs
    through all tiles.
    """
    c, hp, wp, nv = xl.shape
    height, width = hp - 2, wp - 2
    n_filters = out.shape[0]
    if nv % SAMPLE_BLOCK != 0 or out.shape[3] != nv:
        raise ValueError("conv_lanes_winograd: the lanes must hold a multiple of "
                         "SAMPLE_BLOCK samples, the same number in the input and the output")
    if (height % 2 or width % 2 or out.shape[1] != height or out.shape[2] != width
            or U.shape[0] != 16 or U.shape[1] != c or U.shape[2] != n_filters
            or b.shape[0] != n_filters):
        raise ValueError("conv_lanes_winograd: planes of even sizes, the output's as the "
                         "input's, and transformed weights (16, C, F)")
    xf = xl.reshape(-1)
    uf = U.reshape(-1)
    of = out.reshape(-1)
    v = simd.width(xf)
    if scratch.shape[0] < nv // (2 * v) or scratch.shape[1] < (16 * c + 128) * 2 * v:
        raise ValueError("conv_lanes_winograd: a scratch of scratch_shape")
    tiles_w = width // 2
    n_tiles = (height // 2) * tiles_w
    n_blocks = (n_filters + 7) // 8
    for block in prange(nv // (2 * v)):
        s = block * 2 * v
        mine = scratch[block]
        # A tile's transformed channels, V[xi, ch, 2 vectors of samples], and
        # their products with the weights, M[xi, 8 filters, 2 vectors].
        tile = mine[:16 * c * 2 * v]
        products = mine[16 * c * 2 * v:]
        for t in range(n_tiles):
            ty = t // tiles_w
            tx = t % tiles_w
            for ch in range(c):
                for half in range(2):
                    lane = s + half * v
                    plane = ch * hp
                    y0 = 2 * ty
                    x0 = 2 * tx
                    # B^T d: the columns of the 4x4 tile.
                    e00, e10, e20, e30 = _tile_rows(
                        _input(xf, ch, y0, x0, wp, nv, lane, plane),
                        _input(xf, ch, y0 + 1, x0, wp, nv, lane, plane),
                        _input(xf, ch, y0 + 2, x0, wp, nv, lane, plane),
                        _input(xf, ch, y0 + 3, x0, wp, nv, lane, plane))
                    e01, e11, e21, e31 = _tile_rows(
                        _input(xf, ch, y0, x0 + 1, wp, nv, lane, plane),
                        _input(xf, ch, y0 + 1, x0 + 1, wp, nv, lane, plane),
                        _input(xf, ch, y0 + 2, x0 + 1, wp, nv, lane, plane),
                        _input(xf, ch, y0 + 3, x0 + 1, wp, nv, lane, plane))
                    e02, e12, e22, e32 = _tile_rows(
                        _input(xf, ch, y0, x0 + 2, wp, nv, lane, plane),
                        _input(xf, ch, y0 + 1, x0 + 2, wp, nv, lane, plane),
                        _input(xf, ch, y0 + 2, x0 + 2, wp, nv, lane, plane),
                        _input(xf, ch, y0 + 3, x0 + 2, wp, nv, lane, plane))
                    e03, e13, e23, e33 = _tile_rows(
                        _input(xf, ch, y0, x0 + 3, wp, nv, lane, plane),
                        _input(xf, ch, y0 + 1, x0 + 3, wp, nv, lane, plane),
                        _input(xf, ch, y0 + 2, x0 + 3, wp, nv, lane, plane),
                        _input(xf, ch, y0 + 3, x0 + 3, wp, nv, lane, plane))
                    # (B^T d) B: the rows.
                    at = (ch * 2 + half) * v
                    step = c * 2 * v
                    _store4(tile, at, step, 0, _tile_rows(e00, e01, e02, e03))
                    _store4(tile, at, step, 4, _tile_rows(e10, e11, e12, e13))
                    _store4(tile, at, step, 8, _tile_rows(e20, e21, e22, e23))
                    _store4(tile, at, step, 12, _tile_rows(e30, e31, e32, e33))
            for fb in range(n_blocks):
                f = fb * 8
                real = min(8, n_filters - f)
                f1, f2, f3 = min(f + 1, n_filters - 1), min(f + 2, n_filters - 1), \
                    min(f + 3, n_filters - 1)
                f4, f5, f6 = min(f + 4, n_filters - 1), min(f + 5, n_filters - 1), \
                    min(f + 6, n_filters - 1)
                f7 = min(f + 7, n_filters - 1)
                for xi in range(16):
                    a0 = a1 = b0 = b1 = c0 = c1 = d0 = d1 = simd.zeros(xf)
                    e0 = e1 = g0 = g1 = h0 = h1 = k0 = k1 = simd.zeros(xf)
                    for ch in range(c):
                        at = ((xi * c + ch) * 2) * v
                        x0 = simd.load(tile, at)
                        x1 = simd.load(tile, at + v)
                        row = (xi * c + ch) * n_filters
                        w = simd.broadcast(uf, row + f)
                        a0 = simd.fma(w, x0, a0)
                        a1 = simd.fma(w, x1, a1)
                        w = simd.broadcast(uf, row + f1)
                        b0 = simd.fma(w, x0, b0)
                        b1 = simd.fma(w, x1, b1)
                        w = simd.broadcast(uf, row + f2)
                        c0 = simd.fma(w, x0, c0)
                        c1 = simd.fma(w, x1, c1)
                        w = simd.broadcast(uf, row + f3)
                        d0 = simd.fma(w, x0, d0)
                        d1 = simd.fma(w, x1, d1)
                        w = simd.broadcast(uf, row + f4)
                        e0 = simd.fma(w, x0, e0)
                        e1 = simd.fma(w, x1, e1)
                        w = simd.broadcast(uf, row + f5)
                        g0 = simd.fma(w, x0, g0)
                        g1 = simd.fma(w, x1, g1)
                        w = simd.broadcast(uf, row + f6)
                        h0 = simd.fma(w, x0, h0)
                        h1 = simd.fma(w, x1, h1)
                        w = simd.broadcast(uf, row + f7)
                        k0 = simd.fma(w, x0, k0)
                        k1 = simd.fma(w, x1, k1)
                    at = xi * 8 * 2 * v
                    simd.store(products, at, a0)
                    simd.store(products, at + v, a1)
                    simd.store(products, at + 2 * v, b0)
                    simd.store(products, at + 3 * v, b1)
                    simd.store(products, at + 4 * v, c0)
                    simd.store(products, at + 5 * v, c1)
                    simd.store(products, at + 6 * v, d0)
                    simd.store(products, at + 7 * v, d1)
                    simd.store(products, at + 8 * v, e0)
                    simd.store(products, at + 9 * v, e1)
                    simd.store(products, at + 10 * v, g0)
                    simd.store(products, at + 11 * v, g1)
                    simd.store(products, at + 12 * v, h0)
                    simd.store(products, at + 13 * v, h1)
                    simd.store(products, at + 14 * v, k0)
                    simd.store(products, at + 15 * v, k1)
                for m in range(real):
                    bias = simd.broadcast(b, f + m)
                    for half in range(2):
                        _output_tile(products, of, m, half, v, bias,
                                     (((f + m) * height + 2 * ty) * width + 2 * tx) * nv
                                     + s + half * v, width * nv, nv)


@numba.njit(inline="always")
def _store4(tile, at, step, first, vectors):
    simd.store(tile, at + first * step, vectors[0])
    simd.store(tile, at + (first + 1) * step, vectors[1])
    simd.store(tile, at + (first + 2) * step, vectors[2])
    simd.store(tile, at + (first + 3) * step, vectors[3])


@numba.njit(inline="always")
def _product(products, xi, m, half, v):
    return simd.load(products, ((xi * 8 + m) * 2 + half) * v)


@numba.njit(inline="always")
def _output_tile(products, of, m, half, v, bias, at, row_step, col_step):
    """``A^T M A`` + bias for filter ``m`` of the block, stored as a 2x2 output block."""
    # A^T over the columns of M (xi = 4 r + q), then over the rows.
    p0, q0 = _output_rows(_product(products, 0, m, half, v), _product(products, 4, m, half, v),
                          _product(products, 8, m, half, v), _product(products, 12, m, half, v))
    p1, q1 = _output_rows(_product(products, 1, m, half, v), _product(products, 5, m, half, v),
                          _product(products, 9, m, half, v), _product(products, 13, m, half, v))
    p2, q2 = _output_rows(_product(products, 2, m, half, v), _product(products, 6, m, half, v),
                          _product(products, 10, m, half, v),
                          _product(products, 14, m, half, v))
    p3, q3 = _output_rows(_product(products, 3, m, half, v), _product(products, 7, m, half, v),
                          _product(products, 11, m, half, v),
                          _product(products, 15, m, half, v))
    y00, y01 = _output_rows(p0, p1, p2, p3)
    y10, y11 = _output_rows(q0, q1, q2, q3)
    simd.store(of, at, simd.add(y00, bias))
    simd.store(of, at + col_step, simd.add(y01, bias))
    simd.store(of, at + row_step, simd.add(y10, bias))
    simd.store(of, at + row_step + col_step, simd.add(y11, bias))
