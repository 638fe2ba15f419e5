"""Every CPU kernel against its plain-numpy reference, in both compiled variants."""

from unittest import mock

import numba
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal
from scipy import sparse

from skneuro.kernels import host
from skneuro.kernels._jit import _OPTIONS, EXACT_FASTMATH, parallel_kernels
from skneuro.kernels.codes import pooled_size
from skneuro.kernels.cpu import (
    activations,
    conv,
    dense,
    dense_chain,
    dropout,
    embedding,
    fast_exp,
    lanes,
    losses,
    norm,
    optim,
    pool,
    simd,
)
from skneuro.kernels.cpu.perceptron import perceptron_epoch, perceptron_epoch_sparse

from . import naive

ACTIVATIONS = ["identity", "step", "sigmoid", "tanh", "relu", "leaky_relu", "silu", "gelu"]
#: Their backward kernels take the pre-activation instead of the output.
INPUT_DERIVATIVE = {"silu", "gelu"}
SLOPES = {"sigmoid": 2.5, "leaky_relu": 0.1}
VARIANTS = ["serial", "parallel"]
TOL = {np.float32: 1e-5, np.float64: 1e-12}

shapes = st.tuples(st.integers(1, 40), st.integers(1, 20))


def _variant(kernel, name):
    return getattr(kernel, name)


#: The forward activation kernels: the one compiled for one code, and the one
#: taking any code (the dense chains'), each serial and parallel.
ACTIVATION_VARIANTS = ["serial", "parallel", "any_serial", "any_parallel"]


def _forward_kernel(code, variant):
    """``variant`` of a forward activation kernel for ``code``, as ``(z, b, param)``."""
    if variant.startswith("any_"):
        kernel = getattr(activations.bias_activation_forward_any, variant[len("any_"):])
    else:
        kernel = getattr(activations.forward_kernel(code), variant)
    return lambda z, b, param: kernel(z, b, code, param)


@pytest.mark.parametrize("variant", ACTIVATION_VARIANTS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", ACTIVATIONS)
@given(shape=shapes, seed=st.integers(0, 2**16))
def test_bias_activation_forward(name, dtype, variant, shape, seed):
    rng = np.random.default_rng(seed)
    z = rng.normal(scale=3, size=shape).astype(dtype)
    b = rng.normal(size=shape[1]).astype(dtype)
    slope = SLOPES.get(name, 1.0)
    expected = naive.activation(z.astype(np.float64) + b, name, slope)
    kernel = _forward_kernel(activations.CODES[name], variant)
    kernel(z, b, dtype(slope))
    assert_allclose(z, expected, rtol=TOL[dtype], atol=TOL[dtype])
    again = np.array(z)  # the public function: the same bits as its kernel
    activations.bias_activation_forward(again, np.zeros_like(b), activations.CODES[name],
                                        dtype(slope))
    other = np.array(z)
    kernel(other, np.zeros_like(b), dtype(slope))
    assert_array_equal(again, other)


@pytest.mark.parametrize("exact_rows", [True, False])
@pytest.mark.parametrize("name", ACTIVATIONS)
def test_matmul_bias_activation(name, exact_rows, rng):
    """A dense layer's output in one operation: ``g(x @ W + b)``."""
    x, W = rng.normal(size=(9, 6)), rng.normal(size=(6, 5))
    b = rng.normal(size=5)
    slope = SLOPES.get(name, 1.0)
    out = np.empty((9, 5))
    dense.matmul_bias_activation(x, W, b, activations.CODES[name], slope, out, exact_rows)
    assert_allclose(out, naive.activation(x @ W + b, name, slope), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_every_forward_kernel_runs_the_identity_alike(dtype, rng):
    """The identity runs in the kernel of the last other activation used: every
    kernel gives it the same bits."""
    z = rng.normal(size=(9, 37)).astype(dtype)
    b = rng.normal(size=37).astype(dtype)
    expected = z + b
    for code in sorted(set(activations.CODES.values())):
        out = np.array(z)
        activations.forward_kernel(code)(out, b, activations.IDENTITY, dtype(0.1))
        assert_array_equal(out, expected)
        activations.bias_activation_forward(np.array(z), b, code, dtype(0.1))  # the last
        out = np.array(z)
        activations.bias_activation_forward(out, b, activations.IDENTITY, dtype(0.1))
        assert_array_equal(out, expected)


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", ACTIVATIONS)
@given(shape=shapes, seed=st.integers(0, 2**16))
def test_activation_backward(name, dtype, variant, shape, seed):
    rng = np.random.default_rng(seed)
    h = rng.normal(scale=3, size=shape)
    h[np.abs(h) < 1e-3] = 0.5  # keep away from the kink of ReLU-like functions
    slope = SLOPES.get(name, 1.0)
    a = (h if name in INPUT_DERIVATIVE else naive.activation(h, name, slope)).astype(dtype)
    g = rng.normal(size=shape).astype(dtype)
    out = np.empty_like(g)
    kernel = activations.backward_kernel(activations.CODES[name])
    _variant(kernel, variant)(g, a, dtype(slope), out)
    expected = g * naive.activation_derivative(h, name, slope)
    assert_allclose(out, expected, rtol=1e-4 if dtype == np.float32 else 1e-10, atol=1e-5)
    public = np.empty_like(g)
    activations.activation_backward(g, a, activations.CODES[name], dtype(slope), public)
    assert_array_equal(public, out)
    # The dense layer's backward pass: this, and the bias gradient.
    fused, sums = np.empty_like(g), np.empty(shape[1], dtype)
    dense.bias_activation_backward(g, a, activations.CODES[name], dtype(slope), fused, sums)
    assert_array_equal(fused, out)
    assert_allclose(sums, expected.sum(axis=0), rtol=1e-4 if dtype == np.float32 else 1e-10,
                    atol=1e-4 * shape[0])


@pytest.mark.parametrize("variant", VARIANTS)
@given(shape=shapes, seed=st.integers(0, 2**16))
def test_column_sum_and_take_rows(variant, shape, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=shape)
    out = np.empty(shape[1])
    _variant(dense.column_sum, variant)(x, out)
    assert_allclose(out, x.sum(axis=0), rtol=1e-12, atol=1e-12)
    sums = np.empty(shape[0])
    _variant(dense.row_sum, variant)(x, sums)
    assert_allclose(sums, x.sum(axis=1), rtol=1e-12, atol=1e-12)
    idx = rng.integers(0, shape[0], size=7).astype(np.intp)
    rows = np.empty((7, shape[1]))
    _variant(dense.take_rows, variant)(rows, x, idx)
    assert_allclose(rows, x[idx])


def test_column_sum_is_the_same_in_both_variants(rng):
    x = rng.normal(size=(512, 300)).astype(np.float32)
    a = np.empty(300, np.float32)
    b = np.empty(300, np.float32)
    dense.column_sum.serial(x, a)
    dense.column_sum.parallel(x, b)
    assert np.array_equal(a, b)


CONV_GEOMETRIES = [  # kh, kw, sh, sw, ph, pw
    (3, 3, 1, 1, 1, 1), (2, 3, 2, 1, 0, 1), (3, 2, 1, 3, 2, 0), (1, 5, 1, 2, 0, 3),
]


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("geometry", CONV_GEOMETRIES)
@given(n=st.integers(1, 3), c=st.integers(1, 3), h=st.integers(1, 7), w=st.integers(1, 7),
       seed=st.integers(0, 2**16))
def test_im2col_and_its_adjoint(variant, geometry, n, c, h, w, seed):
    kh, kw, sh, sw, ph, pw = geometry
    oh = conv.output_size(h, kh, sh, ph)
    ow = conv.output_size(w, kw, sw, pw)
    if oh < 1 or ow < 1:
        return  # the window does not fit: the layer refuses this geometry at build
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, c, h, w))
    cols = np.empty((c * kh * kw, n * oh * ow))
    _variant(conv.im2col, variant)(x, kh, kw, sh, sw, ph, pw, cols)
    assert_array_equal(cols, naive.im2col(x, kh, kw, sh, sw, ph, pw))
    # col2im is the transpose of im2col: <col2im(d), x> == <d, im2col(x)>.
    d = rng.normal(size=cols.shape)
    dx = np.full_like(x, np.nan)
    _variant(conv.col2im, variant)(d, kh, kw, sh, sw, ph, pw, dx)
    # Both sums round at the scale of their terms, not of their (possibly
    # cancelled) result: a relative tolerance alone failed for a sum of 7.6e-4.
    scale = np.abs(d).ravel() @ np.abs(cols).ravel()
    assert_allclose(np.vdot(dx, x), np.vdot(d, cols), rtol=1e-12, atol=1e-13 * scale)


