"""The kernels of a network's lanes region against plain-numpy references.

The references work in the samples layout (N, C, ...); arrays go into lanes
(C, H, W, NV) with ``naive.to_lanes``. Lanes past the batch carry an all-zero
sample through a region, so the expected value of every lane, real or not, is
the reference applied to the batch padded with zero samples; gradients enter
with zeros in those lanes and must leave with zeros there.
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal

from skneuro.kernels.cpu import activations, lanes, lanes_layers
from tests import naive

VARIANTS = ["serial", "parallel"]
TOL = {np.float32: dict(rtol=2e-5, atol=2e-5), np.float64: dict(rtol=1e-10, atol=1e-10)}
ACTIVATIONS = [("identity", 1.0), ("silu", 1.0), ("sigmoid", 1.5), ("leaky_relu", 0.1)]


def _in_lanes(x, nv):
    """(N, C, ...) -> (C, ..., NV), zero samples past N."""
    n = x.shape[0]
    out = np.zeros(x.shape[1:] + (nv,), x.dtype)
    out[..., :n] = np.moveaxis(x, 0, -1)
    return out


def _padded(x, nv):
    """The batch with zero samples up to NV."""
    out = np.zeros((nv,) + x.shape[1:], x.dtype)
    out[:x.shape[0]] = x
    return out


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@given(c=st.integers(1, 3), h=st.integers(1, 5), w=st.integers(1, 5), ph=st.integers(0, 2),
       pw=st.integers(0, 2), n=st.integers(1, 40), seed=st.integers(0, 2**16))
def test_pad_lanes(variant, dtype, c, h, w, ph, pw, n, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, c, h, w)).astype(dtype)
    nv = lanes.lanes_size(n)
    xl = naive.to_lanes(x, 0, 0, nv)
    out = np.full((c, h + 2 * ph, w + 2 * pw, nv), np.nan, dtype)
    # Both compiled bodies: whole vectors (contiguous lanes) and element loops.
    getattr(lanes._pad_lanes_vectors, variant)(xl, ph, pw, out)
    assert_array_equal(out, naive.to_lanes(x, ph, pw, nv))
    out[...] = np.nan
    getattr(lanes._pad_lanes_scalar, variant)(xl, ph, pw, out)
    assert_array_equal(out, naive.to_lanes(x, ph, pw, nv))


def test_pad_lanes_takes_the_element_loops_for_strided_lanes(rng):
    x = rng.normal(size=(3, 2, 2, 4)).astype(np.float32)
    xl = naive.to_lanes(x, 0, 0, 64)[..., ::2]  # 32 lanes, not contiguous
    out = np.full((2, 4, 8, 32), np.nan, np.float32)
    lanes.pad_lanes(xl, 1, 2, out)
    expected = np.zeros_like(out)
    expected[:, 1:3, 2:6] = xl
    assert_array_equal(out, expected)


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("name, slope", ACTIVATIONS)
def test_bias_activation_lanes(variant, name, slope, rng):
    y = rng.normal(size=(3, 5, 32)).astype(np.float32)
    b = rng.normal(size=3).astype(np.float32)
    out = np.full_like(y, np.nan)
    getattr(lanes_layers.bias_activation_lanes, variant)(
        y, b, activations.CODES[name], np.float32(slope), out)
    assert_allclose(out, naive.activation(y + b[:, None, None], name, slope),
                    **TOL[np.float32])


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name, slope", ACTIVATIONS)
@given(n=st.integers(1, 40), groups=st.integers(1, 3), per=st.integers(1, 3),
       p=st.integers(1, 9), seed=st.integers(0, 2**16))
def test_group_norm_lanes(variant, dtype, name, slope, n, groups, per, p, seed):
    rng = np.random.default_rng(seed)
    c = groups * per
    x = (rng.normal(size=(n, c, p)) * 3 + 1).astype(dtype)
    gamma = rng.normal(size=c).astype(dtype)
    beta = rng.normal(size=c).astype(dtype)
    nv = lanes.lanes_size(n)
    code, param = activations.CODES[name], dtype(slope)
    xl = _in_lanes(x, nv)
    out = np.full_like(xl, np.nan)
    xhat = np.full_like(xl, np.nan)
    inv_std = np.full((groups, nv), np.nan)
    getattr(lanes_layers.group_norm_lanes_forward, variant)(
        xl, groups, gamma, beta, 1e-5, code, param, out, xhat, inv_std)
    full = _padded(x, nv).astype(np.float64)
    expected = naive.activation(naive.group_norm(full, groups, gamma.astype(np.float64),
                                                 beta.astype(np.float64), 1e-5), name, slope)
    # x - mean in the input's precision: an error of an ulp of the values,
    # times 1/std and gamma (a small group can have a small spread).
    rounding = np.finfo(dtype).eps * np.abs(x).max() * np.abs(gamma).max() * inv_std.max()
    assert_allclose(out, _in_lanes(expected, nv), rtol=TOL[dtype]["rtol"],
                    atol=TOL[dtype]["atol"] + 4 * rounding)

    grad = rng.normal(size=(n, c, p)).astype(dtype)
    dx = np.full_like(xl, np.nan)
    dgamma = np.full_like(gamma, np.nan)
    dbeta = np.full_like(beta, np.nan)
    getattr(lanes_layers.group_norm_lanes_backward, variant)(
        _in_lanes(grad, nv), xhat, inv_std, gamma, beta, groups, code, param, dx, dgamma,
        dbeta)
    ref_dx, ref_dgamma, ref_dbeta = naive.group_norm_grads(
        x.astype(np.float64), groups, gamma.astype(np.float64), beta.astype(np.float64),
        1e-5, name, slope, grad.astype(np.float64))
    tol = dict(rtol=TOL[dtype]["rtol"] * 10, atol=TOL[dtype]["atol"] * 10 * n)
    assert_allclose(dx, _in_lanes(ref_dx, nv), **tol)  # zeros past the batch
    assert_allclose(dgamma, ref_dgamma, **tol)
    assert_allclose(dbeta, ref_dbeta, **tol)


@pytest.mark.parametrize("variant", VARIANTS)
@given(n=st.integers(1, 40), c=st.integers(1, 4), p=st.integers(1, 6),
       seed=st.integers(0, 2**16))
def test_channel_vector_add_and_its_sums(variant, n, c, p, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, c, p)).astype(np.float32)
    e = rng.normal(size=(n, c)).astype(np.float32)
    nv = lanes.lanes_size(n)
    out = np.full((c, p, nv), np.nan, np.float32)
    getattr(lanes_layers.add_channel_vector_lanes, variant)(_in_lanes(x, nv), e, out)
    assert_allclose(out, _in_lanes(x + e[:, :, None], nv), **TOL[np.float32])
    grad = rng.normal(size=(n, c, p)).astype(np.float32)
    sums = np.full((n, c), np.nan, np.float32)
    getattr(lanes_layers.channel_sums_lanes, variant)(_in_lanes(grad, nv), sums)
    assert_allclose(sums, grad.sum(axis=2), **TOL[np.float32])


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("window", [(2, 2, 2, 2), (3, 2, 2, 1), (1, 3, 1, 2)])
@given(n=st.integers(1, 40), h=st.integers(1, 6), w=st.integers(1, 6),
       seed=st.integers(0, 2**16))
def test_average_pooling_lanes(variant, window, n, h, w, seed):
    from skneuro.kernels.codes import pooled_size

    kh, kw, sh, sw = window
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 2, h, w))
    nv = lanes.lanes_size(n)
    oh, ow = pooled_size(h, kh, sh), pooled_size(w, kw, sw)
    out = np.full((2, oh, ow, nv), np.nan)
    getattr(lanes_layers.avg_pool_lanes_forward, variant)(_in_lanes(x, nv), kh, kw, sh, sw,
                                                          out)
    expected = naive.pool(x, kh, kw, sh, sw, oh, ow, np.mean)
    assert_allclose(out, _in_lanes(expected, nv), **TOL[np.float64])
    # The backward pass is the adjoint: <dx, x> == <grad, pool(x)>.
    grad = _in_lanes(rng.normal(size=(n, 2, oh, ow)), nv)
    dx = np.full((2, h, w, nv), np.nan)
    getattr(lanes_layers.avg_pool_lanes_backward, variant)(grad, kh, kw, sh, sw, dx)
    assert_allclose(np.vdot(dx, _in_lanes(x, nv)), np.vdot(grad, out), rtol=1e-10)
    assert not dx[..., n:].any()


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("window", [(2, 2, 2, 2), (3, 2, 2, 1), (1, 3, 1, 2)])
@given(n=st.integers(1, 40), h=st.integers(1, 6), w=st.integers(1, 6),
       seed=st.integers(0, 2**16))
def test_max_pooling_lanes_is_the_samples_kernel_in_lanes(variant, window, n, h, w, seed):
    """The same maxima, the same winners (ties to the first in window order,
    rounded values make many) and the same routed gradients, to the bit."""
    from skneuro.kernels.codes import pooled_size
    from skneuro.kernels.cpu import pool

    kh, kw, sh, sw = window
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 2, h, w)).round(1).astype(np.float32)
    nv = lanes.lanes_size(n)
    oh, ow = pooled_size(h, kh, sh), pooled_size(w, kw, sw)
    out = np.empty((n, 2, oh, ow), np.float32)
    argmax = np.empty((n, 2, oh, ow), np.int64)
    pool.max_pool_forward(x, kh, kw, sh, sw, out, argmax)
    lanes_out = np.full((2, oh, ow, nv), np.nan, np.float32)
    lanes_argmax = np.full((2, oh, ow, nv), -1, np.int32)
    getattr(lanes_layers.max_pool_lanes_forward, variant)(_in_lanes(x, nv), kh, kw, sh, sw,
                                                          lanes_out, lanes_argmax)
    assert_array_equal(lanes_out[..., :n], _in_lanes(out, nv)[..., :n])
    assert_array_equal(lanes_argmax[..., :n], _in_lanes(argmax, nv)[..., :n])
    grad = rng.normal(size=(n, 2, oh, ow)).astype(np.float32)
    dx = np.empty((n, 2, h, w), np.float32)
    pool.max_pool_backward(grad, argmax, dx)
    lanes_dx = np.full((2, h, w, nv), np.nan, np.float32)
    getattr(lanes_layers.max_pool_lanes_backward, variant)(_in_lanes(grad, nv), lanes_argmax,
                                                           lanes_dx)
    assert_array_equal(lanes_dx[..., :n], _in_lanes(dx, nv)[..., :n])
    assert not lanes_dx[..., n:].any()


@pytest.mark.parametrize("variant", VARIANTS)
@given(n=st.integers(1, 40), h=st.integers(1, 4), w=st.integers(1, 4), sh=st.integers(1, 3),
       sw=st.integers(1, 3), seed=st.integers(0, 2**16))
def test_upsampling_lanes(variant, n, h, w, sh, sw, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 2, h, w)).astype(np.float32)
    nv = lanes.lanes_size(n)
    out = np.full((2, h * sh, w * sw, nv), np.nan, np.float32)
    getattr(lanes_layers.upsample_lanes_forward, variant)(_in_lanes(x, nv), sh, sw, out)
    assert_array_equal(out, _in_lanes(naive.upsample_nearest(x, sh, sw), nv))
    grad = rng.normal(size=(n, 2, h * sh, w * sw)).astype(np.float32)
    dx = np.full((2, h, w, nv), np.nan, np.float32)
    getattr(lanes_layers.upsample_lanes_backward, variant)(_in_lanes(grad, nv), sh, sw, dx)
    assert_allclose(dx, _in_lanes(naive.upsample_nearest_grad(grad, sh, sw), nv),
                    **TOL[np.float32])


def test_group_norm_lanes_keeps_float64_precision_far_from_zero(rng):
    # Two passes (the mean, then the squares about it), as in the samples
    # layout: one pass, E[x^2] - E[x]^2, lost 1e-3 of the output at an offset
    # of 1e6.
    n, c, p = 5, 4, 16
    x = rng.normal(size=(n, c, p)) + 1e6
    gamma, beta = np.ones(c), np.zeros(c)
    nv = lanes.lanes_size(n)
    out = np.empty((c, p, nv))
    lanes_layers.group_norm_lanes_forward(_in_lanes(x, nv), 2, gamma, beta, 1e-5, 0, 1.0, out,
                                          np.empty_like(out), np.empty((2, nv)))
    expected = naive.group_norm(x, 2, gamma, beta, 1e-5)
    assert_allclose(out[..., :n], np.moveaxis(expected, 0, -1), rtol=0, atol=1e-8)
