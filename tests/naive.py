"""Plain-numpy references, written independently of the kernels they check."""

import numpy as np


def activation(h, name, slope):
    if name == "identity":
        return h
    if name == "step":
        return (h > 0).astype(h.dtype)
    if name == "sigmoid":
        return 1.0 / (1.0 + np.exp(-slope * h))
    if name == "tanh":
        return np.tanh(h)
    if name == "relu":
        return np.maximum(h, 0)
    if name == "leaky_relu":
        return np.where(h > 0, h, slope * h)
    if name == "silu":
        return h / (1.0 + np.exp(-h))
    if name == "gelu":  # the tanh approximation
        return 0.5 * h * (1.0 + np.tanh(np.sqrt(2 / np.pi) * (h + 0.044715 * h**3)))
    raise ValueError(name)


def activation_derivative(h, name, slope):
    """Derivative with respect to the pre-activation h."""
    if name == "identity":
        return np.ones_like(h)
    if name == "step":
        return np.zeros_like(h)
    if name == "sigmoid":
        s = 1.0 / (1.0 + np.exp(-slope * h))
        return slope * s * (1 - s)
    if name == "tanh":
        return 1 - np.tanh(h) ** 2
    if name == "relu":
        return (h > 0).astype(h.dtype)
    if name == "leaky_relu":
        return np.where(h > 0, 1.0, slope).astype(h.dtype)
    if name == "silu":
        s = 1.0 / (1.0 + np.exp(-h))
        return s + h * s * (1 - s)
    if name == "gelu":
        c = np.sqrt(2 / np.pi)
        t = np.tanh(c * (h + 0.044715 * h**3))
        return 0.5 * (1 + t) + 0.5 * h * (1 - t**2) * c * (1 + 3 * 0.044715 * h**2)
    raise ValueError(name)


def softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def squared_error(a, t, w):
    """Weighted mean over rows of 1/2 sum_j (a - t)^2, and its gradient."""
    rows = 0.5 * ((a - t) ** 2).sum(axis=1)
    return float(w @ rows), w[:, None] * (a - t)


def softmax_cross_entropy(z, labels, w):
    p = softmax(z)
    rows = -np.log(p[np.arange(len(labels)), labels])
    onehot = np.eye(z.shape[1])[labels]
    return float(w @ rows), w[:, None] * (p - onehot)


def sigmoid_binary_cross_entropy(z, t, w):
    p = 1.0 / (1.0 + np.exp(-z))
    rows = -(t * np.log(p) + (1 - t) * np.log(1 - p)).sum(axis=1)
    return float(w @ rows), w[:, None] * (p - t)


def poisson_deviance(z, t, w):
    from scipy.special import xlogy

    rows = (np.exp(z) - t * z + xlogy(t, t) - t).sum(axis=1)
    return float(w @ rows), w[:, None] * (np.exp(z) - t)


def sgd(w, g, v, lr, momentum, nesterov, l2):
    g = g + l2 * w
    v_new = momentum * v - lr * g
    if nesterov:
        return w + momentum * v_new - lr * g, v_new
    return w + v_new, v_new


def adam(w, g, m, v, t, lr, b1, b2, eps, l2):
    g = g + l2 * w
    m = b1 * m + (1 - b1) * g
    v = b2 * v + (1 - b2) * g * g
    m_hat = m / (1 - b1**t)
    v_hat = v / (1 - b2**t)
    # scikit-learn's form of Kingma & Ba: eps added to sqrt(v), with the bias
    # correction moved onto the learning rate.
    lr_t = lr * np.sqrt(1 - b2**t) / (1 - b1**t)
    return w - lr_t * m / (np.sqrt(v) + eps), m, v, m_hat, v_hat


def rmsprop(w, g, s, lr, rho, eps, l2):
    g = g + l2 * w
    s = rho * s + (1 - rho) * g * g
    return w - lr * g / (np.sqrt(s) + eps), s


def adagrad(w, g, s, lr, eps, l2):
    g = g + l2 * w
    s = s + g * g
    return w - lr * g / (np.sqrt(s) + eps), s