def _layout_kernel(name, dtype, variant, element_loops):
    """The compiled kernel behind ``lanes.to_lanes``/``from_lanes``: the float32 one
    (16 x 16 transposes in registers) or the element loops (float64, or float32
    on request, to check one against the other)."""
    suffix = "_scalar" if element_loops or dtype == np.float64 else "_float32"
    return _variant(getattr(lanes, f"_{name}{suffix}"), variant)


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("dtype, element_loops", [(np.float32, False), (np.float32, True),
                                                  (np.float64, True)])
@given(n=st.integers(1, 40), c=st.integers(1, 3), h=st.integers(1, 6), w=st.integers(1, 20),
       ph=st.integers(0, 2), pw=st.integers(0, 2), seed=st.integers(0, 2**16))
def test_lanes_layout_changes(variant, dtype, element_loops, n, c, h, w, ph, pw, seed):
    # Sizes on both sides of the 16-sample and 16-position blocks.
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, c, h, w)).astype(dtype)
    nv = lanes.lanes_size(n)
    assert nv % lanes.SAMPLE_BLOCK == 0 and n <= nv < n + lanes.SAMPLE_BLOCK
    out = np.full((c, h + 2 * ph, w + 2 * pw, nv), np.nan, dtype)
    _layout_kernel("to_lanes", dtype, variant, element_loops)(x, ph, pw, out)
    assert_array_equal(out, naive.to_lanes(x, ph, pw, nv))

    y = rng.normal(size=(c, h, w, nv)).astype(dtype)
    for name, slope in [("leaky_relu", 0.1), ("identity", 1.0)]:
        back = np.full_like(x, np.nan)
        _layout_kernel("from_lanes", dtype, variant, element_loops)(
            y, activations.CODES[name], dtype(slope), back)
        expected = naive.activation(y[..., :n].transpose(3, 0, 1, 2), name, slope)
        assert_allclose(back, expected, rtol=TOL[dtype], atol=TOL[dtype])


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@given(n=st.integers(1, 40), c=st.integers(1, 4), f=st.integers(1, 19), h=st.integers(1, 6),
       w=st.integers(1, 6), kh=st.integers(1, 3), kw=st.sampled_from([1, 2, 3, 5]),
       seed=st.integers(0, 2**16))
def test_lanes_convolution_and_weight_gradient(variant, dtype, n, c, f, h, w, kh, kw, seed):
    # Filters on both sides of the 8-filter (forward) and 4-filter, 4-tap
    # (weight gradient) blocks; "same"-like padding, any window.
    ph, pw = (kh - 1) // 2, (kw - 1) // 2
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, c, h, w)).astype(dtype)
    nv = lanes.lanes_size(n)
    xl = naive.to_lanes(x, ph, pw, nv)
    W = rng.normal(size=(c * kh * kw, f)).astype(dtype)
    b = rng.normal(size=f).astype(dtype)
    oh, ow = h + 2 * ph - kh + 1, w + 2 * pw - kw + 1
    out = np.full((f, oh, ow, nv), np.nan, dtype)
    _variant(lanes.conv_lanes, variant)(xl, W, b, kh, kw, 0, 0, out)
    assert_allclose(out, naive.conv_lanes(xl, W, b, kh, kw), rtol=10 * TOL[dtype],
                    atol=10 * TOL[dtype])
    # The same padding, implicit (the taps outside the planes skipped): the
    # same sums in the same order, less terms that are zero.
    implicit = np.full_like(out, np.nan)
    _variant(lanes.conv_lanes, variant)(naive.to_lanes(x, 0, 0, nv), W, b, kh, kw, ph, pw,
                                        implicit)
    assert_array_equal(implicit, out)

    qh, qw = kh - 1 - ph, kw - 1 - pw
    dl = naive.to_lanes(rng.normal(size=(n, f, oh, ow)).astype(dtype), qh, qw, nv)
    dW = np.full_like(W, np.nan)
    _variant(lanes.conv_lanes_weight_grad, variant)(xl, dl, qh, qw, kh, kw, dW)
    assert_allclose(dW, naive.conv_lanes_weight_grad(xl, dl, qh, qw, kh, kw),
                    rtol=10 * TOL[dtype], atol=10 * TOL[dtype] * n)


def test_lanes_convolution_is_the_same_in_both_variants(rng):
    n, c, f, h, k = 70, 5, 13, 9, 3
    xl = naive.to_lanes(rng.normal(size=(n, c, h, h)).astype(np.float32), 1, 1,
                        lanes.lanes_size(n))
    W = rng.normal(size=(c * k * k, f)).astype(np.float32)
    b = rng.normal(size=f).astype(np.float32)
    results = []
    for variant in VARIANTS:
        out = np.empty((f, h, h, xl.shape[3]), np.float32)
        _variant(lanes.conv_lanes, variant)(xl, W, b, k, k, 0, 0, out)
        dl = np.zeros((f, h + 2, h + 2, xl.shape[3]), np.float32)
        dl[:, 1:-1, 1:-1] = out
        dW = np.empty_like(W)
        _variant(lanes.conv_lanes_weight_grad, variant)(xl, dl, 1, 1, k, k, dW)
        results.append((out, dW))
    for a, b in zip(*results, strict=True):
        assert_array_equal(a, b)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_simd_transpose_and_totals(dtype):
    # Vectors of 64 bytes: 16 float32 or 8 float64. Rows of the square below
    # start every 16 elements; a vector takes the first ``width`` of a row.
    width = 64 // np.dtype(dtype).itemsize
    values = np.arange(16 * 16, dtype=dtype) * dtype(0.25) - 3
    square = values.reshape(16, 16)
    assert_allclose(np.array(_totals(values)), square[:, :width].sum(axis=1), rtol=1e-6)
    out = np.full_like(values, np.nan)
    (_transpose_16 if width == 16 else _transpose_8)(values, out)
    assert_array_equal(out.reshape(16, 16)[:width, :width], square[:width, :width].T)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_simd_partial_vectors_and_nonzero_bits(dtype):
    width = 64 // np.dtype(dtype).itemsize
    values = np.arange(1, 2 * width + 1, dtype=dtype)
    for count in range(width):
        out = np.full(2 * width, -1.0, dtype)
        # From the end of the array: nothing past it may be read.
        _copy_first(values, 2 * width - count, count, out, 3)
        expected = np.full(2 * width, -1.0, dtype)
        expected[3:3 + count] = values[2 * width - count:]
        assert_array_equal(out, expected)
    x = np.zeros(width, dtype)
    x[[0, 2, width - 1]] = [1.0, np.nan, -2.0]
    x[1] = -0.0
    assert _nonzero_bits(x) == (1 | 4 | 1 << (width - 1))


