"""CUDA siblings of :mod:`skneuro.kernels.cpu.winograd` (same arguments and layouts).

One thread per output element: the weights' transform per (xi, c, f); the
convolution per output, from the transformed weights and the transform of
its input tile, channel by channel (``scratch`` is not needed here).
"""

from numba import cuda

from skneuro.kernels.cuda._launch import check_device, grid


@cuda.jit(device=True)
def _g_row(W, ch, f, row, col):
    """Row ``row`` of G g at column ``col`` (g = the 3x3 window of channel ch, filter f)."""
    g0 = W[9 * ch + col, f]
    g1 = W[9 * ch + 3 + col, f]
    g2 = W[9 * ch + 6 + col, f]
    if row == 0:
        return g0
    if row == 1:
        return (g0 + g1 + g2) * 0.5
    if row == 2:
        return (g0 - g1 + g2) * 0.5
    return g2


@cuda.jit
def _winograd_weights(W, out):
    _, c, n_filters = out.shape
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for k in range(start, out.size, stride):
        xi = k // (c * n_filters)
        ch = (k // n_filters) % c
        f = k % n_filters
        r, q = xi // 4, xi % 4
        r0 = _g_row(W, ch, f, r, 0)
        r1 = _g_row(W, ch, f, r, 1)
        r2 = _g_row(W, ch, f, r, 2)
        if q == 0:
            value = r0
        elif q == 1:
            value = (r0 + r1 + r2) * 0.5
        elif q == 2:
            value = (r0 - r1 + r2) * 0.5
        else:
            value = r2
        out[xi, ch, f] = value


@cuda.jit(device=True)
def _b(k, r):
    """B^T[k, r]: rows [1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]."""
    if k == 0:
        return 1.0 if r == 0 else (-1.0 if r == 2 else 0.0)
    if k == 1:
        return 1.0 if r == 1 or r == 2 else 0.0
    if k == 2:
        return -1.0 if r == 1 else (1.0 if r == 2 else 0.0)
    return 1.0 if r == 1 else (-1.0 if r == 3 else 0.0)


@cuda.jit(device=True)
def _a(k, r):
    """A^T[k, r]: rows [1, 1, 1, 0], [0, 1, -1, -1]."""
    if k == 0:
        return 1.0 if r < 3 else 0.0
    return 0.0 if r == 0 else (1.0 if r == 1 else -1.0)


@cuda.jit(device=True)
def _tile_value(xl, ch, y0, x0, s, r, q):
    """(B^T d B)[r, q] for the 4x4 tile of channel ch at (y0, x0), lane s."""
    total = 0.0
    for rr in range(4):
        for qq in range(4):
            total += _b(r, rr) * _b(q, qq) * xl[ch, y0 + rr, x0 + qq, s]
    return total


@cuda.jit
def _conv_lanes_winograd(xl, U, b, out):
    c = xl.shape[0]
    n_filters, height, width, nv = out.shape
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for k in range(start, out.size, stride):
        f = k // (height * width * nv)
        i = (k // (width * nv)) % height
        j = (k // nv) % width
        s = k % nv
        y0, x0 = 2 * (i // 2), 2 * (j // 2)
        total = 0.0
        for ch in range(c):
            for r in range(4):
                for q in range(4):
                    weight = _a(i % 2, r) * _a(j % 2, q)
                    if weight != 0.0:
                        total += (weight * U[4 * r + q, ch, f]
                                  * _tile_value(xl, ch, y0, x0, s, r, q))
        out[f, i, j, s] = total + b[f]


def winograd_weights(W, out):
    """``out[xi, c, f] = (G g G^T)[xi // 4, xi % 4]`` of each 3x3 window of ``W``."""
    check_device(W, out)
    _winograd_weights[grid(out.size)](W, out)


def scratch_shape(c, nv, dtype):
    """As the CPU kernel's (the CUDA kernel takes a scratch and does not use it)."""
    from skneuro.kernels.cpu.winograd import scratch_shape as cpu_scratch_shape

    return cpu_scratch_shape(c, nv, dtype)


def conv_lanes_winograd(xl, U, b, scratch, out):
    """The "same" 3x3 convolution of padded planes ``xl`` by F(2x2, 3x3), plus ``b``."""
    check_device(xl, U, b, out)
    c, hp, wp, nv = xl.shape
    f = out.shape[0]
    if (hp % 2 or wp % 2 or tuple(out.shape) != (f, hp - 2, wp - 2, nv)
            or tuple(U.shape) != (16, c, f) or b.shape[0] != f):
        raise ValueError("conv_lanes_winograd: planes of even sizes, the output's as the "
                         "input's, and transformed weights (16, C, F)")
    _conv_lanes_winograd[grid(out.size)](xl, U, b, out)
