"""The decoder's layers: ConvTranspose, Upsample and Reshape (float64, CPU)."""

import pickle
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.exceptions import ConvergenceWarning

from skneuro import CNNRegressor
from skneuro.nn import (
    AvgPool,
    Conv,
    ConvTranspose,
    Dense,
    Flatten,
    MaxPool,
    Network,
    Reshape,
    Upsample,
)

from . import naive
from .test_gradients import B64, check_layer_gradients, check_network_gradients

CONV_TRANSPOSE_GEOMETRIES = [
    dict(shape=(2, 4, 5), kernel_size=3, stride=1, padding="same"),
    dict(shape=(2, 3, 4), kernel_size=3, stride=2, padding="same"),
    dict(shape=(1, 3, 3), kernel_size=(2, 3), stride=(2, 1), padding="valid",
         output_padding=(1, 0)),
    dict(shape=(3, 3, 2), kernel_size=4, stride=2, padding=1),
    dict(shape=(2, 3, 3), kernel_size=3, stride=3, padding=(1, 0), output_padding=(2, 1)),
    dict(shape=(2, 5), kernel_size=3, stride=2, padding="same"),  # 1-D
    dict(shape=(1, 4), kernel_size=2, stride=3, padding="valid", output_padding=2),  # gaps
]


class _RandomBias(ConvTranspose):
    """Random biases from the build's generator: outputs that no input reaches
    (output padding, a kernel smaller than the stride) sit at ``h = b``, which
    must stay away from the kink of leaky ReLU for finite differences."""

    def _build(self, input_shapes, rng):
        shape = super()._build(input_shapes, rng)
        self.params["b"][...] = rng.normal(size=self.filters)
        return shape


def _conv_transpose(geometry, filters, activation="identity", cls=ConvTranspose):
    return cls(filters, geometry["kernel_size"], stride=geometry["stride"],
               padding=geometry["padding"], output_padding=geometry.get("output_padding", 0),
               activation=activation)


@pytest.mark.parametrize("activation", ["identity", "tanh", "leaky_relu", "gelu"])
@pytest.mark.parametrize("geometry", CONV_TRANSPOSE_GEOMETRIES)
@settings(max_examples=5)
@given(n=st.integers(1, 3), filters=st.integers(1, 3), seed=st.integers(0, 2**16))
def test_conv_transpose_gradients(activation, geometry, n, filters, seed):
    check_layer_gradients(_conv_transpose(geometry, filters, activation, _RandomBias),
                          [geometry["shape"]], n, seed)


@pytest.mark.parametrize("geometry", CONV_TRANSPOSE_GEOMETRIES)
def test_conv_transpose_is_the_adjoint_of_conv(geometry, rng):
    """With shared weights, no bias and no activation, ConvTranspose is the
    input-gradient map of the Conv of the same geometry, and the reverse."""
    shape = geometry["shape"]
    c, filters, n = shape[0], 3, 2
    convt = _conv_transpose(geometry, filters)
    convt.build([shape], B64, rng)
    conv = Conv(c, geometry["kernel_size"], stride=geometry["stride"],
                padding=geometry["padding"], activation="identity")
    conv.build([convt.output_shape], B64, rng)
    assert conv.output_shape == tuple(shape)  # the convolution maps the output back
    assert conv.params["W"].shape == convt.params["W"].shape
    conv.params["W"][...] = convt.params["W"]
    x = rng.normal(size=(n,) + tuple(shape))
    y = rng.normal(size=(n,) + convt.output_shape)
    t_x = convt.forward([x]).copy()
    a_y = conv.forward([y]).copy()
    assert_allclose(np.vdot(t_x, y), np.vdot(x, a_y), rtol=1e-12)
    (conv_dx,) = conv.backward(x)
    assert_allclose(t_x, conv_dx, rtol=1e-12, atol=1e-12)
    (convt_dx,) = convt.backward(y)
    assert_allclose(convt_dx, a_y, rtol=1e-12, atol=1e-12)


