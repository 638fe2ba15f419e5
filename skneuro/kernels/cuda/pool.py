"""CUDA siblings of :mod:`skneuro.kernels.cpu.pool`."""

from numba import cuda

from skneuro.kernels.cuda._launch import check_device, grid, kernel


@kernel
def _max_forward(x, kh, kw, sh, sw, out, argmax):
    n, c, h, w = x.shape
    oh, ow = out.shape[2], out.shape[3]
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for k in range(start, n * c * oh * ow, stride):
        s = k // (c * oh * ow)
        ch = (k // (oh * ow)) % c
        i = (k // ow) % oh
        j = k % ow
        y0 = i * sh
        x0 = j * sw
        best = x[s, ch, y0, x0]
        where = y0 * w + x0
        for y in range(y0, min(y0 + kh, h)):
            for xx in range(x0, min(x0 + kw, w)):
                if x[s, ch, y, xx] > best:
                    best = x[s, ch, y, xx]
                    where = y * w + xx
        out[s, ch, i, j] = best
        argmax[s, ch, i, j] = where


@kernel
def _max_backward(grad, argmax, dx):
    # One thread per input element, gathering from the outputs that chose it
    # (windows may overlap), in a fixed order.
    n, c, h, w = dx.shape
    oh, ow = grad.shape[2], grad.shape[3]
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for k in range(start, n * c * h * w, stride):
        s = k // (c * h * w)
        ch = (k // (h * w)) % c
        flat = k % (h * w)
        total = 0.0
        for i in range(oh):
            for j in range(ow):
                if argmax[s, ch, i, j] == flat:
                    total += grad[s, ch, i, j]
        dx[s, ch, flat // w, flat % w] = total


@kernel
def _avg_forward(x, kh, kw, sh, sw, out):
    n, c, h, w = x.shape
    oh, ow = out.shape[2], out.shape[3]
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for k in range(start, n * c * oh * ow, stride):
        s = k // (c * oh * ow)
        ch = (k // (oh * ow)) % c
        i = (k // ow) % oh
        j = k % ow
        y0 = i * sh
        x0 = j * sw
        y1 = min(y0 + kh, h)
        x1 = min(x0 + kw, w)
        acc = 0.0
        for y in range(y0, y1):
            for xx in range(x0, x1):
                acc += x[s, ch, y, xx]
        out[s, ch, i, j] = acc / ((y1 - y0) * (x1 - x0))


@kernel
def _avg_backward(grad, kh, kw, sh, sw, dx):
    n, c, h, w = dx.shape
    oh, ow = grad.shape[2], grad.shape[3]
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for k in range(start, n * c * h * w, stride):
        s = k // (c * h * w)
        ch = (k // (h * w)) % c
        y = (k // w) % h
        xx = k % w
        total = 0.0
        for i in range(oh):
            y0 = i * sh
            y1 = min(y0 + kh, h)
            if y < y0 or y >= y1:
                continue
            for j in range(ow):
                x0 = j * sw
                x1 = min(x0 + kw, w)
                if xx < x0 or xx >= x1:
                    continue
                total += grad[s, ch, i, j] / ((y1 - y0) * (x1 - x0))
        dx[s, ch, y, xx] = total


def max_pool_forward(x, kh, kw, sh, sw, out, argmax):
    """Window maxima and their flat input indices."""
    check_device(x, out, argmax)
    _max_forward[grid(out.size)](x, kh, kw, sh, sw, out, argmax)


def max_pool_backward(grad, argmax, dx):
    """Route each output's gradient to the input that was its maximum."""
    check_device(grad, argmax, dx)
    _max_backward[grid(dx.size)](grad, argmax, dx)


def avg_pool_forward(x, kh, kw, sh, sw, out):
    """Window means."""
    check_device(x, out)
    _avg_forward[grid(out.size)](x, kh, kw, sh, sw, out)


def avg_pool_backward(grad, kh, kw, sh, sw, dx):
    """Spread each output's gradient evenly over its window."""
    check_device(grad, dx)
    _avg_backward[grid(dx.size)](grad, kh, kw, sh, sw, dx)
