"""Finite-difference checks of every layer, activation and loss (float64),
and float32-vs-float64 agreement of the same computations."""

from unittest import mock

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal

from skneuro.nn import (
    Activation,
    Add,
    Concatenate,
    CPUBackend,
    Dense,
    Dropout,
    Network,
    PoissonDeviance,
    SigmoidBinaryCrossEntropy,
    SoftmaxCrossEntropy,
    SquaredError,
)

B64 = CPUBackend(np.float64)
B32 = CPUBackend(np.float32)
EPS = 1e-6
DIFFERENTIABLE = ["identity", "sigmoid", "tanh", "relu", "leaky_relu", "silu", "gelu"]


def numeric_gradient(f, x, kinks=None):
    """Central differences of scalar f() with respect to array x (modified in place).

    With a list ``kinks``, the flat indices where f has a kink within EPS of x
    (its one-sided differences disagree: a ReLU's pre-activation within reach
    of zero, where f has no derivative to compare with) are appended to it.
    """
    grad = np.zeros_like(x)
    flat = x.reshape(-1)
    centre = f() if kinks is not None else None
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + EPS
        up = f()
        flat[i] = old - EPS
        down = f()
        flat[i] = old
        grad.reshape(-1)[i] = (up - down) / (2 * EPS)
        if kinks is not None:
            ahead, behind = (up - centre) / EPS, (centre - down) / EPS
            if abs(ahead - behind) > 1e-3 * (1 + abs(ahead) + abs(behind)):
                kinks.append(i)
    return grad


#: Activations with a kink (no derivative at 0).
KINKED = {"relu", "leaky_relu"}


def assert_gradient(analytic, f, x, kinked, what):
    """``analytic`` equals the finite differences of f() in ``x``, wherever f has a
    derivative: only a layer with a kinked activation may have points without
    one, and never most of them."""
    kinks = []
    numeric = numeric_gradient(f, x, kinks)
    if not kinked:
        assert kinks == [], f"{what}: one-sided differences disagree at {kinks}"
    assert len(kinks) <= numeric.size // 2, f"{what}: kinks at {kinks}"
    smooth = np.ones(numeric.size, bool)
    smooth[kinks] = False
    assert_allclose(analytic.reshape(-1)[smooth], numeric.reshape(-1)[smooth],
                    rtol=1e-5, atol=1e-7, err_msg=what)


def check_layer_gradients(layer, input_shapes, n, seed):
    """Compare backward() with finite differences of sum(R * forward(x))."""
    rng = np.random.default_rng(seed)
    layer.build(input_shapes, B64, rng)
    layer.need_input_grad = True
    xs = [rng.normal(size=(n,) + tuple(s)) for s in input_shapes]
    out_shape = (n,) + tuple(layer.output_shape)
    R = rng.normal(size=out_shape)

    def objective():
        return float(np.sum(R * layer.forward(xs, training=False)))

    objective()
    input_grads = [g.copy() for g in layer.backward(R.copy())]
    analytic = {k: v.copy() for k, v in layer.grads.items()}
    kinked = getattr(layer, "activation", None) in KINKED
    for name, param in layer.params.items():
        assert_gradient(analytic[name], objective, param, kinked, f"d/d{name}")
    for k, x in enumerate(xs):
        assert_gradient(input_grads[k], objective, x, kinked, f"d/dx{k}")



@pytest.mark.parametrize("activation", DIFFERENTIABLE)
@given(n=st.integers(1, 5), n_in=st.integers(1, 6), units=st.integers(1, 5),
       seed=st.integers(0, 2**16))
def test_dense_gradients(activation, n, n_in, units, seed):
    check_layer_gradients(Dense(units, activation, slope=0.3 if activation == "leaky_relu"
                                else 1.7 if activation == "sigmoid" else None),
                          [(n_in,)], n, seed)


@pytest.mark.parametrize("activation", DIFFERENTIABLE)
@given(n=st.integers(1, 5), size=st.integers(1, 6), seed=st.integers(0, 2**16))
def test_activation_layer_gradients(activation, n, size, seed):
    check_layer_gradients(Activation(activation), [(size,)], n, seed)


