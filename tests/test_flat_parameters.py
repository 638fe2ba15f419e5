"""Both backends pack a network's parameters into flat buffers (see
:mod:`skneuro.backends._flat`): an optimizer step is one call of the backend's
update (on the GPU, one launch), and nothing else changes. Runs on numba's CUDA simulator
(tests/conftest.py)."""

import pickle

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import load_digits

from skneuro import MLPClassifier
from skneuro.backends import cuda_unavailable_reason, get_backend
from skneuro.nn import Conv, Dense, Flatten, GroupNorm, Network, make_optimizer

pytestmark = pytest.mark.skipif(
    cuda_unavailable_reason() is not None,
    reason="numba.cuda is unusable here (neither a GPU nor the simulator)")


def _network(device, packed=True):
    net = Network.sequential((1, 4, 4), [Conv(3, 3), GroupNorm(3), Flatten(), Dense(5),
                                         Dense(2)])
    net.build(get_backend(device, np.float32), np.random.default_rng(0))
    if not packed:  # each parameter its own array, as a network after a replacement
        net.__dict__.pop("_flat")
    return net


def _host_params(net):
    return [np.array(net.backend.to_host(layer.params[name])) for layer, name in
            net.parameters()]


def test_packing_keeps_every_value_and_shape():
    unpacked = _network("cpu", packed=False)
    assert unpacked.flat_parameters is None
    for net in (_network("cpu"), _network("cuda")):
        flat = net.flat_parameters
        assert flat is not None
        for a, b in zip(_host_params(unpacked), _host_params(net)):
            assert_array_equal(a, b)
        # Weights (which take the L2 penalty) first, then biases and norm scales.
        for layer, name in net.parameters():
            offset, _ = flat.offsets[id(layer), name]
            assert (offset < flat.split) == (name in layer.decay)
            assert offset % 32 == 0


def _count_updates(backend, monkeypatch):
    calls = []
    original = backend.optim.sgd_update

    def counted(param, *args):
        calls.append(param.size)
        return original(param, *args)

    monkeypatch.setattr(backend.optim, "sgd_update", counted)
    return calls


def test_an_optimizer_step_is_one_call_when_packed_and_one_per_array_otherwise(
        monkeypatch):
    for device, packed, expected in (("cuda", True, 1), ("cpu", True, 1), ("cpu", False, 8)):
        net = _network(device, packed)
        calls = _count_updates(net.backend, monkeypatch)
        make_optimizer("sgd").step(net, 0.1, 1e-3)
        assert len(calls) == expected, (device, packed)


def test_a_packed_step_gives_the_per_array_step():
    nets = [_network("cpu", packed=False), _network("cpu"), _network("cuda")]
    rng = np.random.default_rng(1)
    grads = [rng.normal(size=layer.params[name].shape).astype(np.float32)
             for layer, name in nets[0].parameters()]
    for net in nets:
        opt = make_optimizer("adam")
        for _ in range(3):  # the slots carry from step to step
            for (layer, name), g in zip(net.parameters(), grads):
                net.backend.dense.copy(layer.grads[name], net.backend.asarray(g))
            opt.step(net, 0.01, 1e-2)
    # The updates are elementwise: on the CPU, packed or not, the same bits.
    for a, b, c in zip(*map(_host_params, nets)):
        assert_array_equal(b, a)
        assert_allclose(c, a, rtol=1e-5, atol=1e-6)


def test_a_replaced_array_ends_the_packing_and_is_still_updated():
    net = _network("cuda")
    layer = net.layers[-1]
    layer.params["b"] = net.backend.asarray(np.ones(2, np.float32))
    assert net.flat_parameters is None
    net.backend.dense.fill(layer.grads["b"], 1.0)
    make_optimizer("sgd", momentum=0.0).step(net, 0.5, 0.0)
    assert_allclose(net.backend.to_host(layer.params["b"]), [0.5, 0.5])


def test_pickling_drops_the_buffers_and_binding_packs_again():
    net = _network("cuda")
    before = _host_params(net)
    clone = pickle.loads(pickle.dumps(net))
    assert "_flat" not in clone.__dict__
    clone.bind(get_backend("cuda", np.float32))
    assert clone.flat_parameters is not None
    for a, b in zip(before, _host_params(clone)):
        assert_array_equal(a, b)


def test_training_continued_on_the_other_device_keeps_the_optimizer_state():
    """partial_fit keeps Adam's moments: packed on the CPU, they are packed again
    (values kept) when training goes on on the GPU."""
    X, y = load_digits(return_X_y=True)
    X = (X[:300] / 16).astype(np.float32)
    y = y[:300]
    runs = {}
    for second in ("cpu", "cuda"):
        clf = MLPClassifier((16,), random_state=0)
        for _ in range(2):
            clf.partial_fit(X, y, classes=np.arange(10))
        clf.set_params(device=second)
        for _ in range(2):
            clf.partial_fit(X, y)
        runs[second] = clf.predict_proba(X)
    assert_allclose(runs["cuda"], runs["cpu"], rtol=1e-4, atol=1e-5)