@numba.njit
def _copy_first(a, index, count, out, at):
    simd.store_first(out, at, count, simd.load_first(a, index, count))


@numba.njit
def _nonzero_bits(a):
    return simd.nonzero_bits(a, 0)


@numba.njit
def _totals(a):
    return simd.totals(simd.load(a, 0), simd.load(a, 16), simd.load(a, 32), simd.load(a, 48),
                       simd.load(a, 64), simd.load(a, 80), simd.load(a, 96), simd.load(a, 112),
                       simd.load(a, 128), simd.load(a, 144), simd.load(a, 160),
                       simd.load(a, 176), simd.load(a, 192), simd.load(a, 208),
                       simd.load(a, 224), simd.load(a, 240))


@numba.njit
def _transpose_16(a, out):
    t = simd.transpose(simd.load(a, 0), simd.load(a, 16), simd.load(a, 32), simd.load(a, 48),
                       simd.load(a, 64), simd.load(a, 80), simd.load(a, 96), simd.load(a, 112),
                       simd.load(a, 128), simd.load(a, 144), simd.load(a, 160),
                       simd.load(a, 176), simd.load(a, 192), simd.load(a, 208),
                       simd.load(a, 224), simd.load(a, 240))
    for r in range(16):
        simd.store(out, 16 * r, t[r])


@numba.njit
def _transpose_8(a, out):
    t = simd.transpose(simd.load(a, 0), simd.load(a, 16), simd.load(a, 32), simd.load(a, 48),
                       simd.load(a, 64), simd.load(a, 80), simd.load(a, 96), simd.load(a, 112))
    for r in range(8):
        simd.store(out, 16 * r, t[r])


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("name", ACTIVATIONS)
@pytest.mark.parametrize("row_width", [5, 7])  # compact, and wide rows with garbage
def test_conv_layout_kernels(variant, name, row_width, rng):
    n, f, oh, ow = 3, 4, 2, 5
    slope = SLOPES.get(name, 0.0)
    product = rng.normal(size=(f, n, oh, row_width))
    b = rng.normal(size=f)
    out = np.empty((n, f, oh, ow))
    _variant(conv.channels_to_samples, variant)(product, b, activations.CODES[name], slope, out)
    h = product[..., :ow].transpose(1, 0, 2, 3) + b[None, :, None, None]
    assert_allclose(out, naive.activation(h, name, slope), rtol=1e-12, atol=1e-12)
    grad = rng.normal(size=out.shape)
    delta = np.full_like(product, np.nan)
    a = np.ascontiguousarray(h) if name in INPUT_DERIVATIVE else out
    _variant(conv.samples_to_channels, variant)(grad, a, activations.CODES[name], slope,
                                                delta)
    expected = (grad * naive.activation_derivative(h, name, slope)).transpose(1, 0, 2, 3)
    assert_allclose(delta[..., :ow], expected, rtol=1e-10, atol=1e-12)
    assert_array_equal(delta[..., ow:], 0.0)


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("geometry", [(2, 2, 2, 2), (3, 3, 2, 2), (2, 3, 3, 1), (1, 2, 1, 2)])
@pytest.mark.parametrize("size", [(5, 7), (6, 8)])  # (6, 8): the 2x2 fast path
def test_pool_kernels(variant, geometry, size, rng):
    kh, kw, sh, sw = geometry
    x = rng.normal(size=(2, 3) + size)
    x[0, 0, 0, :2] = x[0, 0, 1, :2] = 3.0  # ties: the first in window order wins
    oh, ow = pooled_size(size[0], kh, sh), pooled_size(size[1], kw, sw)
    out = np.empty((2, 3, oh, ow))
    argmax = np.empty((2, 3, oh, ow), np.int64)
    _variant(pool.max_pool_forward, variant)(x, kh, kw, sh, sw, out, argmax)
    assert_array_equal(out, naive.pool(x, kh, kw, sh, sw, oh, ow, np.max))
    flat = x.reshape(2, 3, -1)
    assert_array_equal(np.take_along_axis(flat, argmax.reshape(2, 3, -1), axis=2),
                       out.reshape(2, 3, -1))
    if (kh, kw) == (2, 2):
        assert argmax[0, 0, 0, 0] == 0
    _variant(pool.avg_pool_forward, variant)(x, kh, kw, sh, sw, out)
    assert_allclose(out, naive.pool(x, kh, kw, sh, sw, oh, ow, np.mean), rtol=1e-12)
    # Both backward passes are the transposes of their forward maps at x.
    g = rng.normal(size=out.shape)
    dx = np.full_like(x, np.nan)
    _variant(pool.avg_pool_backward, variant)(g, kh, kw, sh, sw, dx)
    assert_allclose(np.vdot(dx, x), np.vdot(g, out), rtol=1e-12)
    _variant(pool.max_pool_forward, variant)(x, kh, kw, sh, sw, out, argmax)
    _variant(pool.max_pool_backward, variant)(g, argmax, dx)
    assert_allclose(np.vdot(dx, x), np.vdot(g, out), rtol=1e-12)


@given(shape=st.tuples(st.integers(1, 40), st.integers(1, 40), st.integers(1, 70)),
       zeros=st.sampled_from([0.0, 0.5, 0.9, 1.0]),
       dtype=st.sampled_from([np.float32, np.float64]), seed=st.integers(0, 2**16))