def test_step_activation_has_zero_gradient(rng):
    layer = Dense(3, "step")
    layer.build([(4,)], B64, rng)
    x = rng.normal(size=(5, 4))
    out = layer.forward([x])
    assert set(np.unique(out)) <= {0.0, 1.0}
    (dx,) = layer.backward(np.ones((5, 3)))
    assert not dx.any() and not layer.grads["W"].any()


@given(n=st.integers(1, 4), size=st.integers(1, 5), seed=st.integers(0, 2**16))
def test_add_gradients(n, size, seed):
    check_layer_gradients(Add(), [(size,), (size,)], n, seed)


@given(n=st.integers(1, 4), a=st.integers(1, 4), b=st.integers(1, 4),
       seed=st.integers(0, 2**16))
def test_concatenate_gradients(n, a, b, seed):
    check_layer_gradients(Concatenate(), [(a,), (b,)], n, seed)


def test_dropout_gradient_uses_the_forward_mask(rng):
    layer = Dropout(0.5)
    layer.build([(30,)], B64, rng)
    x = rng.normal(size=(4, 30))
    out = layer.forward([x], training=True).copy()
    kept = out != 0
    assert 0 < kept.mean() < 1
    assert_allclose(out[kept], 2 * x[kept])
    (dx,) = layer.backward(np.ones((4, 30)))
    assert_allclose(dx, 2.0 * kept)
    assert layer.forward([x], training=False) is x


LOSSES = [SquaredError, SoftmaxCrossEntropy, SigmoidBinaryCrossEntropy, PoissonDeviance]


def _targets(loss, rng, n, m, dtype):
    if loss.integer_targets:
        return rng.integers(0, m, size=n).astype(np.intp)
    if isinstance(loss, SigmoidBinaryCrossEntropy):
        return rng.integers(0, 2, size=(n, m)).astype(dtype)
    if isinstance(loss, PoissonDeviance):
        return rng.poisson(2.0, size=(n, m)).astype(dtype)
    return rng.normal(size=(n, m)).astype(dtype)


@pytest.mark.parametrize("loss_cls", LOSSES)
@given(n=st.integers(1, 6), m=st.integers(1, 5), seed=st.integers(0, 2**16))
def test_loss_gradients(loss_cls, n, m, seed):
    rng = np.random.default_rng(seed)
    loss = loss_cls().bind(B64)
    z = rng.normal(scale=2, size=(n, m))
    t = _targets(loss, rng, n, m, np.float64)
    w = rng.uniform(0.1, 1, size=n)
    w /= w.sum()
    grad = loss(z, t, w).copy()
    numeric = numeric_gradient(lambda: loss.value(z, t, w), z)
    assert_allclose(grad, numeric, rtol=1e-5, atol=1e-7)


@given(seed=st.integers(0, 2**16))
def test_graph_network_gradients_with_skip_and_residual(seed):
    """A graph with a residual Add, a skip Concatenate and a fork into two consumers."""
    rng = np.random.default_rng(seed)
    net = Network((3,))
    h = net.add(Dense(4, "tanh"))
    r = net.add(Dense(4, "sigmoid"), h)
    s = net.add(Add(), [h, r])
    c = net.add(Concatenate(), [s, h])
    net.add(Dense(2, "identity"), c)
    net.build(B64, rng)
    check_network_gradients(net, rng.normal(size=(5, 3)),
                            rng.integers(0, 2, size=5).astype(np.intp))


def check_network_gradients(net, x, y):
    """Backpropagated gradients of every parameter against finite differences."""
    w = np.full(len(y), 1.0 / len(y))
    loss = SoftmaxCrossEntropy().bind(B64)

    def objective():
        return loss.value(net.forward(x, training=True), y, w)

    objective()
    net.backward(loss(net.forward(x), y, w).copy())
    for layer, name in net.parameters():
        analytic = layer.grads[name].copy()
        assert_allclose(analytic, numeric_gradient(objective, layer.params[name]),
                        rtol=1e-5, atol=1e-7, err_msg=f"{layer!r}.{name}")


