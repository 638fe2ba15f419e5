"""How the CUDA kernels are launched (skneuro.kernels.cuda._launch), and how many
launches a training step makes.

The direct launches (typed once per kind of arguments, then the compiled
kernel's ``launch``) need numba-cuda's real dispatcher, which the simulator
does not have: here they run against a *stand-in dispatcher* with the same
attributes (``[config]``, ``typeof_pyval``, ``overloads``, a compiled kernel's
``launch``). On a real GPU (``SKNEURO_TEST_DEVICE=cuda``),
``test_direct_launches_give_the_dispatchers_results`` runs them for real.
"""

import types

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from sklearn.exceptions import ConvergenceWarning

from skneuro import CNNClassifier, MLPClassifier
from skneuro._config import CUDA_SIMULATED
from skneuro.nn.backend import cuda_unavailable_reason

pytestmark = pytest.mark.skipif(
    cuda_unavailable_reason() is not None,
    reason="numba.cuda is unusable here (neither a GPU nor the simulator)")

if cuda_unavailable_reason() is None:
    from skneuro.backends import _steps
    from skneuro.kernels.cuda import _launch, blas


class FakeDeviceArray:
    """What ``_launch._kind`` reads of a device array."""

    __cuda_array_interface__ = {}

    def __init__(self, shape, dtype=np.float32, c=True, f=False, strides=None):
        self.shape, self.ndim, self.size = shape, len(shape), int(np.prod(shape))
        self.dtype = np.dtype(dtype)
        self.strides = strides or (4,) * len(shape)
        self.flags = {"C_CONTIGUOUS": c, "F_CONTIGUOUS": f}


class StandInDispatcher:
    """numba-cuda's dispatcher as far as :class:`_launch.Kernel` uses it."""

    def __init__(self, overloads=True, launchable=True):
        self.py_func = lambda *args: None
        self.calls = []
        self.overloads = {}
        self._overloads, self._launchable = overloads, launchable

    def typeof_pyval(self, value):
        return ("type", _launch._kind(value))

    def __getitem__(self, config):
        def dispatch(*args):
            self.calls.append(("dispatcher", config, args))
            if self._overloads:
                compiled = types.SimpleNamespace()
                if self._launchable:
                    compiled.launch = lambda a, g, b, s, m: self.calls.append(
                        ("direct", (g, b, s, m), a))
                self.overloads[tuple(self.typeof_pyval(a) for a in args)] = compiled
        return dispatch


@pytest.fixture
def direct(monkeypatch):
    monkeypatch.setattr(_launch, "DIRECT", True)


def test_kinds_follow_what_numba_types():
    kind = _launch._kind
    a = FakeDeviceArray((4, 5))
    assert kind(a) == kind(FakeDeviceArray((7, 2)))  # shapes do not matter
    assert kind(a) != kind(FakeDeviceArray((4, 5), np.float64))
    assert kind(a) != kind(FakeDeviceArray((20,)))
    assert kind(a) != kind(FakeDeviceArray((4, 5), c=False))  # layout 'A'
    assert kind(a) != kind(FakeDeviceArray((4, 5), c=False, f=True))  # layout 'F'
    assert kind(a) != kind(FakeDeviceArray((4, 5), strides=(0, 4)))  # broadcast
    assert kind(3) is int and kind(np.float32(1)) is np.float32 and kind(True) is bool
    assert kind(np.float32(1)) != kind(1.0)


def test_the_first_launch_of_a_kind_is_dispatched_the_next_are_direct(direct):
    dispatcher = StandInDispatcher()
    kernel = _launch.Kernel(dispatcher)
    x, y = FakeDeviceArray((4, 5)), FakeDeviceArray((6, 5))
    before = _launch.launch_count()
    kernel[3, 16](x, 2, np.float32(0.5))
    kernel[3, 16](y, 7, np.float32(1.5))
    kernel[(2, 1), (4, 4)](x, 7, np.float32(1.5))
    kernel[3, 16](FakeDeviceArray((4, 5), np.float64), 2, np.float32(0.5))  # a new kind
    assert [c[0] for c in dispatcher.calls] == ["dispatcher", "direct", "direct",
                                                "dispatcher"]
    # Launched with the arguments given and numba's 3-D dimensions, on stream 0.
    assert dispatcher.calls[1][1:] == (((3, 1, 1), (16, 1, 1), 0, 0), (y, 7, np.float32(1.5)))
    assert dispatcher.calls[2][1][:2] == ((2, 1, 1), (4, 4, 1))
    assert _launch.launch_count() - before == 4