def test_matmul_rows_is_exact_per_row(shape, zeros, dtype, seed):
    # Shapes cover blocks of 4 rows and single rows, whole column blocks,
    # partial ones and the masked last vector (16 float32 or 8 float64 lanes),
    # inputs with zeros (skipped terms) in any density.
    rng = np.random.default_rng(seed)
    n, k, m = shape
    a = rng.normal(size=(n, k)).astype(dtype)
    a[rng.random(a.shape) < zeros] = 0
    b = rng.normal(size=(k, m)).astype(dtype)
    out = np.full((n, m), np.nan, dtype)
    dense.matmul_rows(a, b, out)
    assert_allclose(out, a.astype(np.float64) @ b, rtol=TOL[dtype] * 10 * k, atol=TOL[dtype] * k)
    # Each row's result is the same alone, in another order, with other
    # rows around it, and with the parallel variant.
    one = np.empty((1, m), dtype)
    for i in {0, n - 1, n // 2}:
        dense.matmul_rows(a[i:i + 1], b, one)
        assert_array_equal(one[0], out[i])
    order = rng.permutation(n)
    shuffled = np.empty_like(out)
    dense.matmul_rows(a[order], b, shuffled)
    assert_array_equal(shuffled, out[order])
    with parallel_kernels():
        threaded = np.empty_like(out)
        dense.matmul_rows(a, b, threaded)
    assert_array_equal(threaded, out)


def test_matmul_rows_with_a_right_hand_side_larger_than_a_cache(rng):
    # Over _CACHED_B_BYTES the kernel splits the columns between jobs (two
    # parallel loops); the results are those of the one-loop path.
    a = rng.normal(size=(9, 600)).astype(np.float32)
    a[rng.random(a.shape) < 0.7] = 0
    b = rng.normal(size=(600, 500)).astype(np.float32)
    assert b.nbytes > dense._CACHED_B_BYTES
    out = np.empty((9, 500), np.float32)
    dense.matmul_rows(a, b, out)
    assert_allclose(out, a.astype(np.float64) @ b, rtol=1e-4, atol=1e-3)
    with parallel_kernels():
        threaded = np.empty_like(out)
        dense.matmul_rows(a, b, threaded)
    assert_array_equal(threaded, out)
    narrow = np.empty((9, 100), np.float32)  # the same columns, b under the limit
    dense.matmul_rows(a, np.ascontiguousarray(b[:, :100]), narrow)
    assert_array_equal(narrow, out[:, :100])
    one = np.empty((1, 500), np.float32)
    dense.matmul_rows(a[8:], b, one)
    assert_array_equal(one[0], out[8])



@given(shape=st.tuples(st.integers(1, 70), st.integers(1, 70)),
       dtype=st.sampled_from([np.float32, np.float64]), seed=st.integers(0, 2**16))
def test_transpose_in_both_variants(shape, dtype, seed):
    # Shapes cross the 16 x 16 tiles' edges (float32: transposed in registers).
    x = np.random.default_rng(seed).normal(size=shape).astype(dtype)
    kernel = dense.transpose_tiles if dtype == np.float32 else dense.transpose_elements
    for variant in (dense.transpose, kernel.serial, kernel.parallel):
        out = np.full(x.shape[::-1], np.nan, dtype)
        variant(out, x)
        assert_array_equal(out, x.T)


@given(shape=st.tuples(st.integers(1, 70), st.integers(1, 40), st.integers(1, 40)),
       zeros=st.sampled_from([0.0, 0.5, 0.9]),
       dtype=st.sampled_from([np.float32, np.float64]), seed=st.integers(0, 2**16))
def test_fixed_order_training_products(shape, zeros, dtype, seed):
    """Inside fixed_order_products the three training products equal numpy's
    and are the same with one thread or every core."""
    rng = np.random.default_rng(seed)
    n, k, m = shape
    x = rng.normal(size=(n, k)).astype(dtype)
    x[rng.random(x.shape) < zeros] = 0
    w = rng.normal(size=(k, m)).astype(dtype)
    delta = rng.normal(size=(n, m)).astype(dtype)
    delta[rng.random(delta.shape) < zeros] = 0
    tol = dict(rtol=TOL[dtype] * 10 * max(n, k, m), atol=TOL[dtype] * max(n, k, m))
    results = []
    for threads in (1, numba.config.NUMBA_NUM_THREADS):
        out, grad_w = np.empty((n, m), dtype), np.empty((k, m), dtype)
        grad_x = np.empty((n, k), dtype)
        previous = numba.get_num_threads()
        numba.set_num_threads(threads)
        try:
            # Products this small go to BLAS (dense._small); at 0 they are ours.
            with dense.fixed_order_products(), \
                    mock.patch.object(dense, "PARALLEL_PRODUCT_WORK", 0):
                dense.matmul(x, w, out, exact_rows=False)
                dense.matmul_tn(x, delta, grad_w)
                dense.matmul_nt(delta, w, grad_x)
        finally:
            numba.set_num_threads(previous)
        assert_allclose(out, x.astype(np.float64) @ w, **tol)
        assert_allclose(grad_w, x.T.astype(np.float64) @ delta, **tol)
        assert_allclose(grad_x, delta.astype(np.float64) @ w.T, **tol)
        results.append((out, grad_w, grad_x))
    for one, every in zip(*results):
        assert_array_equal(one, every)
    # Outside the block the products are BLAS's again.
    assert not getattr(dense._WORKSPACE, "fixed_order", False)


def test_small_training_products_go_to_blas(rng):
    """Under PARALLEL_PRODUCT_WORK multiply-adds a training product is BLAS's
    (one thread during a fit): no transposed copy is made."""
    x = rng.normal(size=(32, 64)).astype(np.float32)
    delta = rng.normal(size=(32, 16)).astype(np.float32)
    grad_w = np.empty((64, 16), np.float32)
    with dense.fixed_order_products(), \
            mock.patch.object(dense, "_transposed", wraps=dense._transposed) as copy:
        dense.matmul_tn(x, delta, grad_w)
        assert not copy.called
        assert_allclose(grad_w, x.T @ delta, rtol=1e-5, atol=1e-5)
        with mock.patch.object(dense, "PARALLEL_PRODUCT_WORK", 0):
            dense.matmul_tn(x, delta, grad_w)  # now ours, through the copy
        assert copy.called
    assert_allclose(grad_w, x.T @ delta, rtol=1e-5, atol=1e-5)


def _chain(rng, n, widths, names, zeros, dtype):
    """Input, weights, biases, codes, slopes and outputs of a chain of dense layers."""
    x = rng.normal(size=(n, widths[0])).astype(dtype)
    x[rng.random(x.shape) < zeros] = 0
    weights = tuple(rng.normal(scale=k ** -0.5, size=(k, p)).astype(dtype)
                    for k, p in zip(widths[:-1], widths[1:]))
    biases = tuple(rng.normal(size=p).astype(dtype) for p in widths[1:])
    codes = np.array([activations.CODES[name] for name in names], np.int64)
    slopes = np.array([SLOPES.get(name, 1.0) for name in names], dtype)
    outs = tuple(np.full((n, p), np.nan, dtype) for p in widths[1:])
    return x, weights, biases, codes, slopes, outs


@given(n=st.integers(1, 40), widths=st.lists(st.integers(1, 70), min_size=2, max_size=4),
       zeros=st.sampled_from([0.0, 0.5, 0.9, 1.0]), names=st.data(),
       dtype=st.sampled_from([np.float32, np.float64]), seed=st.integers(0, 2**16))
def test_forward_chain_is_the_layers_one_by_one(n, widths, zeros, names, dtype, seed):
    # 1 to 3 layers of any widths and activations (SiLU and GELU included),
    # row counts that cover groups of row blocks and single rows.
    rng = np.random.default_rng(seed)
    names = names.draw(st.lists(st.sampled_from(ACTIVATIONS), min_size=len(widths) - 1,
                                max_size=len(widths) - 1))
    x, weights, biases, codes, slopes, outs = _chain(rng, n, widths, names, zeros, dtype)
    dense_chain.forward_chain(x, weights, biases, codes, slopes, outs)
    h = x.astype(np.float64)
    for w, b, name, out in zip(weights, biases, names, outs):
        h = naive.activation(h @ w + b, name, SLOPES.get(name, 1.0))
        assert_allclose(out, h, rtol=TOL[dtype] * 100, atol=TOL[dtype] * 100)
        h = out.astype(np.float64)  # the next layer reads the rounded output
    # Bit for bit: the layers' own kernels one by one, the parallel variant,
    # and each row alone.
    h = x
    for w, b, code, slope, out in zip(weights, biases, codes, slopes, outs):
        expected = np.empty_like(out)
        dense.matmul_rows(h, w, expected)
        activations.bias_activation_forward(expected, b, code, slope)
        assert_array_equal(out, expected)
        h = expected
    with parallel_kernels():
        threaded = tuple(np.empty_like(out) for out in outs)
        dense_chain.forward_chain(x, weights, biases, codes, slopes, threaded)
    for out, other in zip(outs, threaded):
        assert_array_equal(other, out)
    i = n // 2
    alone = tuple(np.empty((1, out.shape[1]), dtype) for out in outs)
    dense_chain.forward_chain(x[i:i + 1], weights, biases, codes, slopes, alone)
    assert_array_equal(alone[-1][0], outs[-1][i])


def test_forward_chain_with_weights_larger_than_a_cache(rng):
    # A layer over _CACHED_B_BYTES sends the chain layer by layer (through
    # matmul_rows's column split): the same results as the kernel's path.
    x, weights, biases, codes, slopes, outs = _chain(rng, 9, (600, 500, 30),
                                                     ["relu", "tanh"], 0.7, np.float32)
    assert weights[0].nbytes > dense._CACHED_B_BYTES
    dense_chain.forward_chain(x, weights, biases, codes, slopes, outs)
    expected = tuple(np.empty_like(out) for out in outs)
    dense_chain.chain_row_groups(x, expected, weights, biases, codes, slopes,
                                 dense.taps_workspace(9, 600))
    for out, other in zip(outs, expected):
        assert_array_equal(out, other)


def test_forward_chain_refuses_mismatched_shapes(rng):
    x, weights, biases, codes, slopes, outs = _chain(rng, 5, (6, 4, 3), ["relu", "identity"],
                                                     0.0, np.float32)
    with pytest.raises(ValueError, match="shapes do not match"):
        dense_chain.forward_chain(x, weights, biases, codes, slopes, outs[::-1])
    with pytest.raises(ValueError, match="shapes do not match"):
        dense_chain.forward_chain(x[:, :5], weights, biases, codes, slopes, outs)
    for short in ("biases", "codes", "params", "outs"):
        args = dict(weights=weights, biases=biases, codes=codes, params=slopes, outs=outs)
        args[short] = args[short][:1]
        with pytest.raises(ValueError, match="per layer"):
            dense_chain.forward_chain(x, **args)
    with pytest.raises(ValueError, match="one code and one parameter per layer"):
        dense_chain.chain_row_groups(x, outs, weights, biases, codes[:1], slopes,
                                     dense.taps_workspace(5, 6))


def test_matmul_rows_propagates_non_finite_inputs(rng):
    # A NaN or inf input is never a skipped zero: it reaches every output of its row.
    a = rng.normal(size=(6, 20)).astype(np.float32)
    a[:, 3:] = 0
    a[1, 10] = np.nan
    a[4, 2] = np.inf
    b = rng.normal(size=(20, 40)).astype(np.float32)
    out = np.empty((6, 40), np.float32)
    dense.matmul_rows(a, b, out)
    assert np.isnan(out[1]).all()
    assert not np.isfinite(out[4]).any()
    assert np.isfinite(np.delete(out, [1, 4], axis=0)).all()


def test_matmul_wrappers(rng):
    a = rng.normal(size=(5, 4))
    b = rng.normal(size=(4, 3))
    out = np.empty((5, 3))
    dense.matmul(a, b, out)
    assert_allclose(out, a @ b)
    # Inputs of another dtype or layout than the weights' are converted.
    out32 = np.empty((5, 3), np.float32)
    dense.matmul(np.asfortranarray(a), b.astype(np.float32), out32)
    assert_allclose(out32, a @ b, rtol=1e-5, atol=1e-6)
    big = rng.normal(size=(dense.SMALL_ROWS + 3, 4))
    out_big = np.empty((big.shape[0], 3))
    dense.matmul(big, b, out_big)
    assert_allclose(out_big, big @ b)
    c = rng.normal(size=(5, 3))
    out_tn = np.empty((4, 3))
    dense.matmul_tn(a, c, out_tn)
    assert_allclose(out_tn, a.T @ c)
    out_nt = np.empty((5, 4))
    dense.matmul_nt(c, b, out_nt)
    assert_allclose(out_nt, c @ b.T)


LOSSES = {
    "squared_error": naive.squared_error,
    "softmax_cross_entropy": naive.softmax_cross_entropy,
    "sigmoid_binary_cross_entropy": naive.sigmoid_binary_cross_entropy,
    "poisson_deviance": naive.poisson_deviance,
}


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", list(LOSSES))
@given(shape=st.tuples(st.integers(1, 30), st.integers(1, 8)), seed=st.integers(0, 2**16))
def test_losses(name, dtype, variant, shape, seed):
    rng = np.random.default_rng(seed)
    n, m = shape
    z = rng.normal(scale=4, size=shape)
    w = rng.uniform(0, 1, size=n)
    w /= w.sum()
    if name == "softmax_cross_entropy":
        target = rng.integers(0, m, size=n).astype(np.intp)
    elif name == "sigmoid_binary_cross_entropy":
        target = rng.integers(0, 2, size=shape).astype(float)
    elif name == "poisson_deviance":
        z = z / 4
        target = rng.poisson(2.0, size=shape).astype(float)
    else:
        target = rng.normal(size=shape)
    expected_loss, expected_grad = LOSSES[name](z, target, w)
    grad = np.empty(shape, dtype)
    row_loss = np.empty(n, dtype)
    t = target if target.dtype == np.intp else target.astype(dtype)
    _variant(getattr(losses, name), variant)(z.astype(dtype), t, w.astype(dtype), grad, row_loss)
    acc = np.zeros(1)
    losses.weighted_sum(row_loss, w.astype(dtype), 1.0, acc)
    value = acc[0]
    tol = 1e-4 if dtype == np.float32 else 1e-10
    assert_allclose(value, expected_loss, rtol=tol, atol=tol)
    assert_allclose(grad, expected_grad, rtol=tol, atol=tol)


def test_cross_entropies_are_finite_for_extreme_logits():
    z = np.array([[1e4, -1e4], [-1e4, 1e4]], np.float32)
    w = np.full(2, 0.5, np.float32)
    grad = np.empty_like(z)
    row_loss = np.empty(2, np.float32)
    losses.softmax_cross_entropy(z, np.array([1, 1]), w, grad, row_loss)
    assert np.isfinite(row_loss).all() and np.isfinite(grad).all()
    assert_allclose(row_loss @ w, 1e4, rtol=1e-6)
    losses.sigmoid_binary_cross_entropy(z, np.array([[0, 1], [0, 1]], np.float32),
                                        w, grad, row_loss)
    assert np.isfinite(row_loss).all() and np.isfinite(grad).all()


@pytest.mark.parametrize("variant", VARIANTS)
def test_output_activations(variant, rng):
    z = rng.normal(scale=5, size=(7, 4))
    p = z.copy()
    _variant(losses.softmax, variant)(p)
    assert_allclose(p, naive.softmax(z))
    s = z.copy()
    _variant(losses.sigmoid, variant)(s)
    assert_allclose(s, 1 / (1 + np.exp(-z)))
    e = z.copy()
    _variant(losses.exp, variant)(e)
    assert_allclose(e, np.exp(z))


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("nesterov", [False, True])
def test_sgd_update(variant, nesterov, rng):
    w, g, v = (rng.normal(size=(6, 5)) for _ in range(3))
    expected_w, expected_v = naive.sgd(w, g, v, 0.1, 0.9, nesterov, 0.01)
    _variant(optim._sgd, variant)(w, g, v, 0.1, 0.9, nesterov, 0.01)
    assert_allclose(w, expected_w)
    assert_allclose(v, expected_v)


@pytest.mark.parametrize("variant", VARIANTS)
def test_adam_update_matches_bias_corrected_equations(variant, rng):
    w = rng.normal(size=40)
    m = np.zeros(40)
    v = np.zeros(40)
    ref_w, ref_m, ref_v = w.copy(), m.copy(), v.copy()
    textbook = w.copy()
    for t in range(1, 4):
        g = rng.normal(size=40)
        ref_w, ref_m, ref_v, m_hat, v_hat = naive.adam(ref_w, g, ref_m, ref_v, t, 1e-2, 0.9,
                                                       0.999, 1e-8, 0.0)
        # Kingma & Ba's algorithm 1 step, with epsilon 0 where the two forms agree.
        textbook = textbook - 1e-2 * m_hat / np.sqrt(v_hat)
        lr_t = 1e-2 * np.sqrt(1 - 0.999**t) / (1 - 0.9**t)
        _variant(optim._adam, variant)(w, g, m, v, lr_t, 0.9, 0.999, 1e-8, 0.0)
    assert_allclose(w, ref_w)
    assert_allclose(m, ref_m)
    assert_allclose(v, ref_v)
    assert_allclose(w, textbook, rtol=1e-6)


@pytest.mark.parametrize("variant", VARIANTS)
def test_rmsprop_and_adagrad_updates(variant, rng):
    w, g, s = rng.normal(size=(3, 30))
    s = np.abs(s)
    expected_w, expected_s = naive.rmsprop(w, g, s, 0.01, 0.9, 1e-8, 0.1)
    w1, s1 = w.copy(), s.copy()
    _variant(optim._rmsprop, variant)(w1, g, s1, 0.01, 0.9, 1e-8, 0.1)
    assert_allclose(w1, expected_w)
    assert_allclose(s1, expected_s)
    expected_w, expected_s = naive.adagrad(w, g, s, 0.01, 1e-8, 0.1)
    w2, s2 = w.copy(), s.copy()
    _variant(optim._adagrad, variant)(w2, g, s2, 0.01, 1e-8, 0.1)
    assert_allclose(w2, expected_w)
    assert_allclose(s2, expected_s)


@pytest.mark.parametrize("name", ["sgd_update", "adam_update", "rmsprop_update",
                                  "adagrad_update"])
def test_the_l2_penalty_stops_at_decay_stop(name, rng):
    """One call over a flat buffer (penalized parameters first) gives what a
    call per part gives: ``l2`` before ``decay_stop``, none after."""
    scalars = {"adam_update": (1e-3, 0.9, 0.999, 1e-8), "sgd_update": (0.01, 0.9, True),
               "rmsprop_update": (0.01, 0.9, 1e-8), "adagrad_update": (0.01, 1e-8)}[name]
    n_slots = 2 if name == "adam_update" else 1
    kernel = getattr(optim, name)
    w, g = rng.normal(size=(2, 50))
    slots = [np.abs(rng.normal(size=50)) for _ in range(n_slots)]
    one = [a.copy() for a in (w, *slots)]
    kernel(one[0], g, *one[1:], *scalars, 0.5, 30)
    parts = [a.copy() for a in (w, *slots)]
    kernel(*(a[:30] for a in parts[:1]), g[:30], *(a[:30] for a in parts[1:]), *scalars, 0.5, 30)
    kernel(*(a[30:] for a in parts[:1]), g[30:], *(a[30:] for a in parts[1:]), *scalars, 0.0, 20)
    for a, b in zip(one, parts):
        assert_array_equal(a, b)
    unpenalized = [a.copy() for a in (w, *slots)]
    kernel(unpenalized[0], g, *unpenalized[1:], *scalars, 0.5, 0)
    assert not np.array_equal(unpenalized[0][:30], one[0][:30])
    assert_array_equal(unpenalized[0][30:], one[0][30:])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_updates_are_the_same_to_the_bit_in_both_variants(dtype, rng):
    """Compiled with exact rounding (kernels._jit.EXACT_FASTMATH), so that a fit
    can run them on every core: with the fast-math flags the parallel Adam
    rounded differently, and a model changed with the thread count."""
    n = 100_003  # past the parallel threshold, and not a multiple of any vector width
    s = dtype(1)
    scalars = {"_adam": (s * 1e-3, s * 0.9, s * 0.999, s * 1e-8, s * 1e-4),
               "_sgd": (s * 0.01, s * 0.9, True, s * 1e-4),
               "_rmsprop": (s * 0.01, s * 0.9, s * 1e-8, s * 1e-4),
               "_adagrad": (s * 0.01, s * 1e-8, s * 1e-4)}
    slots = {"_adam": 2, "_sgd": 1, "_rmsprop": 1, "_adagrad": 1}
    for name, args in scalars.items():
        kernel = getattr(optim, name)
        start = [rng.normal(size=n).astype(dtype) for _ in range(2)]
        start += [np.abs(rng.normal(size=n)).astype(dtype) for _ in range(slots[name])]
        results = []
        for variant in (kernel.serial, kernel.parallel):
            arrays = [a.copy() for a in start]
            for _ in range(3):
                variant(arrays[0], arrays[1], *arrays[2:], *args)
            results.append(arrays)
        for a, b in zip(*results):
            assert_array_equal(a, b, err_msg=name)


def test_float32_update_stays_float32(rng):
    w = rng.normal(size=100).astype(np.float32)
    g = rng.normal(size=100).astype(np.float32)
    m, v = np.zeros_like(w), np.zeros_like(w)
    f32 = np.float32
    optim.adam_update(w, g, m, v, f32(1e-3), f32(0.9), f32(0.999), f32(1e-8), f32(0), w.size)
    assert w.dtype == np.float32
    # The trap of PERF-NOTES: a float64 scalar widens the whole loop, which then
    # does not vectorize. Compile the kernel body afresh (Numba cannot show the
    # machine code of a kernel loaded from its cache) with the kernels' options.
    fresh = numba.njit(**{**_OPTIONS, "fastmath": set(EXACT_FASTMATH)})(
        optim._adam.py_func)
    fresh(w, g, m, v, f32(1e-3), f32(0.9), f32(0.999), f32(1e-8), f32(0))
    sig = fresh.signatures[0]
    assert "fpext" not in fresh.inspect_llvm(sig)
    assert "zmm" in fresh.inspect_asm(sig) or "ymm" in fresh.inspect_asm(sig)


def test_hash_uniform_matches_its_reference_and_is_uniform():
    from skneuro.kernels.cpu.dropout import _uniform

    draws = np.array([_uniform(12345, 7, i) for i in range(4000)])
    expected = np.array([naive.hash_uniform(12345, 7, i) for i in range(4000)])
    assert_array_equal(draws, expected)
    assert 0.0 <= draws.min() and draws.max() < 1.0
    assert abs(draws.mean() - 0.5) < 0.02
    assert abs(np.mean(draws < 0.3) - 0.3) < 0.02
    other_step = np.array([_uniform(12345, 8, i) for i in range(4000)])
    assert np.corrcoef(draws, other_step)[0, 1] < 0.05


@pytest.mark.parametrize("variant", VARIANTS)
def test_dropout_kernels(variant, rng):
    x = rng.normal(size=(50, 40))
    mask = np.empty_like(x)
    out = np.empty_like(x)
    _variant(dropout.dropout_forward, variant)(x, 99, 3, 0, 0.3, out, mask)
    u = np.array([naive.hash_uniform(99, 3, i) for i in range(x.size)]).reshape(x.shape)
    expected_mask = (u >= 0.3) / 0.7
    assert_allclose(mask, expected_mask)
    assert_allclose(out, x * expected_mask)
    g = rng.normal(size=x.shape)
    g2 = np.empty_like(g)
    _variant(dropout.dropout_backward, variant)(g, mask, g2)
    assert_allclose(g2, g * expected_mask)
    # A shard of the batch, starting at row 20, draws the whole batch's masks.
    shard_mask = np.empty_like(x[20:])
    _variant(dropout.dropout_forward, variant)(x[20:].copy(), 99, 3, 20, 0.3, out[20:], shard_mask)
    assert_array_equal(shard_mask, mask[20:])


@given(seed=st.integers(0, 2**16), n_neurons=st.integers(1, 4),
       fit_intercept=st.booleans(), shrink=st.sampled_from([1.0, 0.99]),
       l1=st.sampled_from([0.0, 0.01]), density=st.sampled_from([1.0, 0.3]))
def test_perceptron_epoch(seed, n_neurons, fit_intercept, shrink, l1, density):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(20, 3)) * (rng.random((20, 3)) < density)
    T = rng.integers(0, 2, size=(20, n_neurons)).astype(float)
    W = rng.uniform(-0.1, 0.1, size=(n_neurons, 4))
    order = rng.permutation(20).astype(np.intp)
    sw = rng.uniform(0.5, 2, size=20)
    expected_W, expected_errors, expected_loss = naive.perceptron_epoch(
        X, T, W, order, 0.25, sw, fit_intercept, shrink, l1)
    # dense rows, and the same rows as CSR
    csr = sparse.csr_matrix(X)
    for run, rows in ((perceptron_epoch, (X,)),
                      (perceptron_epoch_sparse, (csr.data, csr.indices, csr.indptr))):
        W_run, errors, loss = W.copy(), np.zeros(1, np.int64), np.full(n_neurons, np.nan)
        run(*rows, T, W_run, order, 0.25, sw, fit_intercept, shrink, l1, loss, errors)
        assert errors[0] == expected_errors
        assert_allclose(W_run, expected_W, atol=1e-14)
        assert_allclose(loss, expected_loss, atol=1e-14)


