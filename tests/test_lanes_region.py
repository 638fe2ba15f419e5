"""A network's lanes region: its plan, its gradients, and its agreement with the
samples layout (see :mod:`skneuro.backends.cpu.lanes`)."""

import pickle
from unittest import mock

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

import skneuro.backends.cpu.planning as planning
from skneuro import DDPM, CNNClassifier
from skneuro.nn import (
    Activation,
    Add,
    AvgPool,
    ChannelAdd,
    Concatenate,
    Conv,
    CPUBackend,
    Dense,
    Flatten,
    GroupNorm,
    Network,
    SinusoidalEmbedding,
    Slice,
    Upsample,
)
from tests.test_gradients import check_network_gradients


def _every_batch_in_lanes():
    """Run convolutions in lanes from one sample on (small batches for finite differences)."""
    return mock.patch("skneuro.backends.cpu.convolution.MIN_LANES_BATCH", 1)


def _samples_layout_only():
    return mock.patch.object(planning, "LANES_REGIONS", False)


def small_unet(dtype=np.float64):
    """Every lanes layer, a layer that breaks the region (Activation) and both
    kinds of join, on a 4x4 image with its step (the diffusion U-Net's input)."""
    net = Network((2 * 4 * 4 + 1,))
    image = net.add(Slice(0, 32, shape=(2, 4, 4)), "input", name="image")
    step = net.add(Slice(32, 33), "input")
    emb = net.add(Dense(4, "silu"), net.add(SinusoidalEmbedding(8), step))
    h = net.add(Conv(4, 3, activation="identity"), image, name="first")
    h = net.add(GroupNorm(2, activation="silu"), h)
    h = net.add(ChannelAdd(), [h, emb], name="channel_add")
    h = net.add(Activation("tanh"), h, name="outside")
    down = net.add(Conv(4, 3, activation="gelu"), h, name="reenters")
    h = net.add(AvgPool(2), down)
    h = net.add(Conv(4, 3, activation="sigmoid"), h)
    h = net.add(Upsample(2), h)
    h = net.add(Concatenate(), [h, down])
    h = net.add(Conv(4, 1, activation="identity"), h, name="pointwise")
    h = net.add(Add(), [h, down])
    h = net.add(GroupNorm(1), h)
    h = net.add(Conv(3, 3, activation="leaky_relu"), h, name="last")
    net.add(Dense(3), net.add(Flatten(), h))
    return net.build(CPUBackend(dtype), np.random.default_rng(0))


def _inputs(rng, n):
    x = rng.normal(size=(n, 33))
    x[:, 32] = rng.integers(0, 100, size=n)
    return x


def test_the_plan_keeps_the_image_region_in_lanes():
    net = small_unet()
    with _every_batch_in_lanes():
        plan = net.plan(5)
    in_lanes = set(plan.in_lanes)
    assert {"first", "channel_add", "reenters", "pointwise", "last"} <= in_lanes
    assert "outside" not in in_lanes  # the activation layer has no lanes version
    changes = [step.name for step in plan.steps if "@" in step.name]
    # Into lanes at the image and after the activation; out for the activation and
    # for Flatten.
    assert sorted(changes) == ["channel_add@samples", "image@lanes", "last@samples",
                               "outside@lanes"]
    assert plan.output == net.output


def _course_like_cnn(padding):
    model = CNNClassifier(f"I-8.8, C-4.3_p{padding}, P-2, C-6.3_p{padding}, P-2, D-8, D3",
                          max_iter=1, random_state=0)
    rng = np.random.default_rng(0)
    with pytest.warns(Warning):
        model.fit(rng.normal(size=(40, 64)), rng.integers(0, 3, 40))
    return model.network_


def test_the_course_cnn_runs_its_convolutions_and_poolings_in_one_region():
    # Max pooling runs in lanes: the layout changes once into lanes at the
    # image and once out before Flatten, not around every convolution.
    plan = _course_like_cnn("same").plan(32)
    assert plan.in_lanes == ["conv_0", "maxpool_1", "conv_2", "maxpool_3"]
    assert [step.name for step in plan.steps if "@" in step.name] == [
        "input@lanes", "maxpool_3@samples"]


@pytest.mark.parametrize("padding", ["same", "valid"])
@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-10), (np.float32, 2e-5)])
def test_max_pooling_in_lanes_computes_what_the_samples_layout_computes(rng, padding, dtype,
                                                                        tol):
    net = _course_like_cnn(padding)
    net.bind(CPUBackend(dtype))
    x = rng.normal(size=(37, 1, 8, 8)).astype(dtype)
    x[:, :, ::2, ::2] = x[:, :, 1::2, 1::2]  # ties inside the pooling windows
    grad = rng.normal(size=(37, 3)).astype(dtype)
    lanes_out, lanes_grads = _outputs_and_gradients(net, x, grad)
    assert "maxpool_1" in net.plan(37).in_lanes
    with _samples_layout_only():
        out, grads = _outputs_and_gradients(net, x, grad)
    assert_allclose(lanes_out, out, rtol=tol, atol=tol)
    for a, b in zip(lanes_grads, grads, strict=True):
        assert_allclose(a, b, rtol=tol, atol=tol * 37)