def perceptron_epoch(X, T, W, order, eta, sw, fit_intercept=True, shrink=1.0, l1=0.0):
    """The course's rule, sample by sample, bias input -1 in the last column;
    an L2 scaling of the input weights before each update and an L1 step
    towards zero after it; the perceptron loss of each neuron before it."""
    W = W.copy()
    errors = 0
    loss = np.zeros(W.shape[0])
    for i in order:
        x = np.append(X[i], -1.0)
        h = W @ x
        s = 2 * T[i] - 1
        loss += np.maximum(0.0, -s * h)  # unweighted, as scikit-learn's stopping rule
        a = (h > 0).astype(float)
        err = a - T[i]
        if np.any(err != 0):
            errors += 1
        W[:, :-1] *= shrink
        step = eta * sw[i] * np.outer(err, x)
        if not fit_intercept:
            step[:, -1] = 0.0
        W -= step
        W[:, :-1] = np.sign(W[:, :-1]) * np.maximum(np.abs(W[:, :-1]) - l1, 0.0)
    return W, errors, loss


def hash_uniform(seed, step, i):
    """SplitMix64 of seed + step*C + i*golden, top 24 bits as a float in [0, 1)."""
    mask = (1 << 64) - 1
    z = (seed + step * 0xD1B54A32D192ED03 + i * 0x9E3779B97F4A7C15) & mask
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask
    z ^= z >> 31
    return (z >> 40) / float(1 << 24)


def im2col(x, kh, kw, sh, sw, ph, pw):
    """(N, C, H, W) -> (C*KH*KW, N*OH*OW) by explicit windows over a padded copy."""
    n, c, h, w = x.shape
    oh = (h + 2 * ph - kh) // sh + 1
    ow = (w + 2 * pw - kw) // sw + 1
    padded = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    cols = np.empty((c * kh * kw, n * oh * ow), dtype=x.dtype)
    for s in range(n):
        for i in range(oh):
            for j in range(ow):
                window = padded[s, :, i * sh:i * sh + kh, j * sw:j * sw + kw]
                cols[:, (s * oh + i) * ow + j] = window.reshape(-1)
    return cols


def pool(x, kh, kw, sh, sw, oh, ow, reduce):
    """Pooling with ``reduce`` over windows clipped at the input's edge."""
    n, c = x.shape[:2]
    out = np.empty((n, c, oh, ow), dtype=x.dtype)
    for i in range(oh):
        for j in range(ow):
            window = x[:, :, i * sh:i * sh + kh, j * sw:j * sw + kw]
            out[:, :, i, j] = reduce(window.reshape(n, c, -1), axis=2)
    return out


