"""CUDA siblings of :mod:`skneuro.kernels.cpu.conv` (same layouts: ``cols`` is
(C*KH*KW, N*OH*OW), the product channel-major (F, N*OH*OW))."""

from numba import cuda

from skneuro.kernels.cuda._launch import check_device, grid
from skneuro.kernels.cuda.activations import _apply, _derivative_times


@cuda.jit
def _im2col(x, kh, kw, sh, sw, ph, pw, cols):
    n, c, h, w = x.shape
    oh = (h + 2 * ph - kh) // sh + 1
    ow = (w + 2 * pw - kw) // sw + 1
    taps, width = cols.shape
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for k in range(start, taps * width, stride):
        tap, pos = k // width, k % width
        s = pos // (oh * ow)
        i = (pos // ow) % oh
        j = pos % ow
        ch = tap // (kh * kw)
        di = (tap // kw) % kh
        dj = tap % kw
        y = i * sh - ph + di
        xx = j * sw - pw + dj
        if 0 <= y < h and 0 <= xx < w:
            cols[tap, pos] = x[s, ch, y, xx]
        else:
            cols[tap, pos] = 0.0


@cuda.jit
def _col2im(cols, kh, kw, sh, sw, ph, pw, dx):
    # One thread per input element: it gathers, in a fixed order, every window
    # position that covers it (no atomics, so the result is deterministic).
    n, c, h, w = dx.shape
    oh = (h + 2 * ph - kh) // sh + 1
    ow = (w + 2 * pw - kw) // sw + 1
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for k in range(start, n * c * h * w, stride):
        s = k // (c * h * w)
        ch = (k // (h * w)) % c
        y = (k // w) % h
        xx = k % w
        total = 0.0
        for di in range(kh):
            top = y + ph - di
            if top < 0 or top % sh != 0:
                continue
            i = top // sh
            if i >= oh:
                continue
            for dj in range(kw):
                left = xx + pw - dj
                if left < 0 or left % sw != 0:
                    continue
                j = left // sw
                if j >= ow:
                    continue
                total += cols[(ch * kh + di) * kw + dj, (s * oh + i) * ow + j]
        dx[s, ch, y, xx] = total


@cuda.jit
def _pad(x, ph, pw, xp):
    n, c, h, w = x.shape
    hp, wp = h + 2 * ph, w + 2 * pw
    plane = hp * wp
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for k in range(start, xp.shape[0], stride):
        value = 0.0
        if k < n * c * plane:
            y = (k % plane) // wp - ph
            xx = k % wp - pw
            if 0 <= y < h and 0 <= xx < w:
                value = x[k // (c * plane), (k // plane) % c, y, xx]
        xp[k] = value


@cuda.jit
def _unpad(xp, ph, pw, x):
    n, c, h, w = x.shape
    hp, wp = h + 2 * ph, w + 2 * pw
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for k in range(start, n * c * h * w, stride):
        plane = k // (h * w)
        y = (k // w) % h
        xx = k % w
        x[plane // c, plane % c, y, xx] = xp[plane * hp * wp + (y + ph) * wp + xx + pw]


@cuda.jit
def _im2col_wide(xp, n, c, hp, wp, kh, kw, rw, cols):
    oh = hp - kh + 1
    span = oh * rw
    taps, width = cols.shape
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for k in range(start, taps * width, stride):
        tap, pos = k // width, k % width
        ch = tap // (kh * kw)
        di = (tap // kw) % kh
        dj = tap % kw
        s = pos // span
        i = (pos % span) // rw
        j = pos % rw
        cols[tap, pos] = xp[(s * c + ch) * hp * wp + (i + di) * wp + dj + j]


@cuda.jit
def _col2im_wide(cols, n, c, hp, wp, kh, kw, rw, dxp):
    # One thread per padded element gathers the taps that cover it, in tap
    # order, from its own plane only (as the CPU kernel, which skips the
    # garbage positions' zeros past a plane); no atomics.
    oh = hp - kh + 1
    ow = wp - kw + 1
    span = oh * rw
    plane = hp * wp
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for k in range(start, dxp.shape[0], stride):
        total = 0.0
        if k < n * c * plane:
            s = k // (c * plane)
            ch = (k // plane) % c
            y = (k % plane) // wp
            x = k % wp
            for di in range(kh):
                for dj in range(kw):
                    i = y - di
                    j = x - dj
                    if 0 <= i < oh and 0 <= j < ow:
                        total += cols[(ch * kh + di) * kw + dj, s * span + i * rw + j]
        dxp[k] = total


@cuda.jit
def _flip_filters(W, c, kh, kw, out):
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for k in range(start, out.size, stride):
        row, ch = k // c, k % c
        f = row // (kh * kw)
        di = (row // kw) % kh
        dj = row % kw
        out[row, ch] = W[(ch * kh + kh - 1 - di) * kw + kw - 1 - dj, f]


@cuda.jit
def _channels_to_samples(y, b, code, param, out):
    n, f, oh, ow = out.shape
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for k in range(start, out.size, stride):
        s = k // (f * oh * ow)
        ch = (k // (oh * ow)) % f
        i = (k // ow) % oh
        j = k % ow
        out[s, ch, i, j] = _apply(y[ch, s, i, j] + b[ch], code, param)


@cuda.jit
def _samples_to_channels(grad, a, code, param, delta):
    f, n, oh, rw = delta.shape
    ow = grad.shape[3]
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for k in range(start, delta.size, stride):
        ch = k // (n * oh * rw)
        s = (k // (oh * rw)) % n
        i = (k // rw) % oh
        j = k % rw
        if j < ow:
            delta[ch, s, i, j] = _derivative_times(grad[s, ch, i, j], a[s, ch, i, j], code,
                                                   param)
        else:
            delta[ch, s, i, j] = 0.0


@cuda.jit
def _conv_direct(xp, W, n, c, hp, wp, kh, kw, product):
    span = (hp - kh + 1) * wp
    plane = hp * wp
    n_filters, width = product.shape
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for k in range(start, n_filters * width, stride):
        f, pos = k // width, k % width
        s, q = pos // span, pos % span
        total = 0.0
        for ch in range(c):
            for di in range(kh):
                row = (s * c + ch) * plane + di * wp + q
                for dj in range(kw):
                    total += W[(ch * kh + di) * kw + dj, f] * xp[row + dj]
        product[f, pos] = total


@cuda.jit
def _conv_direct_weight_grad(xp, delta, n, c, hp, wp, kh, kw, dW):
    span = (hp - kh + 1) * wp
    plane = hp * wp
    taps, n_filters = dW.shape
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for k in range(start, taps * n_filters, stride):
        tap, f = k // n_filters, k % n_filters
        ch = tap // (kh * kw)
        di = (tap // kw) % kh
        dj = tap % kw
        total = 0.0
        for s in range(n):
            row = (s * c + ch) * plane + di * wp + dj
            for q in range(span):
                total += xp[row + q] * delta[f, s * span + q]
        dW[tap, f] = total


@cuda.jit
def _conv_direct_input_grad(delta, W, n, c, hp, wp, kh, kw, dxp):
    span = (hp - kh + 1) * wp
    plane = hp * wp
    n_filters = W.shape[1]
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for k in range(start, dxp.shape[0], stride):
        total = 0.0
        if k < n * c * plane:
            s = k // (c * plane)
            ch = (k // plane) % c
            u = k % plane
            for f in range(n_filters):
                for di in range(kh):
                    for dj in range(kw):
                        q = u - di * wp - dj
                        if 0 <= q < span:
                            total += W[(ch * kh + di) * kw + dj, f] * delta[f, s * span + q]
        dxp[k] = total


def im2col(x, kh, kw, sh, sw, ph, pw, cols):
    """Unfold (N, C, H, W) into (C*KH*KW, N*OH*OW)."""
    check_device(x, cols)
    _im2col[grid(cols.size)](x, kh, kw, sh, sw, ph, pw, cols)


def col2im(cols, kh, kw, sh, sw, ph, pw, dx):
    """Fold (C*KH*KW, N*OH*OW) back into (N, C, H, W), adding overlapping windows."""
    check_device(cols, dx)
    _col2im[grid(dx.size)](cols, kh, kw, sh, sw, ph, pw, dx)


def pad(x, ph, pw, xp):
    """Copy (N, C, H, W) into the flat zero-padded ``xp`` (tail zeroed)."""
    check_device(x, xp)
    _pad[grid(xp.size)](x, ph, pw, xp)


def unpad(xp, ph, pw, x):
    """The inverse of :func:`pad`."""
    check_device(xp, x)
    _unpad[grid(x.size)](xp, ph, pw, x)


def im2col_wide(xp, n, c, hp, wp, kh, kw, rw, cols):
    """Unfold padded planes for a stride-1 convolution, ``rw`` positions per output row."""
    check_device(xp, cols)
    _im2col_wide[grid(cols.size)](xp, n, c, hp, wp, kh, kw, rw, cols)


def col2im_wide(cols, n, c, hp, wp, kh, kw, rw, dxp):
    """The transpose of :func:`im2col_wide`."""
    check_device(cols, dxp)
    _col2im_wide[grid(dxp.size)](cols, n, c, hp, wp, kh, kw, rw, dxp)


def flip_filters(W, c, kh, kw, out):
    """``out[(f, di, dj), ch] = W[(ch, kh-1-di, kw-1-dj), f]``."""
    check_device(W, out)
    _flip_filters[grid(out.size)](W, c, kh, kw, out)


def channels_to_samples(y, b, code, param, out):
    """``out[n, f, i, j] = g(y[f, n, i, j] + b[f])``."""
    check_device(y, b, out)
    _channels_to_samples[grid(out.size)](y, b, code, param, out)


def samples_to_channels(grad, a, code, param, delta):
    """``delta[f, n, i, j] = grad[n, f, i, j] * g'(h)``; zeros for ``j >= OW``."""
    check_device(grad, a, delta)
    _samples_to_channels[grid(delta.size)](grad, a, code, param, delta)


@cuda.jit
def _channel_bias_activation(x, b, code, param, out):
    n, f, p = x.shape
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for k in range(start, n * f * p, stride):
        s = k // (f * p)
        ch = (k // p) % f
        q = k % p
        out[s, ch, q] = _apply(x[s, ch, q] + b[ch], code, param)


def channel_bias_activation(x, b, code, param, out):
    """``out[n, f, p] = g(x[n, f, p] + b[f])`` over (N, F, P); ``out`` may be ``x``."""
    check_device(x, b, out)
    _channel_bias_activation[grid(out.size)](x, b, code, param, out)


def conv_direct(xp, W, n, c, hp, wp, kh, kw, product):
    """Direct stride-1 convolution of padded planes into the wide channel-major product."""
    check_device(xp, W, product)
    _conv_direct[grid(product.size)](xp, W, n, c, hp, wp, kh, kw, product)


def conv_direct_weight_grad(xp, delta, n, c, hp, wp, kh, kw, dW):
    """Weight gradient of :func:`conv_direct`."""
    check_device(xp, delta, dW)
    _conv_direct_weight_grad[grid(dW.size)](xp, delta, n, c, hp, wp, kh, kw, dW)


def conv_direct_input_grad(delta, W, n, c, hp, wp, kh, kw, dxp):
    """Gradient of :func:`conv_direct` into the padded planes."""
    check_device(delta, W, dxp)
    _conv_direct_input_grad[grid(dxp.size)](delta, W, n, c, hp, wp, kh, kw, dxp)
