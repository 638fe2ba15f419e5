"""CUDA siblings of :mod:`skneuro.kernels.cpu.lanes` (same layouts: samples last, (C, H, W, NV)).

One thread per output element, each sum in a plain loop: the CPU kernels
add in vector-sized partial sums, so the two agree to rounding.
"""

from numba import cuda

from skneuro.kernels.cuda._launch import check_device, grid
from skneuro.kernels.cuda.activations import _apply


@cuda.jit
def _to_lanes(x, ph, pw, out):
    n, c, h, w = x.shape
    _, hp, wp, nv = out.shape
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for k in range(start, out.size, stride):
        ch = k // (hp * wp * nv)
        yy = (k // (wp * nv)) % hp
        xx = (k // nv) % wp
        s = k % nv
        i, j = yy - ph, xx - pw
        if s < n and 0 <= i < h and 0 <= j < w:
            out[ch, yy, xx, s] = x[s, ch, i, j]
        else:
            out[ch, yy, xx, s] = 0.0


@cuda.jit
def _from_lanes(y, code, param, out):
    n, f, oh, ow = out.shape
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for k in range(start, out.size, stride):
        s = k // (f * oh * ow)
        ch = (k // (oh * ow)) % f
        i = (k // ow) % oh
        j = k % ow
        out[s, ch, i, j] = _apply(y[ch, i, j, s], code, param)


@cuda.jit
def _pad_lanes(x, ph, pw, out):
    _, h, w, _ = x.shape
    _, hp, wp, nv = out.shape
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for k in range(start, out.size, stride):
        ch = k // (hp * wp * nv)
        yy = (k // (wp * nv)) % hp
        xx = (k // nv) % wp
        s = k % nv
        i, j = yy - ph, xx - pw
        if 0 <= i < h and 0 <= j < w:
            out[ch, yy, xx, s] = x[ch, i, j, s]
        else:
            out[ch, yy, xx, s] = 0.0


@cuda.jit
def _conv_lanes(xl, W, b, kh, kw, ph, pw, out):
    c, height, width = xl.shape[0], xl.shape[1], xl.shape[2]
    n_filters, oh, ow, nv = out.shape
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for k in range(start, out.size, stride):
        f = k // (oh * ow * nv)
        i = (k // (ow * nv)) % oh
        j = (k // nv) % ow
        s = k % nv
        total = 0.0
        for ch in range(c):
            for di in range(max(0, ph - i), min(kh, height + ph - i)):
                for dj in range(max(0, pw - j), min(kw, width + pw - j)):
                    total += (W[(ch * kh + di) * kw + dj, f]
                              * xl[ch, i + di - ph, j + dj - pw, s])
        out[f, i, j, s] = total + b[f]


@cuda.jit
def _conv_lanes_weight_grad(xl, dl, qh, qw, kh, kw, dW):
    hp, wp, nv = xl.shape[1], xl.shape[2], xl.shape[3]
    oh, ow = hp - kh + 1, wp - kw + 1
    n_taps, n_filters = dW.shape
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for k in range(start, dW.size, stride):
        t, f = k // n_filters, k % n_filters
        ch = t // (kh * kw)
        di = (t // kw) % kh
        dj = t % kw
        total = 0.0
        for i in range(oh):
            for j in range(ow):
                for s in range(nv):
                    total += xl[ch, i + di, j + dj, s] * dl[f, qh + i, qw + j, s]
        dW[t, f] = total


def to_lanes(x, ph, pw, out):
    """``out[c, ph + i, pw + j, s] = x[s, c, i, j]``, zero in the padding and for ``s >= N``."""
    check_device(x, out)
    _to_lanes[grid(out.size)](x, ph, pw, out)


def from_lanes(y, code, param, out):
    """``out[s, f, i, j] = g(y[f, i, j, s])`` for the first N samples."""
    check_device(y, out)
    _from_lanes[grid(out.size)](y, code, param, out)


def pad_lanes(x, ph, pw, out):
    """``out[c, ph + i, pw + j, s] = x[c, i, j, s]``, zero in the ring around."""
    check_device(x, out)
    _pad_lanes[grid(out.size)](x, ph, pw, out)


def conv_lanes(xl, W, b, kh, kw, ph, pw, out):
    """``out[f, i, j, s] = b[f] + sum_(c, di, dj) W[(c, di, dj), f] * xp[c, i + di, j + dj, s]``,
    ``xp`` being ``xl`` with ``ph`` (``pw``) rows (columns) of zeros around."""
    check_device(xl, W, b, out)
    _conv_lanes[grid(out.size)](xl, W, b, kh, kw, ph, pw, out)


def conv_lanes_weight_grad(xl, dl, qh, qw, kh, kw, dW):
    """``dW[(c, di, dj), f] = sum_(i, j, s) xl[c, i+di, j+dj, s] * dl[f, qh+i, qw+j, s]``."""
    check_device(xl, dl, dW)
    _conv_lanes_weight_grad[grid(dW.size)](xl, dl, qh, qw, kh, kw, dW)