def test_kernels_never_leave_subnormal_numbers(rng):
    """Decaying moments and saturated outputs are flushed to zero, not left subnormal."""
    tiny = np.finfo(np.float32).tiny
    w = np.ones(64, np.float32)
    g = np.zeros(64, np.float32)
    m = np.full(64, 1e-3, np.float32)
    v = np.full(64, 1e-6, np.float32)
    f32 = np.float32
    for _ in range(2000):  # 0.9**2000 underflows far below the smallest normal
        optim.adam_update(w, g, m, v, f32(1e-3), f32(0.9), f32(0.999), f32(1e-8), f32(0), w.size)
    for a in (m, v):
        assert not ((a != 0) & (np.abs(a) < tiny)).any()
    z = np.array([[0.0, 200.0, -200.0]], np.float32)
    grad = np.empty_like(z)
    losses.softmax_cross_entropy(z, np.array([1]), np.ones(1, np.float32), grad,
                                 np.empty(1, np.float32))
    assert not ((grad != 0) & (np.abs(grad) < tiny)).any()
    s = np.array([[-100.0, 100.0]], np.float32)
    activations.bias_activation_forward(s, np.zeros(2, np.float32), activations.SIGMOID,
                                        f32(1.0))
    assert not ((s != 0) & (np.abs(s) < tiny)).any()


