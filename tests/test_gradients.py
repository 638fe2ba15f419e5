"""Finite-difference checks of every layer, activation and loss (float64),
and float32-vs-float64 agreement of the same computations."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from numpy.testing import assert_allclose

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
DIFFERENTIABLE = ["identity", "sigmoid", "tanh", "relu", "leaky_relu"]


def numeric_gradient(f, x):
    """Central differences of scalar f() with respect to array x (modified in place)."""
    grad = np.zeros_like(x)
    flat = x.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + EPS
        up = f()
        flat[i] = old - EPS
        down = f()
        flat[i] = old
        grad.reshape(-1)[i] = (up - down) / (2 * EPS)
    return grad


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
    for name, param in layer.params.items():
        assert_allclose(analytic[name], numeric_gradient(objective, param),
                        rtol=1e-5, atol=1e-7, err_msg=f"d/d{name}")
    for k, x in enumerate(xs):
        assert_allclose(input_grads[k], numeric_gradient(objective, x),
                        rtol=1e-5, atol=1e-7, err_msg=f"d/dx{k}")



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
    x = rng.normal(size=(5, 3))
    y = rng.integers(0, 2, size=5).astype(np.intp)
    w = np.full(5, 0.2)
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