@pytest.mark.parametrize("activation", DIFFERENTIABLE)
def test_float32_matches_float64(activation, rng):
    """The same network, weights and batch in both precisions."""
    x = rng.normal(size=(16, 8))
    y = rng.integers(0, 3, size=16).astype(np.intp)
    w = np.full(16, 1 / 16)
    grads = {}
    for backend in (B64, B32):
        net = Network.sequential((8,), [Dense(10, activation), Dense(3)])
        net.build(backend, np.random.default_rng(1))
        loss = SoftmaxCrossEntropy().bind(backend)
        out = net.forward(backend.asarray(x))
        value = loss.value(out, y, backend.asarray(w))
        net.backward(loss.grad)
        grads[backend.dtype] = (value, [layer.grads[n].copy() for layer, n in net.parameters()])
    v64, g64 = grads[np.dtype(np.float64)]
    v32, g32 = grads[np.dtype(np.float32)]
    assert_allclose(v32, v64, rtol=1e-5)
    for a, b in zip(g32, g64):
        assert a.dtype == np.float32
        assert_allclose(a, b, rtol=1e-3, atol=1e-5)


# -- convolution and pooling ------------------------------------------------------
from skneuro.backends.cpu import convolution  # noqa: E402
from skneuro.backends.cpu.convolution import MIN_LANES_BATCH  # noqa: E402
from skneuro.nn import AvgPool, Conv, Flatten, MaxPool  # noqa: E402


@pytest.mark.parametrize("activation", ["identity", "tanh", "leaky_relu", "silu"])
@pytest.mark.parametrize("geometry", [
    dict(shape=(2, 5, 6), kernel_size=3, stride=1, padding="same"),
    dict(shape=(2, 4, 6), kernel_size=3, stride=1, padding="same"),  # Winograd in lanes
    dict(shape=(3, 6, 5), kernel_size=(2, 3), stride=(2, 1), padding="valid"),
    dict(shape=(1, 7, 7), kernel_size=3, stride=2, padding=1),
    dict(shape=(2, 9), kernel_size=3, stride=1, padding="same"),  # 1-D
    dict(shape=(3, 8), kernel_size=2, stride=2, padding="valid"),  # 1-D, strided
    dict(shape=(3, 6, 5), kernel_size=(3, 2), stride=1, padding=(1, 0)),
    dict(shape=(2, 6, 6), kernel_size=2, stride=1, padding="valid"),
    dict(shape=(2, 4, 4), kernel_size=4, stride=1, padding="same"),  # even window
])
@pytest.mark.parametrize("method", ["lanes", "unfold"])
@given(n=st.integers(1, 3), filters=st.integers(1, 3), seed=st.integers(0, 2**16))
def test_conv_gradients(activation, geometry, method, n, filters, seed):
    # Both ways to compute: stride 1 runs in lanes unless the padding exceeds
    # the window; the unfold path serves every other case, and is forced here
    # on the stride-1 geometries too.
    layer = Conv(filters, geometry["kernel_size"], stride=geometry["stride"],
                 padding=geometry["padding"], activation=activation)
    with _forced(method):
        check_layer_gradients(layer, [geometry["shape"]], n, seed)


def _forced(method):
    """Make every Conv compute by ``method`` ("lanes" only where it applies, at any
    batch size)."""
    if method == "lanes":
        return mock.patch.object(convolution, "MIN_LANES_BATCH", 1)
    return mock.patch.object(convolution, "method", lambda layer, n: "unfold")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(3, 5, 6), (2, 8, 8), (4, 28)], ids=["5x6", "8x8", "1-D"])
def test_lanes_give_each_sample_the_same_result_in_any_batch(rng, dtype, shape):
    """Samples sit in vector lanes, in blocks of 32 (16-sample transposes): a
    sample's outputs and input gradient must not depend on its batch (sizes
    that fill blocks or leave remainders, from the smallest batch run in
    lanes on), and the weight gradient of the batch is the sum of the
    samples' ones."""
    x = rng.normal(size=(37,) + shape).astype(dtype)
    layer = Conv(5, 3, activation="tanh")
    layer.build([shape], CPUBackend(dtype), rng)
    assert convolution.method(layer, MIN_LANES_BATCH) == "lanes"
    assert convolution.method(layer, MIN_LANES_BATCH - 1) == "unfold"
    whole = layer.forward([x], training=True).copy()
    dx = layer.backward(np.ones_like(whole))[0].copy()
    dW = layer.grads["W"].copy()
    tol = dict(rtol=1e-5, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)
    dW_sum = np.zeros_like(dW, dtype=np.float64)
    for start, stop in [(0, MIN_LANES_BATCH), (MIN_LANES_BATCH, 17), (17, 37)]:
        part = layer.forward([x[start:stop]], training=True)
        assert_array_equal(part, whole[start:stop])
        assert_array_equal(layer.backward(np.ones_like(part))[0], dx[start:stop])
        dW_sum += layer.grads["W"]
    assert_allclose(dW_sum, dW, **tol)