# -- decoder kernels: nearest upsampling and the transposed convolution ------------
from skneuro.kernels.cpu import resample  # noqa: E402


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("factors", [(1, 1), (2, 2), (3, 1), (1, 4)])
@given(n=st.integers(1, 3), c=st.integers(1, 3), h=st.integers(1, 5), w=st.integers(1, 5),
       seed=st.integers(0, 2**16))
def test_upsample_nearest_kernels(variant, factors, n, c, h, w, seed):
    sh, sw = factors
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, c, h, w))
    out = np.full((n, c, h * sh, w * sw), np.nan)
    _variant(resample.upsample_nearest_forward, variant)(x, sh, sw, out)
    assert_array_equal(out, naive.upsample_nearest(x, sh, sw))
    g = rng.normal(size=out.shape)
    dx = np.full_like(x, np.nan)
    _variant(resample.upsample_nearest_backward, variant)(g, sh, sw, dx)
    assert_allclose(dx, naive.upsample_nearest_grad(g, sh, sw), rtol=1e-12, atol=1e-12)
    assert_allclose(np.vdot(dx, x), np.vdot(g, out), rtol=1e-12)


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("name", ACTIVATIONS)
def test_channel_bias_activation(variant, name, rng):
    slope = SLOPES.get(name, 1.0)
    x = rng.normal(scale=3, size=(3, 4, 5))
    b = rng.normal(size=4)
    out = np.full_like(x, np.nan)
    _variant(conv.channel_bias_activation, variant)(x, b, activations.CODES[name], slope, out)
    expected = naive.activation(x + b[None, :, None], name, slope)
    assert_allclose(out, expected, rtol=1e-12, atol=1e-12)
    inplace = x.copy()
    _variant(conv.channel_bias_activation, variant)(inplace, b, activations.CODES[name], slope,
                                                    inplace)
    assert_array_equal(inplace, out)


