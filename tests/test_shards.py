"""Sharded batches: the same model for any number of threads, the masks of the
whole batch, predictions equal to an unsharded forward pass."""

import os
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning

from skneuro import CNNClassifier
from skneuro.backends.cpu import shards
from skneuro.backends.cpu.shards import MIN_SHARD_ROWS, Shards, shard_bounds
from skneuro.nn import (
    Conv,
    CPUBackend,
    Dense,
    Dropout,
    Flatten,
    MaxPool,
    Network,
    SoftmaxCrossEntropy,
    Trainer,
    make_optimizer,
    make_schedule,
)
from skneuro.nn.augment import Augment

from .test_runtime import run_python


@pytest.mark.parametrize("n_rows", [1, 7, 8, 15, 16, 17, 64, 65, 1000])
@pytest.mark.parametrize("n_shards", [1, 2, 3])
def test_shard_bounds_cover_the_batch_in_order(n_rows, n_shards):
    bounds = shard_bounds(n_rows, n_shards)
    assert bounds[0][0] == 0 and bounds[-1][1] == n_rows
    assert all(a[1] == b[0] for a, b in zip(bounds, bounds[1:]))
    assert len(bounds) == max(1, min(n_shards, n_rows // MIN_SHARD_ROWS))
    sizes = [stop - start for start, stop in bounds]
    assert max(sizes) - min(sizes) <= 1


def _network(rng, dropout=0.3, augment=True):
    layers = ([Augment(shift=1, noise=0.05)] if augment else []) + [
        Conv(4, 3, activation="leaky_relu"), MaxPool(2), Flatten(), Dense(16, "relu"),
        Dropout(dropout), Dense(3)]
    return Network.sequential((1, 6, 6), layers).build(CPUBackend(np.float64), rng)


def _trainer(network, n_shards, rng):
    return Trainer(network, SoftmaxCrossEntropy().bind(network.backend),
                   make_optimizer("sgd", 0.9, True, 0.9, 0.999, 1e-8),
                   make_schedule("constant", 0.05, 0.5, 10, None),
                   batch_size=40, max_iter=3, rng=rng, n_shards=n_shards, tol=-np.inf)


@pytest.fixture(params=["own", "fused"])
def weight_grads(request, monkeypatch):
    """Dense weight gradients per shard, or from one product over the batch."""
    if request.param == "fused":
        monkeypatch.setattr(shards, "FUSED_WEIGHT_GRAD_MIN", 0)
    return request.param


def test_sharded_training_follows_the_unsharded_one(rng, weight_grads):
    """Float64: the shards' summed gradient is the batch's, with the batch's
    dropout and augmentation draws, so the weights agree to rounding."""
    X = rng.normal(size=(100, 1, 6, 6))
    y = rng.integers(0, 3, size=100).astype(np.intp)
    w = np.ones(100)
    weights = []
    for n_shards in (1, 2, 3):
        network = _network(np.random.default_rng(0))
        _trainer(network, n_shards, np.random.default_rng(1)).run(X, y, w)
        weights.append(network.get_weights())
    for other in weights[1:]:
        for a, b in zip(weights[0], other):
            assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_packed_and_separate_parameters_train_the_same_model(weight_grads):
    """With the parameters packed (see skneuro.backends._flat), each thread adds
    up and updates its part of the flat buffers in a few calls; with separate
    arrays, its part of each array: the same sums, to the bit."""
    X = np.random.default_rng(2).normal(size=(100, 1, 6, 6))
    y = np.arange(100) % 3
    weights = []
    for packed in (True, False):
        network = _network(np.random.default_rng(0))
        if not packed:
            network.__dict__.pop("_flat")
        assert (network.flat_parameters is not None) == packed
        _trainer(network, 2, np.random.default_rng(1)).run(X, y, np.ones(100))
        replica = network._shards.replicas[1]
        assert (replica._flat_grads is not None) == packed
        weights.append(network.get_weights())
    for a, b in zip(*weights):
        assert_array_equal(a, b)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_prediction_in_our_kernels_runs_on_every_core_with_the_shards_values(
        rng, dtype, monkeypatch):
    """A network whose layers all run in our kernels predicts through their
    parallel variants (TBB) instead of shards: the same values, to the bit."""
    from skneuro.backends.cpu import prediction

    network = Network.sequential((1, 8, 8), [
        Conv(4, 3, activation="leaky_relu"), MaxPool(2), Conv(6, 3, padding="valid"),
        Flatten(), Dense(16, "relu"), Dense(3)]).build(CPUBackend(dtype), rng)
    x = rng.normal(size=(90, 1, 8, 8)).astype(dtype)
    assert prediction._in_our_kernels(network, 40)
    outs = []
    for ours in (True, False):
        monkeypatch.setattr(prediction, "_in_our_kernels", lambda net, rows, v=ours: v)
        out = np.full((90, 3), np.nan, dtype)
        network.backend.predict(network, x, out, 40, n_shards=2)
        outs.append(out)
    assert_array_equal(outs[0], outs[1])


def test_a_network_with_blas_convolutions_predicts_in_shards(rng):
    from skneuro.backends.cpu import prediction

    pointwise = Network.sequential((2, 6, 6), [Conv(4, 1), Flatten(), Dense(3)]).build(
        CPUBackend(np.float32), rng)
    assert not prediction._in_our_kernels(pointwise, 40)
    strided = Network.sequential((2, 6, 6), [Conv(4, 3, stride=2), Flatten(), Dense(3)]).build(
        CPUBackend(np.float32), rng)
    assert not prediction._in_our_kernels(strided, 40)
    lanes = Network.sequential((2, 6, 6), [Conv(4, 3), Flatten(), Dense(3)]).build(
        CPUBackend(np.float32), rng)
    assert prediction._in_our_kernels(lanes, 40)
    assert not prediction._in_our_kernels(lanes, 4)  # under MIN_LANES_BATCH: unfolded


def test_sharded_forward_equals_the_network(rng):
    network = _network(np.random.default_rng(0))
    x = rng.normal(size=(50, 1, 6, 6))
    expected = network.forward(x).copy()
    out = np.full_like(expected, np.nan)
    Shards(network, None, 2).forward(x, out)
    assert_allclose(out, expected, rtol=1e-13, atol=1e-14)


def test_cnn_is_bit_identical_for_one_and_two_threads(weight_grads):
    """The shards are fixed by the batch and run single-threaded BLAS, so the
    number of threads cannot change the model (GridSearchCV(n_jobs=2) fits
    the same models as a serial search)."""
    X, y = load_digits(return_X_y=True)
    X, y = X[:300] / 16, y[:300]
    params = dict(layers="C-4.3, P-2, D-16_d0.2", input_shape=(1, 8, 8), max_iter=3,
                  random_state=0, batch_size=64, augment_shift=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        one = CNNClassifier(**params, n_jobs=1).fit(X, y)
        two = CNNClassifier(**params, n_jobs=2).fit(X, y)
    for a, b in zip(one.network_.get_weights(), two.network_.get_weights()):
        assert_array_equal(a, b)
    assert_array_equal(one.predict_proba(X), two.predict_proba(X))


def test_fused_weight_gradient_is_used_and_released(rng, monkeypatch):
    """The large dense layer's gradient comes from the batch-wide product (the
    shards' own products are skipped), and an unsharded backward pass of the
    same network afterwards computes its own again."""
    monkeypatch.setattr(shards, "FUSED_WEIGHT_GRAD_MIN", 100)  # Dense(16): 576, Dense(3): 48
    network = _network(np.random.default_rng(0), dropout=0.0, augment=False)
    x = rng.normal(size=(40, 1, 6, 6))
    y = rng.integers(0, 3, size=40).astype(np.intp)
    w = np.full(40, 1 / 40)
    loss = SoftmaxCrossEntropy().bind(network.backend)
    expected = network.forward(x, training=True)
    network.backward(loss(expected, y, w))
    expected = {name: network.layers[3].grads[name].copy() for name in ("W", "b")}
    sharded = Shards(network, loss, 2)
    assert sharded._fused == [3]
    for layer in [network.layers[3]] + [r.layers[3] for r in sharded.replicas]:
        layer.grads["W"][...] = np.nan
    sharded.train_step(x, y, w)
    assert np.isnan(sharded.replicas[1].layers[3].grads["W"]).all()  # not computed
    sharded.update(make_optimizer("sgd", 0.0, False, 0.9, 0.999, 1e-8), 0.0, 0.0)
    for name in ("W", "b"):
        assert_allclose(network.layers[3].grads[name], expected[name], rtol=1e-12)
    assert not any(r.layers[3].defer_weight_grad for r in sharded.replicas)
    network.layers[3].grads["W"][...] = np.nan
    network.backward(loss(network.forward(x, training=True), y, w))
    assert_allclose(network.layers[3].grads["W"], expected["W"], rtol=1e-12)


def test_replicas_follow_replaced_parameters(rng):
    """Replicas share the parameter dicts: set_weights and a rebound network are seen."""
    network = _network(np.random.default_rng(0), augment=False)
    shards = Shards(network, None, 2)
    x = rng.normal(size=(40, 1, 6, 6))
    network.set_weights([np.zeros_like(a) for a in network.get_weights()])
    out = np.empty((40, 3))
    shards.forward(x, out)
    assert_array_equal(out, 0.0)
    assert shards.is_current(network, None)
    network.bind(CPUBackend(np.float32))
    assert not shards.is_current(network, None)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork is POSIX only")
def test_fork_after_a_sharded_fit_does_not_hang():
    code = """
    import os, warnings
    import numpy as np
    from skneuro import CNNClassifier
    warnings.simplefilter("ignore")
    X = np.random.default_rng(0).normal(size=(200, 36))
    y = (X[:, 0] > 0).astype(int)

    def job():
        clf = CNNClassifier("C-4.3, D-8", input_shape=(1, 6, 6), max_iter=2, random_state=0)
        return clf.fit(X, y).predict(X)

    first = job()
    pid = os.fork()
    if pid == 0:
        os._exit(0 if np.array_equal(job(), first) else 1)
    _, status = os.waitpid(pid, 0)
    print(os.waitstatus_to_exitcode(status))
    """
    proc = run_python(code, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "0"


def test_batch_transform_sees_every_batch_once_with_its_step(rng):
    """The hook a diffusion model draws its noise in: called on each gathered
    batch, with a step count that continues across calls of run()."""
    X = rng.normal(size=(50, 1, 6, 6))
    y = rng.integers(0, 3, size=50).astype(np.intp)
    seen = []

    def transform(xb, yb, wb, step):
        seen.append((step, xb.shape[0]))
        return xb * 0.0, yb, wb  # the network sees only zeros

    network = _network(np.random.default_rng(0), augment=False, dropout=0.0)
    trainer = _trainer(network, 1, np.random.default_rng(1))
    trainer.batch_transform = transform
    trainer.max_iter = 2
    trainer.run(X, y, np.ones(50), n_epochs=1)
    trainer.run(X, y, np.ones(50), n_epochs=1)
    assert seen == [(0, 40), (1, 10), (2, 40), (3, 10)]
    # Inputs of zeros: the first layer's weights get no gradient, so they stay.
    first = network.layers[0]
    again = _network(np.random.default_rng(0), augment=False, dropout=0.0).layers[0]
    assert_array_equal(first.params["W"], again.params["W"])


def test_ctrl_c_while_waiting_for_the_shards_still_waits_for_every_one():
    """A worker's kernel cannot be stopped: an interrupted caller that went
    on would restore weights, or start the next call, while it still writes.
    The wait goes on through Ctrl-C, then the KeyboardInterrupt is raised."""
    import threading
    import time
    from concurrent.futures import ThreadPoolExecutor

    release, finished = threading.Event(), []

    class InterruptedOnce:
        """A future whose first wait is cut by Ctrl-C (the signal comes then)."""

        def __init__(self, future):
            self.future, self.cut = future, False

        def result(self):
            if not self.cut:
                self.cut = True
                release.set()  # the worker finishes a moment later
                raise KeyboardInterrupt
            return self.future.result()

    def work():
        release.wait()
        time.sleep(0.05)
        finished.append(True)

    with ThreadPoolExecutor(1) as pool:
        future = InterruptedOnce(pool.submit(work))
        with pytest.raises(KeyboardInterrupt):
            shards._wait_for_all([future])
        assert finished == [True]  # waited for, although interrupted