@pytest.mark.parametrize("n", [1, 3])
def test_region_gradients_match_finite_differences(rng, n):
    net = small_unet()
    with _every_batch_in_lanes():
        assert net.plan(n).in_lanes
        check_network_gradients(net, _inputs(rng, n), rng.integers(0, 3, n).astype(np.intp))


def _outputs_and_gradients(net, x, grad):
    out = net.forward(x, training=True).copy()
    net.backward(grad)
    return out, [layer.grads[name].copy() for layer, name in net.parameters()]


@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-10), (np.float32, 2e-5)])
def test_the_region_computes_what_the_samples_layout_computes(rng, dtype, tol):
    net = small_unet(dtype)
    x = _inputs(rng, 37).astype(dtype)
    grad = rng.normal(size=(37, 3)).astype(dtype)
    lanes_out, lanes_grads = _outputs_and_gradients(net, x, grad)
    assert net.plan(37).in_lanes
    with _samples_layout_only():
        assert not net.plan(37).in_lanes
        out, grads = _outputs_and_gradients(net, x, grad)
    assert_allclose(lanes_out, out, rtol=tol, atol=tol)
    for a, b in zip(lanes_grads, grads, strict=True):
        assert_allclose(a, b, rtol=tol, atol=tol * 37)


def test_a_sample_gets_the_same_output_in_any_batch(rng):
    # Each lane is computed alone: the batch size and the samples beside it
    # change nothing. (The region only: dense layers' products depend on the
    # number of rows, see skneuro.kernels.cpu.dense.)
    net = Network((2, 4, 4))
    h = net.add(Conv(4, 3, activation="identity"))
    h = net.add(GroupNorm(2, activation="silu"), h)
    down = net.add(AvgPool(2), h)
    h = net.add(Upsample(2), net.add(Conv(4, 3, activation="sigmoid"), down))
    h = net.add(Conv(3, 1, activation="identity"), net.add(Concatenate(), [h, "input"]))
    h = net.add(Conv(1, 1, activation="identity"), h)  # one filter: no BLAS product
    net.add(Upsample(1), h)  # keeps the last convolution in the region
    net.build(CPUBackend(np.float32), rng)
    x = rng.normal(size=(45, 2, 4, 4)).astype(np.float32)
    whole = net.forward(x).copy()
    for start, stop in [(0, 8), (8, 40)]:
        assert len(net.plan(stop - start).in_lanes) == len(net.nodes)
        assert_array_equal(net.forward(x[start:stop]), whole[start:stop])
    # Fewer than MIN_LANES_BATCH samples run in the samples layout, with other
    # roundings.
    assert net.plan(5).in_lanes == []
    assert_allclose(net.forward(x[40:]), whole[40:], rtol=1e-5, atol=1e-6)


def test_a_network_with_plans_pickles(rng):
    net = small_unet(np.float32)
    x = _inputs(rng, 9).astype(np.float32)
    expected = net.forward(x).copy()
    clone = pickle.loads(pickle.dumps(net)).bind(CPUBackend(np.float32))
    assert clone._plans == {}
    assert_array_equal(clone.forward(x), expected)


def test_ddpm_trains_and_samples_the_same_in_both_layouts():
    # The U-Net of DDPM: the whole image region in lanes, entered and left once.
    X = np.random.default_rng(0).uniform(0, 16, size=(48, 16))
    fit = dict(input_shape=(1, 4, 4), n_steps=20, channels=8, n_levels=2, groups=4,
               batch_size=16, max_iter=2, random_state=0, sampling_steps=5)
    model = DDPM(**fit).fit(X)  # max_iter epochs (tol=None), no ConvergenceWarning
    plan = model.network_.plan(16)
    assert len([s for s in plan.steps if "@" in s.name]) == 2
    with _samples_layout_only():
        reference = DDPM(**fit).fit(X)
    assert_allclose(model.loss_curve_, reference.loss_curve_, rtol=1e-5)
    assert_allclose(model.sample(20, random_state=1), reference.sample(20, random_state=1),
                    atol=1e-3)


def test_gradients_after_a_prediction_pass(rng):
    # L-BFGS takes its gradient after forward(training=False): what the
    # backward pass reads (GroupNorm's normalized input) must be kept then too.
    net = small_unet()
    x = _inputs(rng, 16)
    grad = rng.normal(size=(16, 3))
    net.forward(x, training=False)
    net.backward(grad.copy())
    lanes_grads = [layer.grads[name].copy() for layer, name in net.parameters()]
    with _samples_layout_only():
        net.forward(x, training=False)
        net.backward(grad.copy())
    for a, (layer, name) in zip(lanes_grads, net.parameters(), strict=True):
        assert_allclose(a, layer.grads[name], rtol=1e-10, atol=1e-10)


def test_a_network_grown_after_a_forward_pass_plans_again(rng):
    net = Network((2, 4, 4))
    net.add(Conv(3, 3))
    net.build(CPUBackend(np.float64), rng)
    x = rng.normal(size=(8, 2, 4, 4))
    assert net.forward(x).shape == (8, 3, 4, 4)
    net.add(Flatten())
    net.add(Dense(5))
    net.build(CPUBackend(np.float32), rng)
    assert net.forward(x.astype(np.float32)).shape == (8, 5)