CONV_TRANSPOSE_GEOMETRIES = [  # kh, kw, sh, sw, ph, pw, oph, opw
    (3, 3, 1, 1, 1, 1, 0, 0), (3, 3, 2, 2, 1, 1, 1, 1), (2, 3, 2, 1, 0, 1, 1, 0),
    (1, 5, 3, 2, 0, 3, 2, 1), (4, 2, 2, 3, 1, 0, 0, 2),
]


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("geometry", CONV_TRANSPOSE_GEOMETRIES)
@given(n=st.integers(1, 3), c=st.integers(1, 3), f=st.integers(1, 3), h=st.integers(1, 5),
       w=st.integers(1, 5), seed=st.integers(0, 2**16))
def test_transposed_convolution_kernels(variant, geometry, n, c, f, h, w, seed):
    """The layer's kernel sequence (reorder, product, col2im, bias and activation)
    against the direct scatter."""
    kh, kw, sh, sw, ph, pw, oph, opw = geometry
    oh = (h - 1) * sh - 2 * ph + kh + oph
    ow = (w - 1) * sw - 2 * pw + kw + opw
    if oh < 1 or ow < 1:
        return  # no output: the layer refuses this geometry at build
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, c, h, w))
    W = rng.normal(size=(f * kh * kw, c))
    b = rng.normal(size=f)
    xcm = np.full((c, n, h, w), np.nan)
    _variant(conv.samples_to_channels, variant)(x, x, activations.IDENTITY, 1.0, xcm)
    cols = W @ xcm.reshape(c, -1)
    out = np.full((n, f, oh, ow), np.nan)
    _variant(conv.col2im, variant)(cols, kh, kw, sh, sw, ph, pw, out)
    flat = out.reshape(n, f, -1)
    _variant(conv.channel_bias_activation, variant)(flat, b, activations.TANH, 1.0, flat)
    expected = naive.conv_transpose(x, W, kh, kw, sh, sw, ph, pw, oh, ow)
    assert_allclose(out, np.tanh(expected + b[None, :, None, None]), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("groups", [1, 2, 4])
@pytest.mark.parametrize("activation", ["identity", "silu", "sigmoid"])
def test_group_norm_kernels(variant, groups, activation, rng):
    x = rng.normal(loc=3.0, scale=2.0, size=(3, 4, 5))
    gamma = rng.normal(size=4)
    beta = rng.normal(size=4)
    code, slope = activations.CODES[activation], SLOPES.get(activation, 1.0)

    def reference(x):
        y = naive.group_norm(x, groups, gamma, beta, 1e-5)
        return naive.activation(y, activation, slope)

    out = np.full_like(x, np.nan)
    xhat = np.full_like(x, np.nan)
    inv_std = np.full((3, groups), np.nan)
    _variant(norm.group_norm_forward, variant)(x, groups, gamma, beta, 1e-5, code, slope, out,
                                               xhat, inv_std)
    assert_allclose(out, reference(x), rtol=1e-12, atol=1e-12)
    # The backward pass against the reference's own finite differences.
    g = rng.normal(size=x.shape)
    dx = np.full_like(x, np.nan)
    dgamma = np.full(4, np.nan)
    dbeta = np.full(4, np.nan)
    _variant(norm.group_norm_backward, variant)(g, xhat, inv_std, gamma, beta, groups, code,
                                                slope, dx, dgamma, dbeta)
    y = gamma[None, :, None] * xhat + beta[None, :, None]
    dy = g * naive.activation_derivative(y, activation, slope)
    assert_allclose(dbeta, dy.sum(axis=(0, 2)), rtol=1e-12)
    assert_allclose(dgamma, (dy * xhat).sum(axis=(0, 2)), rtol=1e-12)
    step = 1e-6
    numeric = np.empty_like(x)
    for i in np.ndindex(x.shape):
        up, down = x.copy(), x.copy()
        up[i] += step
        down[i] -= step
        numeric[i] = np.sum(g * (reference(up) - reference(down))) / (2 * step)
    assert_allclose(dx, numeric, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("dim", [2, 7, 16])
def test_embedding_kernels(variant, dim, rng):
    t = np.array([0.0, 1.0, 17.0, 999.0])
    out = np.full((4, dim), np.nan)
    _variant(embedding.sinusoidal_embedding, variant)(t, 10000.0, out)
    assert_allclose(out, naive.sinusoidal_embedding(t, dim, 10000.0), rtol=1e-12, atol=1e-12)
    x = rng.normal(size=(3, 4, 5))
    e = rng.normal(size=(3, 4))
    added = np.full_like(x, np.nan)
    _variant(embedding.add_channel_vector, variant)(x, e, added)
    assert_allclose(added, x + e[:, :, None], rtol=1e-15)
    sums = np.full((3, 4), np.nan)
    _variant(embedding.channel_sums, variant)(x, sums)
    assert_allclose(sums, x.sum(axis=2), rtol=1e-12)


# -- the vectorizing float32 exponential ------------------------------------------
@numba.njit(**_OPTIONS)
def _apply_exp(x, out):
    for j in range(x.shape[0]):
        out[j] = fast_exp.exp(x[j])


def test_fast_exp_float32_is_within_1_ulp_of_the_exact_value():
    x = np.linspace(fast_exp.MIN_ARG, fast_exp.MAX_ARG, 400_001).astype(np.float32)
    out = np.empty_like(x)
    _apply_exp(x, out)
    with np.errstate(over="ignore"):
        exact = np.exp(x.astype(np.float64))
    finite = exact < np.finfo(np.float32).max
    ulp = np.abs(out[finite] - exact[finite]) / np.spacing(exact[finite].astype(np.float32))
    # Measured: at most 0.99 units in the last place from the exact value, median
    # 0.25 (a correctly rounded exp: at most 0.5); losing the split of ln 2 to
    # fast-math reassociation costs 4.5 ulp with FMA, 68 without.
    assert ulp.max() <= 1.0
    assert np.median(ulp) <= 0.3


def test_fast_exp_float32_limits_match_numpy():
    below_max = np.nextafter(np.float32(fast_exp.MAX_ARG), np.float32(0))
    x = np.array([np.nan, np.inf, -np.inf, 89.0, 1e30, -88.0, -1e30, 0.0, -0.0,
                  fast_exp.MAX_ARG, below_max], np.float32)
    out = np.empty_like(x)
    _apply_exp(x, out)
    assert np.isnan(out[0])
    assert_array_equal(out[1:-1], [np.inf, 0.0, np.inf, np.inf, 0.0, 0.0, 1.0, 1.0, np.inf])
    with np.errstate(over="ignore"):
        assert np.isinf(np.exp(x[-2])) and np.isfinite(np.exp(x[-1]))  # numpy agrees
    assert np.isfinite(out[-1]) and out[-1] > 3.4e38


def test_fast_exp_float64_is_numpy_exp():
    x = np.linspace(-700.0, 700.0, 1001)
    out = np.empty_like(x)
    _apply_exp(x, out)
    assert_allclose(out, np.exp(x), rtol=1e-15)  # Numba's libm against numpy's


@pytest.mark.parametrize("variant", VARIANTS)
def test_flip_filters_reverses_the_window_and_swaps_channels(variant, rng):
    c, kh, kw, f = 3, 2, 3, 4
    W = rng.normal(size=(c * kh * kw, f))
    out = np.full((f * kh * kw, c), np.nan)
    _variant(conv.flip_filters, variant)(W, c, kh, kw, out)
    expected = W.reshape(c, kh, kw, f)[:, ::-1, ::-1, :].transpose(3, 1, 2, 0)
    assert_array_equal(out, expected.reshape(f * kh * kw, c))


@pytest.mark.parametrize("shape", [(96, 10, 10, 32), (3, 5), 7, ()])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
def test_cpu_backend_aligns_its_arrays(shape, dtype):
    # The lanes kernels' vector loads are aligned only if the arrays are.
    from skneuro.nn.backend import ALIGNMENT, CPUBackend

    backend = CPUBackend(np.float32)
    for array in (backend.empty(shape, dtype), backend.zeros(shape, dtype)):
        assert array.ctypes.data % ALIGNMENT == 0
        assert array.dtype == dtype and array.shape == np.empty(shape).shape
        assert array.flags.c_contiguous and array.flags.writeable
    assert not backend.zeros(shape, dtype).any()


def test_lanes_kernels_refuse_lanes_they_cannot_cover(rng):
    # The kernels' vector loads check no bounds: mismatched lanes must raise.
    xl = np.zeros((2, 5, 5, 32), np.float32)
    W = np.zeros((2 * 9, 3), np.float32)
    with pytest.raises(ValueError, match="multiple of SAMPLE_BLOCK"):
        lanes.conv_lanes(np.zeros((2, 5, 5, 20), np.float32), W, np.zeros(3, np.float32), 3,
                         3, 0, 0, np.zeros((3, 3, 3, 20), np.float32))
    with pytest.raises(ValueError, match="padded input's minus the window"):
        lanes.conv_lanes(xl, W, np.zeros(3, np.float32), 3, 3, 1, 1,
                         np.zeros((3, 3, 3, 32), np.float32))
    with pytest.raises(ValueError, match="lanes must match"):
        lanes.conv_lanes_weight_grad(xl, np.zeros((3, 5, 5, 64), np.float32), 1, 1, 3, 3,
                                     np.zeros_like(W))
    # Strided arrays take the element loops (the vector kernels need contiguity).
    x = rng.normal(size=(3, 2, 4, 8)).astype(np.float32)[..., ::2]
    out = np.full((2, 4, 4, 32), np.nan, np.float32)
    lanes.to_lanes(x, 0, 0, out)
    assert_array_equal(out, naive.to_lanes(x, 0, 0, 32))


def test_simd_refuses_strided_arrays():
    @numba.njit
    def first_vector_total(a):
        return simd.total(simd.load(a, 0))

    assert first_vector_total(np.arange(64, dtype=np.float32)) == sum(range(16))
    with pytest.raises(numba.core.errors.TypingError):
        first_vector_total(np.arange(64, dtype=np.float32)[::2])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_all_finite(dtype, rng):
    x = rng.normal(size=(7, 33)).astype(dtype)
    x[0, 0] = np.finfo(dtype).max  # huge but finite: no overflow to inf
    assert host.all_finite(x)
    for bad in (np.nan, np.inf, -np.inf):
        y = x.copy()
        y[6, 32] = bad
        assert not host.all_finite(y)
    assert host.all_finite(np.zeros((0, 3), dtype))
