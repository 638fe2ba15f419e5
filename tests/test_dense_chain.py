"""Runs of dense layers as one plan step (see :mod:`skneuro.backends.cpu.dense_chain`):
which runs are fused, and that fusing changes no result."""

from unittest import mock

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from sklearn.datasets import load_digits

import skneuro.backends.cpu.dense_chain as chain_module
import skneuro.backends.cpu.planning as planning
from skneuro import AutoEncoder, MLPClassifier, MLPRegressor
from skneuro.backends.cpu.dense_chain import DenseChain
from skneuro.nn import Add, CPUBackend, Dense, Dropout, GaussianNoise, Network
from skneuro.nn.losses import SoftmaxCrossEntropy
from tests.test_gradients import check_network_gradients

B64 = CPUBackend(np.float64)


@pytest.fixture(autouse=True)
def _chains_of_any_size():
    """The networks here are small: chain them all (the size rule has its own test)."""
    with mock.patch.object(chain_module, "CHAIN_MIN_WEIGHTS", 0):
        yield


def _layers_one_by_one():
    return mock.patch.object(planning, "DENSE_CHAINS", False)


def _build(net, dtype=np.float64):
    return net.build(CPUBackend(dtype), np.random.default_rng(0))


def _chains(plan):
    return [[step.name for step in s.steps] for s in plan.steps if isinstance(s, DenseChain)]


def test_a_stack_with_dropout_is_one_chain_for_small_requests():
    net = _build(Network.sequential((6,), [
        Dense(8, "relu"), Dropout(0.5), Dense(7, "tanh"), GaussianNoise(0.1), Dense(3)]))
    assert _chains(net.plan(64)) == [[node.name for node in net.nodes]]
    assert _chains(net.plan(CPUBackend().dense.SMALL_ROWS + 1)) == []  # not a pass's size
    with _layers_one_by_one():
        assert _chains(net.plan(64)) == []


def test_chains_end_where_a_value_is_read_twice_or_an_activation_needs_its_input():
    net = Network((5,))
    a = net.add(Dense(6, "relu"))
    b = net.add(Dense(6, "relu"), a)  # a is read twice: by b and by the Add
    s = net.add(Add(), [a, b])
    c = net.add(Dense(4, "silu"), s)  # keeps its pre-activation for backward
    d = net.add(Dense(4, "sigmoid"), c)
    e = net.add(Dense(4, "relu"), d)
    net.add(Dense(2), e, name="out")
    _build(net)
    assert _chains(net.plan(10)) == [[d, e, "out"]]


def test_small_networks_are_not_chained():
    # Below CHAIN_MIN_WEIGHTS a first prediction would compile the chain's
    # kernel for microseconds of Python saved.
    def network():
        return _build(Network.sequential((20,), [Dense(32, "relu"), Dense(10)]))

    with mock.patch.object(chain_module, "CHAIN_MIN_WEIGHTS", 20 * 32 + 32 * 10):
        net = network()
        assert _chains(net.plan(64)) == [[node.name for node in net.nodes]]
    with mock.patch.object(chain_module, "CHAIN_MIN_WEIGHTS", 20 * 32 + 32 * 10 + 1):
        assert _chains(network().plan(64)) == []


def test_a_single_dense_layer_is_not_a_chain():
    net = _build(Network.sequential((4,), [Dropout(0.2), Dense(3), Dropout(0.1)]))
    assert _chains(net.plan(5)) == []


class _Doubling(GaussianNoise):
    """A noise layer's subclass that doubles its input at prediction."""

    def forward(self, inputs, training=False):
        return inputs[0] * 2.0


def test_a_subclass_of_an_identity_layer_is_not_skipped(rng):
    # The flag counts only where a class declares it itself.
    net = _build(Network.sequential((4,), [Dense(5, "relu"), _Doubling(0.1), Dense(3)]))
    x = rng.normal(size=(6, 4))
    fused = net.forward(x).copy()
    with _layers_one_by_one():
        assert_array_equal(net.forward(x), fused)
    assert _chains(net.plan(6)) == []


@pytest.mark.parametrize("n", [1, 5, 64, 256])
def test_fused_prediction_and_gradients_are_those_of_the_layers(rng, n):
    # Bit for bit, both the outputs and the gradients of a backward pass run
    # after a prediction pass (as L-BFGS does).
    layers = [Dense(30, "relu"), Dropout(0.3), Dense(20, "leaky_relu"), Dense(10, "sigmoid"),
              Dense(3)]
    x = rng.normal(size=(n, 12))
    x[rng.random(x.shape) < 0.5] = 0
    y = rng.integers(0, 3, size=n).astype(np.intp)
    w = np.full(n, 1.0 / n)
    results = []
    for fused in (True, False):
        with mock.patch.object(planning, "DENSE_CHAINS", fused):
            net = _build(Network.sequential((12,), layers))
            assert bool(_chains(net.plan(n))) == fused
            loss = SoftmaxCrossEntropy().bind(B64)
            out = net.forward(x).copy()
            net.backward(loss(net.forward(x), y, w).copy())
            results.append([out] + [layer.grads[name].copy()
                                    for layer, name in net.parameters()])
    for a, b in zip(*results):
        assert_array_equal(a, b)


def test_gradients_through_a_chain_against_finite_differences(rng):
    # The backward pass follows a fused prediction pass; the finite
    # differences run the layers one by one (training=True). Dropout(0.0):
    # a dropout layer inside the chain, without random masks.
    net = _build(Network.sequential((5,), [Dense(6, "tanh"), Dropout(0.0), Dense(4, "sigmoid"),
                                           Dense(3)]))
    assert _chains(net.plan(7))
    check_network_gradients(net, rng.normal(size=(7, 5)), rng.integers(0, 3, 7).astype(np.intp))


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("estimator", [
    MLPClassifier((32, 16), dropout=0.2, max_iter=5, random_state=0),
    MLPClassifier((16,), solver="lbfgs", max_iter=20, random_state=0),
    MLPRegressor((16, 8), activation="tanh", max_iter=5, random_state=0),
    AutoEncoder(4, hidden_layer_sizes=(16,), solver="lbfgs", max_iter=10, random_state=0),
], ids=["mlp-dropout", "mlp-lbfgs", "regressor", "autoencoder-lbfgs"])
def test_estimators_fit_and_predict_the_same_with_and_without_chains(estimator):
    # L-BFGS computes its objective with prediction passes (200 rows: chains).
    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)
    y = X[:200, :3] if isinstance(estimator, MLPRegressor) else y[:200]
    results = []
    for fused in (True, False):
        with mock.patch.object(planning, "DENSE_CHAINS", fused):
            fitted = estimator.fit(X[:200], y)
            predict = next(getattr(fitted, name) for name in ("predict_proba", "transform",
                                                              "predict") if hasattr(fitted, name))
            results.append((fitted.network_.get_weights(), predict(X[200:270]),
                            predict(X[200:203])))
    (w1, p1, q1), (w2, p2, _) = results
    for a, b in zip(w1, w2):
        assert_array_equal(a, b)
    assert_array_equal(p1, p2)
    assert_array_equal(q1, p1[:3])  # a row's prediction is that of any request