@pytest.mark.parametrize("overloads, launchable", [(False, True), (True, False)])
def test_without_a_launchable_compiled_kernel_the_dispatcher_launches(direct, overloads,
                                                                      launchable):
    """Another numba-cuda (no ``overloads`` entry, no ``launch``): slower, not wrong."""
    dispatcher = StandInDispatcher(overloads, launchable)
    kernel = _launch.Kernel(dispatcher)
    for _ in range(3):
        kernel[1, 16](FakeDeviceArray((2, 2)))
    assert [c[0] for c in dispatcher.calls] == ["dispatcher"] * 3


def test_on_the_simulator_every_launch_is_dispatched():
    if not CUDA_SIMULATED:
        pytest.skip("on a GPU the launches are direct")
    assert _launch.DIRECT is False


def _fit_direct_and_dispatched(monkeypatch, make, n_features):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(24, n_features)).astype(np.float32)
    y = rng.integers(0, 3, 24)
    models = []
    for direct in (True, False):
        monkeypatch.setattr(_launch, "DIRECT", direct)
        with pytest.warns(ConvergenceWarning):
            models.append(make().fit(X, y))
    return models, X


@pytest.mark.skipif(CUDA_SIMULATED, reason="on the simulator both ways are the dispatcher "
                    "(it has no compiled kernels to launch): this checks a real GPU")
def test_direct_launches_give_the_dispatchers_results(monkeypatch):
    """The same fit and predictions, to the bit, launched directly or through numba's
    dispatcher."""
    for n_features, make in (
            (20, lambda: MLPClassifier((16, 8), max_iter=2, batch_size=8, device="cuda",
                                       random_state=0)),
            (36, lambda: CNNClassifier("I-6.6, C-2.3, P-2, D3", max_iter=1, batch_size=12,
                                       device="cuda", random_state=0))):
        (a, b), X = _fit_direct_and_dispatched(monkeypatch, make, n_features)
        assert_array_equal(a.predict_proba(X), b.predict_proba(X))


def _launches_per_step(model, X, y, monkeypatch):
    """Launches of each training step of ``model.fit(X, y)``. Checks on the way
    that no step after the first allocates device memory or waits for the
    device (either would stall the host until the GPU caught up)."""
    from numba import cuda

    counts, stalls, in_step = [], [], [False]

    def watched(name, original):
        def stall(*args, **kwargs):
            if in_step[0] and len(counts) > 1:  # in a step after the first
                stalls.append(name)
            return original(*args, **kwargs)
        return stall

    for name in ("device_array", "device_array_like", "to_device", "synchronize"):
        monkeypatch.setattr(cuda, name, watched(name, getattr(cuda, name)))
    step = _steps.train_step

    def counted(*args, **kwargs):
        counts.append(None)
        before = _launch.launch_count()
        in_step[0] = True
        try:
            return step(*args, **kwargs)
        finally:
            in_step[0] = False
            counts[-1] = _launch.launch_count() - before

    monkeypatch.setattr(_steps, "train_step", counted)
    with pytest.warns(ConvergenceWarning):
        model.fit(X, y)
    assert stalls == []
    return counts


def test_a_dense_training_step_makes_thirteen_launches(monkeypatch):
    """An MLP of two hidden layers (three dense layers), softmax output, Adam,
    through the Numba GEMM:

    * forward: 3 products, each with its bias and activation as epilogue;
    * loss: 1 (the per-row losses and the gradient);
    * backward: 1 bias gradient of the output layer, 2 fused activation
      derivatives and bias gradients of the hidden ones, 3 weight gradients,
      2 input gradients;
    * update: 1 over the flat buffers.

    The first step makes two more (the optimizer's slots are zeroed on the
    device). This was 19 before the fused operations and the one-launch update.
    """
    rng = np.random.default_rng(0)
    X = rng.normal(size=(128, 20)).astype(np.float32)
    y = rng.integers(0, 3, 128)
    model = MLPClassifier((16, 8), max_iter=2, batch_size=64, device="cuda", random_state=0)
    with blas.use_product("numba"):
        counts = _launches_per_step(model, X, y, monkeypatch)
    assert counts == [15, 13, 13, 13]


def test_the_cnn_step_has_no_launch_per_sample(monkeypatch):
    """The course's layer types in a small CNN: its step's launches do not grow
    with the batch (every layer runs over the whole batch)."""
    rng = np.random.default_rng(0)
    per_batch = []
    for batch in (4, 12):
        X = rng.normal(size=(batch * 2, 36)).astype(np.float32)
        y = rng.integers(0, 3, batch * 2)
        model = CNNClassifier("I-6.6, C-2.3, P-2, D-8_d0.5, D3", max_iter=1,
                              batch_size=batch, device="cuda", random_state=0)
        with blas.use_product("numba"):
            per_batch.append(_launches_per_step(model, X, y, monkeypatch)[-1])
    assert per_batch[0] == per_batch[1]