def upsample_nearest(x, sh, sw):
    """(N, C, H, W) -> (N, C, H*sh, W*sw), every pixel copied over its block."""
    n, c, h, w = x.shape
    out = np.empty((n, c, h * sh, w * sw), dtype=x.dtype)
    for i in range(h * sh):
        for j in range(w * sw):
            out[:, :, i, j] = x[:, :, i // sh, j // sw]
    return out


def upsample_nearest_grad(grad, sh, sw):
    """The sum of ``grad`` over each pixel's block."""
    n, c, oh, ow = grad.shape
    return grad.reshape(n, c, oh // sh, sh, ow // sw, sw).sum(axis=(3, 5))


def conv_transpose(x, W, kh, kw, sh, sw, ph, pw, oh, ow):
    """Transposed convolution by scattering: every input pixel, times the kernel, is
    added into the output window it came from in the matching convolution.

    ``W`` is (F*KH*KW, C), rows ordered (filter, kernel row, kernel column).
    """
    n, c, h, w = x.shape
    f = W.shape[0] // (kh * kw)
    kernel = W.reshape(f, kh, kw, c)
    out = np.zeros((n, f, oh, ow), dtype=x.dtype)
    for i in range(h):
        for j in range(w):
            for di in range(kh):
                y = i * sh - ph + di
                if not 0 <= y < oh:
                    continue
                for dj in range(kw):
                    xx = j * sw - pw + dj
                    if 0 <= xx < ow:
                        out[:, :, y, xx] += x[:, :, i, j] @ kernel[:, di, dj, :].T
    return out


def group_norm(x, groups, gamma, beta, eps):
    """(N, C, P) normalized per sample over groups of C/G channels, then scaled and shifted."""
    n, c, p = x.shape
    grouped = x.reshape(n, groups, -1)
    mean = grouped.mean(axis=2, keepdims=True)
    var = grouped.var(axis=2, keepdims=True)
    xhat = ((grouped - mean) / np.sqrt(var + eps)).reshape(n, c, p)
    return gamma[None, :, None] * xhat + beta[None, :, None]


def sinusoidal_embedding(t, dim, max_period):
    """Sines then cosines of ``t`` at ``dim // 2`` geometric frequencies."""
    half = dim // 2
    freqs = max_period ** (-np.arange(half) / half)
    angles = np.asarray(t, dtype=np.float64)[:, None] * freqs[None, :]
    out = np.zeros((len(t), dim))
    out[:, :half] = np.sin(angles)
    out[:, half:2 * half] = np.cos(angles)
    return out


def to_lanes(x, ph, pw, nv):
    """(N, C, H, W) -> (C, H + 2*ph, W + 2*pw, NV), samples last, zeros elsewhere."""
    n, c, h, w = x.shape
    out = np.zeros((c, h + 2 * ph, w + 2 * pw, nv), dtype=x.dtype)
    out[:, ph:ph + h, pw:pw + w, :n] = x.transpose(1, 2, 3, 0)
    return out


def conv_lanes(xl, W, b, kh, kw):
    """Stride-1 correlation of lanes (C, HP, WP, NV) with W (C*KH*KW, F), plus b (F,),
    in float64."""
    c, hp, wp, nv = xl.shape
    oh, ow = hp - kh + 1, wp - kw + 1
    weights = np.asarray(W, dtype=np.float64).reshape(c, kh, kw, -1)
    out = np.zeros((weights.shape[3], oh, ow, nv))
    out += np.asarray(b, dtype=np.float64)[:, None, None, None]
    for di in range(kh):
        for dj in range(kw):
            window = np.asarray(xl[:, di:di + oh, dj:dj + ow], dtype=np.float64)
            out += np.einsum("cf,cijs->fijs", weights[:, di, dj], window)
    return out


def conv_lanes_weight_grad(xl, dl, qh, qw, kh, kw):
    """dW[(c, di, dj), f] = sum over positions and samples of input x delta, in float64."""
    c, hp, wp, nv = xl.shape
    oh, ow = hp - kh + 1, wp - kw + 1
    delta = np.asarray(dl[:, qh:qh + oh, qw:qw + ow], dtype=np.float64)
    dW = np.zeros((c, kh, kw, dl.shape[0]))
    for di in range(kh):
        for dj in range(kw):
            window = np.asarray(xl[:, di:di + oh, dj:dj + ow], dtype=np.float64)
            dW[:, di, dj] = np.einsum("cijs,fijs->cf", window, delta)
    return dW.reshape(c * kh * kw, -1)


def group_norm_grads(x, groups, gamma, beta, eps, name, slope, grad):
    """Gradients of ``sum(grad * g(group_norm(x)))`` with respect to x (N, C, P),
    gamma and beta."""
    n, c, p = x.shape
    grouped = x.reshape(n, groups, -1)
    inv = 1.0 / np.sqrt(grouped.var(axis=2, keepdims=True) + eps)
    xhat = ((grouped - grouped.mean(axis=2, keepdims=True)) * inv).reshape(n, c, p)
    y = gamma[None, :, None] * xhat + beta[None, :, None]
    dy = grad * activation_derivative(y, name, slope)
    d = (dy * gamma[None, :, None]).reshape(n, groups, -1)
    xh = xhat.reshape(n, groups, -1)
    dx = inv * (d - d.mean(axis=2, keepdims=True)
                - xh * (d * xh).mean(axis=2, keepdims=True))
    return dx.reshape(n, c, p), (dy * xhat).sum(axis=(0, 2)), dy.sum(axis=(0, 2))


WINOGRAD_G = np.array([[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]])


def winograd_weights(W):
    """(16, C, F): G g G^T of every 3x3 window of W (C*9, F), flattened row by row."""
    c, f = W.shape[0] // 9, W.shape[1]
    g = np.asarray(W, dtype=np.float64).reshape(c, 3, 3, f)
    u = np.einsum("ra,cabf,qb->rqcf", WINOGRAD_G, g, WINOGRAD_G)
    return u.reshape(16, c, f)
