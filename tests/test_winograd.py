"""F(2x2, 3x3) Winograd convolution in lanes against the direct sums."""

from unittest import mock

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal

from skneuro.backends.cpu import convolution
from skneuro.kernels.cpu import lanes, winograd
from skneuro.nn import Conv, CPUBackend
from tests import naive

VARIANTS = ["serial", "parallel"]


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@given(c=st.integers(1, 4), f=st.integers(1, 40), seed=st.integers(0, 2**16))
def test_weight_transform(variant, dtype, c, f, seed):
    # Filters on both sides of a vector (16 float32, 8 float64).
    W = np.random.default_rng(seed).normal(size=(9 * c, f)).astype(dtype)
    out = np.full((16, c, f), np.nan, dtype)
    getattr(winograd.winograd_weights, variant)(W, out)
    assert_allclose(out, naive.winograd_weights(W), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("dtype, tol", [(np.float32, 1e-5), (np.float64, 1e-12)])
@given(n=st.integers(1, 40), c=st.integers(1, 4), f=st.integers(1, 19),
       h=st.sampled_from([2, 4, 6]), w=st.sampled_from([2, 4, 8]), seed=st.integers(0, 2**16))
def test_winograd_convolution_matches_the_direct_sums(variant, dtype, tol, n, c, f, h, w, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, c, h, w)).astype(dtype)
    nv = lanes.lanes_size(n)
    padded = naive.to_lanes(x, 1, 1, nv)
    W = rng.normal(size=(9 * c, f)).astype(dtype)
    b = rng.normal(size=f).astype(dtype)
    U = np.empty((16, c, f), dtype)
    winograd.winograd_weights(W, U)
    scratch = np.empty(winograd.scratch_shape(c, nv, dtype), dtype)
    out = np.full((f, h, w, nv), np.nan, dtype)
    getattr(winograd.conv_lanes_winograd, variant)(padded, U, b, scratch, out)
    expected = naive.conv_lanes(padded, W, b, 3, 3)
    scale = np.abs(expected).max()
    assert_allclose(out, expected, rtol=tol, atol=tol * scale)


def test_both_compiled_variants_give_the_same_numbers(rng):
    n, c, f, h = 70, 5, 13, 6
    nv = lanes.lanes_size(n)
    padded = naive.to_lanes(rng.normal(size=(n, c, h, h)).astype(np.float32), 1, 1, nv)
    U = rng.normal(size=(16, c, f)).astype(np.float32)
    b = rng.normal(size=f).astype(np.float32)
    scratch = np.empty(winograd.scratch_shape(c, nv, np.float32), np.float32)
    outs = []
    for variant in VARIANTS:
        outs.append(np.empty((f, h, h, nv), np.float32))
        getattr(winograd.conv_lanes_winograd, variant)(padded, U, b, scratch, outs[-1])
    assert_array_equal(*outs)


def test_winograd_refuses_what_it_cannot_compute():
    U = np.zeros((16, 2, 3), np.float32)
    b = np.zeros(3, np.float32)
    scratch = np.zeros(winograd.scratch_shape(2, 64, np.float32), np.float32)
    with pytest.raises(ValueError, match="even sizes"):  # 5x5 planes
        winograd.conv_lanes_winograd(np.zeros((2, 7, 7, 32), np.float32), U, b, scratch,
                                     np.zeros((3, 5, 5, 32), np.float32))
    with pytest.raises(ValueError, match="scratch of scratch_shape"):
        winograd.conv_lanes_winograd(np.zeros((2, 6, 6, 64), np.float32), U, b,
                                     scratch[:1], np.zeros((3, 4, 4, 64), np.float32))
    with pytest.raises(ValueError, match="multiple of SAMPLE_BLOCK"):
        winograd.conv_lanes_winograd(np.zeros((2, 6, 6, 20), np.float32), U, b, scratch,
                                     np.zeros((3, 4, 4, 20), np.float32))


@pytest.mark.parametrize("shape, expected", [((3, 8, 8), True), ((3, 4, 6), True),
                                             ((3, 2, 2), False), ((3, 5, 6), False),
                                             ((3, 8), False)])
def test_conv_layers_use_winograd_where_it_applies(rng, shape, expected):
    layer = Conv(4, 3, activation="relu")
    layer.build([shape], CPUBackend(), rng)
    assert convolution.uses_winograd(layer) == expected
    x = rng.normal(size=(20,) + shape).astype(np.float32)
    out = layer.forward([x]).copy()
    # The same layer computed by the unfolded product.
    with mock.patch.object(convolution, "method", lambda layer, n: "unfold"):
        assert_allclose(out, layer.forward([x]), rtol=1e-5, atol=1e-5)