@pytest.mark.parametrize("stride", [(1, 2), (1, 1)])
@pytest.mark.parametrize("method", ["lanes", "unfold"])
def test_conv_matches_a_naive_convolution(rng, stride, method):
    """Every method against a naive loop (cross-correlation, as in CNNs)."""
    x = rng.normal(size=(2, 3, 6, 5))
    layer = Conv(4, (3, 2), stride=stride, padding=(1, 0))
    layer.build([(3, 6, 5)], B64, rng)
    with _forced(method):
        out = layer.forward([x]).copy()
    W = layer.params["W"].reshape(3, 3, 2, 4)  # (C, KH, KW, F)
    padded = np.pad(x, ((0, 0), (0, 0), (1, 1), (0, 0)))
    oh, ow = out.shape[2], out.shape[3]
    sw = stride[1]
    expected = np.zeros_like(out)
    for i in range(oh):
        for j in range(ow):
            window = padded[:, :, i:i + 3, sw * j:sw * j + 2]
            expected[:, :, i, j] = np.einsum("nchw,chwf->nf", window, W)
    expected = np.maximum(expected + layer.params["b"][None, :, None, None], 0)
    assert_allclose(out, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("Pool", [MaxPool, AvgPool])
@pytest.mark.parametrize("geometry", [
    dict(shape=(2, 6, 6), pool_size=2, stride=None),
    dict(shape=(1, 5, 7), pool_size=3, stride=2),   # overlapping, clipped at the edge
    dict(shape=(2, 1, 1), pool_size=2, stride=None),  # smaller than the window
    dict(shape=(2, 7), pool_size=2, stride=None),   # 1-D, odd length
])
@given(n=st.integers(1, 3), seed=st.integers(0, 2**16))
def test_pool_gradients(Pool, geometry, n, seed):
    check_layer_gradients(Pool(geometry["pool_size"], geometry["stride"]),
                          [geometry["shape"]], n, seed)


def test_pooling_values_and_sizes(rng):
    x = rng.normal(size=(1, 1, 5, 5))
    mp = MaxPool(2)
    mp.build([(1, 5, 5)], B64, rng)
    assert mp.output_shape == (1, 3, 3)  # clipped windows: 5 -> 3, never dropped
    out = mp.forward([x])
    assert out[0, 0, 0, 0] == x[0, 0, :2, :2].max()
    assert out[0, 0, 2, 2] == x[0, 0, 4, 4]
    ap = AvgPool(2)
    ap.build([(1, 5, 5)], B64, rng)
    out = ap.forward([x])
    assert_allclose(out[0, 0, 0, 0], x[0, 0, :2, :2].mean())
    assert_allclose(out[0, 0, 2, 1], x[0, 0, 4, 2:4].mean())
    tiny = MaxPool(2)
    tiny.build([(3, 1, 1)], B64, rng)
    assert tiny.output_shape == (3, 1, 1)


def test_cnn_graph_gradients(rng):
    """Conv -> pool -> flatten -> dense, end to end through the loss."""
    net = Network.sequential((2, 6, 6), [Conv(3, 3, activation="tanh"), MaxPool(2),
                                          Conv(2, 3, activation="sigmoid"), AvgPool(2),
                                          Flatten(), Dense(3)])
    net.build(B64, rng)
    check_network_gradients(net, rng.normal(size=(4, 2, 6, 6)),
                            rng.integers(0, 3, size=4).astype(np.intp))


from skneuro.nn import GroupNorm, LayerNorm  # noqa: E402


@pytest.mark.parametrize("layer, shape", [
    (GroupNorm(2), (4, 3, 2)), (GroupNorm(3), (3, 5)), (LayerNorm(), (6,)),
    (GroupNorm(1, eps=1e-3), (2, 4)),
    # A fused activation: one whose derivative needs the input (SiLU, GELU),
    # and ones written from the output.
    (GroupNorm(2, activation="silu"), (4, 3, 2)), (GroupNorm(2, activation="gelu"), (4, 3)),
    (GroupNorm(3, activation="tanh"), (3, 5)), (LayerNorm(activation="sigmoid"), (6,)),
])
@given(n=st.integers(1, 3), seed=st.integers(0, 2**16))
def test_normalization_gradients(layer, shape, n, seed):
    # A random scale and shift: at gamma = 1, beta = 0 a bug in their
    # gradients could hide.
    check_layer_gradients(_RandomAffine(layer), [shape], n, seed)


class _RandomAffine:
    """Builds the wrapped layer, then draws gamma and beta at random."""

    def __init__(self, layer):
        self.layer = layer

    def __getattr__(self, name):
        return getattr(self.layer, name)

    def build(self, input_shapes, backend, rng):
        shape = self.layer.build(input_shapes, backend, rng)
        self.layer.params["gamma"][...] = rng.normal(size=self.layer.params["gamma"].shape)
        self.layer.params["beta"][...] = rng.normal(size=self.layer.params["beta"].shape)
        return shape


def test_group_norm_refuses_channels_it_cannot_group(rng):
    with pytest.raises(ValueError, match="divisible by 4"):
        GroupNorm(4).build([(6, 3)], B64, rng)
    with pytest.raises(ValueError, match="groups"):
        GroupNorm(0)


from skneuro.nn import ChannelAdd, SinusoidalEmbedding, Slice  # noqa: E402

from . import naive  # noqa: E402


@given(n=st.integers(1, 3), seed=st.integers(0, 2**16))
def test_slice_and_channel_add_gradients(n, seed):
    check_layer_gradients(Slice(2, 8, shape=(2, 3)), [(10,)], n, seed)
    check_layer_gradients(ChannelAdd(), [(3, 2, 2), (3,)], n, seed)


def test_time_conditioned_residual_block_gradients(rng):
    """The diffusion U-Net's block: the input is an image followed by its step;
    the step's embedding, projected per channel, is added to the feature maps
    between normalized convolutions, and a residual joins the block's input."""
    net = Network((2 * 4 * 4 + 1,))
    image = net.add(Slice(0, 32, shape=(2, 4, 4)), "input")
    step = net.add(Slice(32, 33), "input")
    emb = net.add(SinusoidalEmbedding(8), step)
    proj = net.add(Dense(2, "silu"), emb)
    h = net.add(Conv(2, 3, activation="identity"), image)
    h = net.add(GroupNorm(2), h)
    h = net.add(ChannelAdd(), [h, proj])
    h = net.add(Activation("silu"), h)
    h = net.add(Conv(2, 3, activation="gelu"), h)
    h = net.add(Add(), [h, image])
    h = net.add(Flatten(), h)
    net.add(Dense(3), h)
    net.build(B64, np.random.default_rng(0))
    x = rng.normal(size=(5, 33))
    x[:, 32] = rng.integers(0, 100, size=5)
    check_network_gradients(net, x, rng.integers(0, 3, size=5).astype(np.intp))


def test_embedding_layer_matches_its_reference(rng):
    layer = SinusoidalEmbedding(6, max_period=100.0)
    layer.build([(1,)], B64, rng)
    t = np.array([[0.0], [3.0], [50.0]])
    assert_allclose(layer.forward([t]), naive.sinusoidal_embedding(t[:, 0], 6, 100.0),
                    rtol=1e-12, atol=1e-12)
    assert layer.backward(np.ones((3, 6))) == [None]
    with pytest.raises(ValueError, match="one number per sample"):
        SinusoidalEmbedding(4).build([(2,)], B64, rng)
    with pytest.raises(ValueError, match="one value per channel"):
        ChannelAdd().build([(3, 2, 2), (2,)], B64, rng)
    with pytest.raises(ValueError, match="past"):
        Slice(0, 11).build([(10,)], B64, rng)