def test_conv_transpose_matches_a_direct_scatter(rng):
    layer = ConvTranspose(4, (3, 2), stride=(2, 3), padding=(1, 0), output_padding=(1, 2),
                          activation="tanh")
    layer.build([(3, 4, 3)], B64, rng)
    layer.params["b"][...] = rng.normal(size=4)
    x = rng.normal(size=(2, 3, 4, 3))
    out = layer.forward([x])
    assert out.shape == (2, 4, 3 * 2 - 2 + 3 + 1, 2 * 3 + 2 + 2)
    expected = naive.conv_transpose(x, layer.params["W"], 3, 2, 2, 3, 1, 0, *out.shape[2:])
    expected = np.tanh(expected + layer.params["b"][None, :, None, None])
    assert_allclose(out, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("kernel_size", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("stride", [1, 2, 3])
def test_same_padding_multiplies_the_size_by_the_stride(kernel_size, stride, rng):
    layer = ConvTranspose(2, kernel_size, stride=stride)
    if kernel_size % 2 == 0 and stride == 1:
        with pytest.raises(ValueError, match="odd kernel"):
            layer.build([(1, 5, 4)], B64, rng)
        return
    assert layer.build([(1, 5, 4)], B64, rng) == (2, 5 * stride, 4 * stride)
    one_d = ConvTranspose(2, kernel_size, stride=stride)
    assert one_d.build([(3, 7)], B64, rng) == (2, 7 * stride)


def test_valid_and_explicit_padding_sizes(rng):
    layer = ConvTranspose(1, (3, 2), stride=(2, 3), padding="valid", output_padding=(1, 2))
    assert layer.build([(2, 4, 5)], B64, rng) == (1, 3 * 2 + 3 + 1, 4 * 3 + 2 + 2)
    layer = ConvTranspose(1, 5, stride=2, padding=2, output_padding=1)
    assert layer.build([(2, 4, 5)], B64, rng) == (1, 3 * 2 - 4 + 5 + 1, 4 * 2 - 4 + 5 + 1)


@pytest.mark.parametrize("kwargs, shape, message", [
    (dict(kernel_size=3, stride=2, output_padding=2, padding="valid"), (1, 4, 4),
     "smaller than the stride"),
    (dict(kernel_size=3, stride=1, output_padding=1, padding=0), (1, 4), "smaller than the stride"),
    (dict(kernel_size=3, stride=2, output_padding=1), (1, 4, 4), "must be 0"),
    (dict(kernel_size=1, padding=1), (1, 1, 1), "leaves no output"),
    (dict(kernel_size=3, padding="full"), (1, 4, 4), "padding must be"),
    (dict(kernel_size=(3, 3)), (1, 4), "kernel_size"),
    (dict(kernel_size=3), (4,), r"\(C, L\) or \(C, H, W\)"),
])
def test_conv_transpose_refuses_bad_geometries(kwargs, shape, message, rng):
    with pytest.raises(ValueError, match=message):
        ConvTranspose(2, **kwargs).build([shape], B64, rng)


def test_conv_transpose_refuses_bad_arguments():
    with pytest.raises(ValueError, match="filters"):
        ConvTranspose(0, 3)
    with pytest.raises(ValueError, match="activation"):
        ConvTranspose(2, 3, activation="softsign")


def test_conv_transpose_weights_and_repr(rng):
    layer = ConvTranspose(5, (3, 2), stride=2, activation="relu")
    layer.build([(4, 3, 3)], B64, rng)
    assert layer.params["W"].shape == (5 * 3 * 2, 4)
    assert layer.params["b"].shape == (5,)
    assert_array_equal(layer.params["b"], 0.0)
    # He bound for the forward convolution's fan-in, C_in * KH * KW.
    assert np.abs(layer.params["W"]).max() <= np.sqrt(6.0 / (4 * 3 * 2))
    assert layer.decay == {"W"}
    assert "ConvTranspose(5, kernel_size=(3, 2), stride=2" in repr(layer)


def test_conv_transpose_without_input_gradient(rng):
    layer = ConvTranspose(2, 3, stride=2, activation="tanh")
    layer.build([(1, 3, 3)], B64, rng)
    layer.need_input_grad = False
    out = layer.forward([rng.normal(size=(2, 1, 3, 3))])
    assert layer.backward(np.ones_like(out)) == [None]
    assert np.abs(layer.grads["W"]).sum() > 0


@pytest.mark.parametrize("geometry", [
    dict(shape=(2, 3, 4), size=2),
    dict(shape=(1, 2, 3), size=(3, 2)),
    dict(shape=(2, 1, 1), size=(1, 4)),
    dict(shape=(2, 5), size=3),  # 1-D
])
@settings(max_examples=5)
@given(n=st.integers(1, 3), seed=st.integers(0, 2**16))
def test_upsample_gradients(geometry, n, seed):
    check_layer_gradients(Upsample(geometry["size"]), [geometry["shape"]], n, seed)


def test_upsample_values_and_sizes(rng):
    x = rng.normal(size=(2, 3, 2, 3))
    layer = Upsample((2, 3))
    assert layer.build([(3, 2, 3)], B64, rng) == (3, 4, 9)
    out = layer.forward([x])
    assert_array_equal(out, np.repeat(np.repeat(x, 2, axis=2), 3, axis=3))
    one_d = Upsample(4)
    assert one_d.build([(3, 5)], B64, rng) == (3, 20)
    signal = rng.normal(size=(2, 3, 5))
    assert_array_equal(one_d.forward([signal]), np.repeat(signal, 4, axis=2))
    with pytest.raises(ValueError, match="size"):
        Upsample(0).build([(3, 5)], B64, rng)
    with pytest.raises(ValueError, match="size"):
        Upsample((2, 2)).build([(3, 5)], B64, rng)


@given(n=st.integers(1, 3), seed=st.integers(0, 2**16))
@settings(max_examples=5)
def test_reshape_gradients(n, seed):
    check_layer_gradients(Reshape((2, 3, 2)), [(12,)], n, seed)


def test_reshape_is_the_inverse_of_flatten(rng):
    reshape = Reshape((2, 3, 4))
    assert reshape.build([(24,)], B64, rng) == (2, 3, 4)
    flatten = Flatten()
    flatten.build([(2, 3, 4)], B64, rng)
    x = rng.normal(size=(5, 24))
    shaped = reshape.forward([x])
    assert shaped.shape == (5, 2, 3, 4) and np.shares_memory(shaped, x)
    assert_array_equal(flatten.forward([shaped]), x)
    (back,) = reshape.backward(shaped)
    assert back.shape == (5, 24) and np.shares_memory(back, x)
    assert Reshape(6).build([(2, 3)], B64, rng) == (6,)


def test_reshape_refuses_other_sizes(rng):
    with pytest.raises(ValueError, match=r"\(2, 3, 4\) \(24 values\)"):
        Reshape((2, 3, 4)).build([(25,)], B64, rng)
    for bad in [0, (2, -1), (), (2.0, 3), "2x3"]:
        with pytest.raises(ValueError, match="shape must be"):
            Reshape(bad)


def test_decoder_graph_gradients(rng):
    """Conv -> pool -> upsample -> transposed conv, and dense -> reshape ->
    transposed conv, end to end through the loss."""
    net = Network.sequential((1, 4, 4), [
        Conv(2, 3, activation="tanh"), MaxPool(2), Upsample(2),
        ConvTranspose(2, 3, stride=2, activation="tanh"), AvgPool(4), Flatten(),
        Dense(4, "tanh"), Reshape((1, 2, 2)),
        ConvTranspose(1, 2, stride=2, padding="valid", activation="identity"), Flatten(),
        Dense(3),
    ])
    net.build(B64, rng)
    assert net.output_shape == (3,)
    check_network_gradients(net, rng.normal(size=(3, 1, 4, 4)),
                            rng.integers(0, 3, size=3).astype(np.intp))


@pytest.mark.parametrize("layers", [
    lambda: [Conv(4, 3), MaxPool(2), Upsample(2), ConvTranspose(2, 3, stride=2), Flatten()],
    lambda: [Conv(2, 3), Flatten(), Dense(8), Reshape((2, 2, 2)),
             ConvTranspose(1, 2, stride=2, padding="valid"), Flatten()],
])
def test_cnn_regressor_fits_with_decoder_layers(layers, rng):
    X = rng.normal(size=(24, 1, 6, 6)).astype(np.float32)
    y = X[:, 0, :3, :3].sum(axis=(1, 2))
    model = CNNRegressor(layers(), max_iter=3, batch_size=8, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
    assert model.n_iter_ == 3
    assert np.isfinite(model.loss_curve_).all()
    prediction = model.predict(X)
    assert prediction.shape == (24,) and np.isfinite(prediction).all()
    restored = pickle.loads(pickle.dumps(model))
    assert_allclose(restored.predict(X), prediction, rtol=1e-6)
