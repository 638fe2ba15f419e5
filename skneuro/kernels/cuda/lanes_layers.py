"""CUDA siblings of :mod:`skneuro.kernels.cpu.lanes_layers` (same layouts: samples last).

Arrays are (C, P, NV) or (C, H, W, NV) and, as on the CPU, kernels run over
all NV lanes (those past the batch carry an all-zero sample's values). One
thread per output element; the group statistics one thread per (group,
lane), summing in the CPU kernel's order (float64, values and squares in one
pass); the parameter gradients one thread per channel, lanes in order. No
atomics, so results do not depend on the launch.
"""

import math

from numba import cuda, float64

from skneuro.kernels.cpu.activations import GELU, IDENTITY, SILU
from skneuro.kernels.cuda._launch import check_device, grid
from skneuro.kernels.cuda.activations import _apply, _derivative_times


@cuda.jit
def _bias_activation(y, b, code, param, out):
    _, p, nv = y.shape
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for k in range(start, y.size, stride):
        f = k // (p * nv)
        q = (k // nv) % p
        s = k % nv
        out[f, q, s] = _apply(y[f, q, s] + b[f], code, param)


@cuda.jit
def _group_stats(x, groups, eps, mean, inv_std):
    c, p, nv = x.shape
    per = c // groups
    count = per * p
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for k in range(start, groups * nv, stride):
        g, s = k // nv, k % nv
        total = 0.0
        for ch in range(g * per, (g + 1) * per):
            for q in range(p):
                total += float64(x[ch, q, s])
        m = total / count
        spread = 0.0  # about the mean, as the CPU kernel
        for ch in range(g * per, (g + 1) * per):
            for q in range(p):
                d = float64(x[ch, q, s]) - m
                spread += d * d
        mean[g, s] = m
        inv_std[g, s] = 1.0 / math.sqrt(spread / count + eps)


@cuda.jit
def _group_normalize(x, groups, gamma, beta, mean, inv_std, code, param, out, xhat):
    c, p, nv = x.shape
    per = c // groups
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for k in range(start, x.size, stride):
        ch = k // (p * nv)
        q = (k // nv) % p
        s = k % nv
        g = ch // per
        h = (x[ch, q, s] - mean[g, s]) * inv_std[g, s]
        xhat[ch, q, s] = h
        out[ch, q, s] = _apply(gamma[ch] * h + beta[ch], code, param)


@cuda.jit
def _output_grad(grad, xhat, gamma, beta, code, param, dy):
    # The gradient with respect to the normalized output, before the activation.
    _, p, nv = grad.shape
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for k in range(start, grad.size, stride):
        ch = k // (p * nv)
        q = (k // nv) % p
        s = k % nv
        y = gamma[ch] * xhat[ch, q, s] + beta[ch]
        a = y if code == SILU or code == GELU else _apply(y, code, param)
        dy[ch, q, s] = _derivative_times(grad[ch, q, s], a, code, param)


@cuda.jit
def _param_grads(dy, xhat, dgamma, dbeta):
    # Each lane's sum over positions, then the lanes in order, as on the CPU.
    c, p, nv = dy.shape
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for ch in range(start, c, stride):
        a = 0.0
        b = 0.0
        for s in range(nv):
            lane_a = 0.0
            lane_b = 0.0
            for q in range(p):
                gv = float64(dy[ch, q, s])
                lane_a += gv * float64(xhat[ch, q, s])
                lane_b += gv
            a += lane_a
            b += lane_b
        dgamma[ch] = a
        dbeta[ch] = b


@cuda.jit
def _group_means(dy, xhat, gamma, groups, mean_d, mean_dx):
    c, p, nv = dy.shape
    per = c // groups
    count = per * p
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for k in range(start, groups * nv, stride):
        g, s = k // nv, k % nv
        sum_d = 0.0
        sum_dx = 0.0
        for ch in range(g * per, (g + 1) * per):
            scale = float64(gamma[ch])
            for q in range(p):
                v = float64(dy[ch, q, s]) * scale
                sum_d += v
                sum_dx += v * float64(xhat[ch, q, s])
        mean_d[g, s] = sum_d / count
        mean_dx[g, s] = sum_dx / count


@cuda.jit
def _input_grad(dy, xhat, inv_std, gamma, groups, mean_d, mean_dx, dx):
    c, p, nv = dy.shape
    per = c // groups
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for k in range(start, dy.size, stride):
        ch = k // (p * nv)
        q = (k // nv) % p
        s = k % nv
        g = ch // per
        dx[ch, q, s] = inv_std[g, s] * (dy[ch, q, s] * gamma[ch] - mean_d[g, s]
                                        - xhat[ch, q, s] * mean_dx[g, s])


@cuda.jit
def _add_channel_vector(x, e, out):
    _, p, nv = x.shape
    n = e.shape[0]
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for k in range(start, x.size, stride):
        ch = k // (p * nv)
        q = (k // nv) % p
        s = k % nv
        if s < n:
            out[ch, q, s] = x[ch, q, s] + e[s, ch]
        else:
            out[ch, q, s] = x[ch, q, s]


@cuda.jit
def _channel_sums(grad, out):
    p = grad.shape[1]
    n, c = out.shape
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for k in range(start, n * c, stride):
        s, ch = k // c, k % c
        total = 0.0
        for q in range(p):
            total += grad[ch, q, s]
        out[s, ch] = total


@cuda.jit
def _avg_pool_forward(x, kh, kw, sh, sw, out):
    h, w = x.shape[1], x.shape[2]
    _, oh, ow, nv = out.shape
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for k in range(start, out.size, stride):
        ch = k // (oh * ow * nv)
        i = (k // (ow * nv)) % oh
        j = (k // nv) % ow
        s = k % nv
        y0 = i * sh
        x0 = j * sw
        y1 = min(y0 + kh, h)
        x1 = min(x0 + kw, w)
        acc = 0.0
        for y in range(y0, y1):
            for xx in range(x0, x1):
                acc += x[ch, y, xx, s]
        out[ch, i, j, s] = acc / ((y1 - y0) * (x1 - x0))


@cuda.jit
def _avg_pool_backward(grad, kh, kw, sh, sw, dx):
    # One thread per input element, gathering from the windows that hold it in
    # the CPU kernel's order (windows may overlap).
    _, h, w, nv = dx.shape
    oh, ow = grad.shape[1], grad.shape[2]
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for k in range(start, dx.size, stride):
        ch = k // (h * w * nv)
        y = (k // (w * nv)) % h
        xx = (k // nv) % w
        s = k % nv
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
                total += grad[ch, i, j, s] / ((y1 - y0) * (x1 - x0))
        dx[ch, y, xx, s] = total


@cuda.jit
def _upsample_forward(x, sh, sw, out):
    _, oh, ow, nv = out.shape
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for k in range(start, out.size, stride):
        ch = k // (oh * ow * nv)
        i = (k // (ow * nv)) % oh
        j = (k // nv) % ow
        s = k % nv
        out[ch, i, j, s] = x[ch, i // sh, j // sw, s]


@cuda.jit
def _upsample_backward(grad, sh, sw, dx):
    # One thread per input element sums its own block, rows then columns.
    _, h, w, nv = dx.shape
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for k in range(start, dx.size, stride):
        ch = k // (h * w * nv)
        y = (k // (w * nv)) % h
        xx = (k // nv) % w
        s = k % nv
        total = 0.0
        for r in range(sh):
            for q in range(sw):
                total += grad[ch, y * sh + r, xx * sw + q, s]
        dx[ch, y, xx, s] = total


def bias_activation_lanes(y, b, code, param, out):
    """``out[f, p, s] = g(y[f, p, s] + b[f])`` over (F, P, NV); ``out`` may be ``y``."""
    check_device(y, b, out)
    _bias_activation[grid(y.size)](y, b, code, param, out)


def group_norm_lanes_forward(x, groups, gamma, beta, eps, code, param, out, xhat, inv_std):
    """Group normalization of ``x`` (C, P, NV) and activation ``code`` into ``out``;
    ``xhat`` and ``inv_std`` (G, NV, float64) for the backward pass."""
    check_device(x, gamma, beta, out, xhat, inv_std)
    mean = cuda.device_array(inv_std.shape, dtype=inv_std.dtype)
    _group_stats[grid(inv_std.size)](x, groups, eps, mean, inv_std)
    _group_normalize[grid(x.size)](x, groups, gamma, beta, mean, inv_std, code, param,
                                   out, xhat)


def group_norm_lanes_backward(grad, xhat, inv_std, gamma, beta, groups, code, param, dx,
                              dgamma, dbeta):
    """Gradients of :func:`group_norm_lanes_forward` with respect to the input, ``gamma``
    and ``beta``."""
    check_device(grad, xhat, inv_std, gamma, beta, dx, dgamma, dbeta)
    if code != IDENTITY:
        # dy into dx; the kernels below read it there (the input gradient
        # elementwise in place, as on the CPU).
        _output_grad[grid(grad.size)](grad, xhat, gamma, beta, code, param, dx)
        grad = dx
    mean_d = cuda.device_array(inv_std.shape, dtype=inv_std.dtype)
    mean_dx = cuda.device_array(inv_std.shape, dtype=inv_std.dtype)
    _group_means[grid(inv_std.size)](grad, xhat, gamma, groups, mean_d, mean_dx)
    _param_grads[grid(grad.shape[0])](grad, xhat, dgamma, dbeta)
    _input_grad[grid(grad.size)](grad, xhat, inv_std, gamma, groups, mean_d, mean_dx, dx)


def add_channel_vector_lanes(x, e, out):
    """``out[c, p, s] = x[c, p, s] + e[s, c]`` for the N rows of ``e`` (nothing added past
    them)."""
    check_device(x, e, out)
    _add_channel_vector[grid(x.size)](x, e, out)


def channel_sums_lanes(grad, out):
    """``out[s, c] = sum_p grad[c, p, s]`` for the N rows of ``out``."""
    check_device(grad, out)
    _channel_sums[grid(out.size)](grad, out)


def avg_pool_lanes_forward(x, kh, kw, sh, sw, out):
    """Window means of ``x`` (C, H, W, NV) into ``out`` (C, OH, OW, NV), windows clipped
    at the edges."""
    check_device(x, out)
    _avg_pool_forward[grid(out.size)](x, kh, kw, sh, sw, out)


def avg_pool_lanes_backward(grad, kh, kw, sh, sw, dx):
    """Spread each output's gradient evenly over its window (``dx``: (C, H, W, NV))."""
    check_device(grad, dx)
    _avg_pool_backward[grid(dx.size)](grad, kh, kw, sh, sw, dx)


def upsample_lanes_forward(x, sh, sw, out):
    """``out[c, i, j, s] = x[c, i // sh, j // sw, s]`` (nearest neighbour)."""
    check_device(x, out)
    _upsample_forward[grid(out.size)](x, sh, sw, out)


def upsample_lanes_backward(grad, sh, sw, dx):
    """``dx[c, y, x, s]`` = the sum of ``grad`` over the ``sh x sw`` block of (y, x)."""
    check_device(grad, dx)
    _upsample_backward[grid(dx.size)](grad, sh, sw, dx)
