"""The autoencoder's engine pieces: Gaussian noise, the reparameterization, the VAE
loss, Crop and running part of a graph; references, gradient checks, CUDA parity."""

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.exceptions import ConvergenceWarning

from skneuro.kernels.cpu import gaussian as cpu_gaussian
from skneuro.kernels.cpu import losses as cpu_losses
from skneuro.nn import (
    Concatenate,
    Crop,
    Dense,
    GaussianNoise,
    GaussianSampling,
    MaxPool,
    Network,
    Upsample,
    VAELoss,
)
from skneuro.nn.backend import cuda_unavailable_reason, get_backend

from . import naive
from .test_gradients import B64, check_layer_gradients, numeric_gradient

F32 = np.float32
TOL = dict(rtol=1e-5, atol=1e-6)


def normal_reference(seed, step, q):
    """Box-Muller over the counter-based uniforms, in plain Python."""
    u1 = max(naive.hash_uniform(seed, step, 2 * q), 1e-7)
    u2 = naive.hash_uniform(seed, step, 2 * q + 1)
    return math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2)


def vae_reference(out, target, w, kl_weight):
    """Weighted mean over rows of the squared error plus kl_weight * KL, and its gradient."""
    m = target.shape[1]
    k = (out.shape[1] - m) // 2
    a, mu, logvar = out[:, :m], out[:, m:m + k], out[:, m + k:]
    kl = 0.5 * (mu ** 2 + np.exp(logvar) - 1 - logvar).sum(axis=1)
    rows = 0.5 * ((a - target) ** 2).sum(axis=1) + kl_weight * kl
    grad = np.hstack([a - target, kl_weight * mu, kl_weight * 0.5 * (np.exp(logvar) - 1)])
    return float(w @ rows), w[:, None] * grad


# -- kernels against references ---------------------------------------------------
def test_gaussian_noise_kernel_matches_reference(rng):
    x = rng.normal(size=(4, 6))
    out = np.empty_like(x)
    cpu_gaussian.gaussian_noise(x, 99, 3, 2, 0.5, out)
    expected = np.array([[x[i, j] + 0.5 * normal_reference(99, 3, (2 + i) * 6 + j)
                          for j in range(6)] for i in range(4)])
    assert_allclose(out, expected, rtol=1e-12, atol=1e-12)


def test_gaussian_draws_are_standard_normal():
    x = np.zeros((400, 250))
    out = np.empty_like(x)
    cpu_gaussian.gaussian_noise(x, 5, 0, 0, 1.0, out)
    # 100,000 draws: the mean within 4 standard errors of 0, the std within 1%.
    assert abs(out.mean()) < 4 / np.sqrt(out.size)
    assert abs(out.std() - 1) < 0.01
    assert abs(np.mean(out ** 4) - 3) < 0.1  # Gaussian kurtosis


def test_gaussian_sample_kernel_matches_reference(rng):
    stats = rng.normal(size=(3, 4))  # k = 2
    out, eps = np.empty((3, 2)), np.empty((3, 2))
    cpu_gaussian.gaussian_sample_forward(stats, 7, 1, 5, True, out, eps)
    expected_eps = np.array([[normal_reference(7, 1, (5 + i) * 2 + j) for j in range(2)]
                             for i in range(3)])
    assert_allclose(eps, expected_eps, rtol=1e-12)
    assert_allclose(out, stats[:, :2] + np.exp(stats[:, 2:] / 2) * expected_eps, rtol=1e-12)
    cpu_gaussian.gaussian_sample_forward(stats, 7, 1, 5, False, out, eps)
    assert_array_equal(out, stats[:, :2])
    assert not eps.any()


@given(n=st.integers(1, 5), m=st.integers(1, 4), k=st.integers(1, 3),
       kl_weight=st.sampled_from([0.0, 0.3, 1.0]), seed=st.integers(0, 2**16))
def test_vae_loss_matches_reference_and_finite_differences(n, m, k, kl_weight, seed):
    rng = np.random.default_rng(seed)
    out = rng.normal(size=(n, m + 2 * k))
    target = rng.normal(size=(n, m))
    w = rng.uniform(0.1, 1, size=n)
    w /= w.sum()
    loss = VAELoss(kl_weight).bind(B64)
    grad = loss(out, target, w).copy()
    value, expected_grad = vae_reference(out, target, w, kl_weight)
    assert_allclose(loss.value(out, target, w), value, rtol=1e-12)
    assert_allclose(grad, expected_grad, rtol=1e-12, atol=1e-15)
    assert_allclose(grad, numeric_gradient(lambda: loss.value(out, target, w), out),
                    rtol=1e-5, atol=1e-7)


def test_vae_loss_refuses_a_negative_weight():
    with pytest.raises(ValueError, match="kl_weight"):
        VAELoss(-0.1)


# -- layers ---------------------------------------------------------------------
def test_gaussian_noise_layer_only_while_training(rng):
    layer = GaussianNoise(0.3)
    layer.build([(2, 5)], B64, rng)
    x = rng.normal(size=(4, 2, 5))
    assert layer.forward([x], training=False) is x
    first = layer.forward([x], training=True).copy()
    second = layer.forward([x], training=True).copy()
    assert first.shape == x.shape
    assert 0.1 < np.std(first - x) < 0.6
    assert not np.allclose(first, second)  # a new draw at every training step
    layer.need_input_grad = True
    g = rng.normal(size=x.shape)
    assert layer.backward(g)[0] is g  # the identity
    layer.need_input_grad = False
    assert layer.backward(g) == [None]
    with pytest.raises(ValueError, match=">= 0"):
        GaussianNoise(-1.0)


def test_sharded_draws_equal_the_whole_batch(rng):
    """A replica that starts at row 3 draws what the whole batch draws for its rows."""
    for layer_cls, shape, arg in [(GaussianNoise, (5,), (0.4,)), (GaussianSampling, (6,), ())]:
        whole = layer_cls(*arg)
        whole.build([shape], B64, np.random.default_rng(1))
        whole.step = 4
        part = layer_cls(*arg)
        part.build([shape], B64, np.random.default_rng(1))
        part.start_shard(whole, 3)
        x = rng.normal(size=(7,) + shape)
        expected = whole.forward([x], training=True)[3:].copy()
        assert_array_equal(part.forward([x[3:]], training=True), expected)


@settings(max_examples=10)
@given(n=st.integers(1, 4), k=st.integers(1, 3), seed=st.integers(0, 2**16))
def test_gaussian_sampling_gradients(n, k, seed):
    """Finite differences through a training draw, with the draw held fixed."""
    rng = np.random.default_rng(seed)
    layer = GaussianSampling()
    layer.build([(2 * k,)], B64, rng)
    stats = rng.normal(size=(n, 2 * k))
    R = rng.normal(size=(n, k))

    def objective():
        layer.step = 0  # the same eps at every evaluation
        return float(np.sum(R * layer.forward([stats], training=True)))

    objective()
    (analytic,) = layer.backward(R.copy())
    assert_allclose(analytic, numeric_gradient(objective, stats), rtol=1e-5, atol=1e-7)


def test_gaussian_sampling_is_the_mean_when_not_training(rng):
    layer = GaussianSampling()
    layer.build([(6,)], B64, rng)
    stats = rng.normal(size=(4, 6))
    assert_array_equal(layer.forward([stats]), stats[:, :3])
    (d,) = layer.backward(np.ones((4, 3)))
    assert_array_equal(d, np.hstack([np.ones((4, 3)), np.zeros((4, 3))]))
    with pytest.raises(ValueError, match="even number"):
        GaussianSampling().build([(5,)], B64, rng)


@pytest.mark.parametrize("geometry", [
    dict(shape=(2, 5, 6), size=(3, 4)),
    dict(shape=(1, 4, 4), size=(4, 3)),   # columns only
    dict(shape=(2, 6, 3), size=(5, 3)),   # rows only
    dict(shape=(3, 7), size=5),           # 1-D
])
@settings(max_examples=5)
@given(n=st.integers(1, 3), seed=st.integers(0, 2**16))
def test_crop_gradients(geometry, n, seed):
    check_layer_gradients(Crop(geometry["size"]), [geometry["shape"]], n, seed)


def test_crop_keeps_the_first_positions(rng):
    layer = Crop((3, 2))
    assert layer.build([(2, 5, 4)], B64, rng) == (2, 3, 2)
    x = rng.normal(size=(2, 2, 5, 4))
    assert_array_equal(layer.forward([x]), x[:, :, :3, :2])
    with pytest.raises(ValueError, match="cannot keep"):
        Crop(6).build([(1, 5, 5)], B64, rng)


# -- running part of a graph ----------------------------------------------------
def _vae_network(backend, rng, noise=0.0):
    """Input -> [noise] -> dense -> [mu|logvar] -> z -> dense -> reconstruction,
    and the output [reconstruction | mu | logvar]."""
    net = Network((5,))
    if noise:
        net.add(GaussianNoise(noise), name="noise")
    net.add(Dense(4, "tanh"))
    net.add(Dense(4), name="stats")
    net.add(GaussianSampling(), name="code")
    net.add(Dense(3, "tanh"))
    net.add(Dense(5), name="reconstruction")
    net.add(Concatenate(), ["reconstruction", "stats"], name="output")
    return net.build(backend, rng)


def test_forward_between_runs_the_encoder_and_the_decoder(rng):
    net = _vae_network(B64, rng)
    x = rng.normal(size=(3, 5))
    full = net.forward(x).copy()
    code = net.forward_between(x, target="code").copy()
    assert_array_equal(code, full[:, 5:7])  # the means
    recon = net.forward_between(code, "code", "reconstruction")
    assert_array_equal(recon, full[:, :5])
    assert net.forward_between(x, "input", "input") is x
    with pytest.raises(ValueError, match="Unknown node"):
        net.forward_between(x, target="nope")
    with pytest.raises(ValueError, match="cannot be computed"):
        net.forward_between(code, "code", "stats")


def test_vae_network_gradients_kl_term_included(rng):
    """Backpropagation through the loss, the concatenation, the draw and both branches
    into every weight, against finite differences (the draw held fixed)."""
    net = _vae_network(B64, rng)
    x = rng.normal(size=(4, 5))
    w = np.full(4, 0.25)
    loss = VAELoss(0.7).bind(B64)
    sampler = net.layers[2]

    def objective():
        sampler.step = 0
        return loss.value(net.forward(x, training=True), x, w)

    objective()
    net.backward(loss.grad.copy())
    for layer, name in net.parameters():
        analytic = layer.grads[name].copy()
        assert_allclose(analytic, numeric_gradient(objective, layer.params[name]),
                        rtol=1e-5, atol=1e-7, err_msg=f"{layer!r}.{name}")
    # The KL term's own contribution reaches the encoder: without it the
    # gradient of the [mu | logvar] layer changes.
    stats_layer = net.layers[1]
    with_kl = stats_layer.grads["W"].copy()
    loss.kl_weight = 0.0
    objective()
    net.backward(loss.grad.copy())
    assert not np.allclose(with_kl, stats_layer.grads["W"])


def test_mirrored_convolutional_autoencoder_gradients(rng):
    """The decoder the estimator mirrors (dense, reshape, strided transposed
    convolution, upsampling, crop), end to end through the squared error."""
    from skneuro import AutoEncoder
    from skneuro.nn import SquaredError

    ae = AutoEncoder(3, layers="C-2.3, P-2, C-2.3_s2, D-4", activation="tanh")
    net = ae._build_network((1, 6, 5), 30, rng).build(B64, rng)
    kinds = [type(layer).__name__ for layer in net.layers]
    assert {"ConvTranspose", "Upsample", "Crop", "Reshape"} <= set(kinds)
    x = rng.normal(size=(3, 1, 6, 5))
    target, w = x.reshape(3, -1), np.full(3, 1 / 3)
    loss = SquaredError().bind(B64)

    def objective():
        return loss.value(net.forward(x, training=True), target, w)

    objective()
    net.backward(loss.grad.copy())
    for layer, name in net.parameters():
        analytic = layer.grads[name].copy()
        assert_allclose(analytic, numeric_gradient(objective, layer.params[name]),
                        rtol=1e-5, atol=1e-7, err_msg=f"{layer!r}.{name}")


# -- CUDA siblings on the simulator ---------------------------------------------
cuda_only = pytest.mark.skipif(
    cuda_unavailable_reason() is not None,
    reason="numba.cuda is unusable here (neither a GPU nor the simulator)")


@pytest.fixture(scope="module")
def gpu():
    return get_backend("cuda", np.float32)


@cuda_only
def test_gaussian_kernels_on_cuda(gpu, rng):
    x = rng.normal(size=(3, 5)).astype(F32)
    out = np.empty_like(x)
    cpu_gaussian.gaussian_noise(x, 11, 2, 4, F32(0.3), out)
    x_d = gpu.asarray(x)
    out_d = gpu.empty(x.shape)
    gpu.gaussian.gaussian_noise(x_d, 11, 2, 4, F32(0.3), out_d)
    assert_allclose(gpu.to_host(out_d), out, **TOL)

    stats = rng.normal(size=(3, 4)).astype(F32)
    grad = rng.normal(size=(3, 2)).astype(F32)
    for sample in (True, False):
        z, eps, d = np.empty((3, 2), F32), np.empty((3, 2), F32), np.empty((3, 4), F32)
        cpu_gaussian.gaussian_sample_forward(stats, 11, 2, 1, sample, z, eps)
        cpu_gaussian.gaussian_sample_backward(grad, stats, eps, d)
        stats_d, grad_d = gpu.asarray(stats), gpu.asarray(grad)
        z_d, eps_d, d_d = gpu.empty((3, 2)), gpu.empty((3, 2)), gpu.empty((3, 4))
        gpu.gaussian.gaussian_sample_forward(stats_d, 11, 2, 1, sample, z_d, eps_d)
        gpu.gaussian.gaussian_sample_backward(grad_d, stats_d, eps_d, d_d)
        for a, b in [(z_d, z), (eps_d, eps), (d_d, d)]:
            assert_allclose(gpu.to_host(a), b, **TOL)


@cuda_only
def test_vae_loss_kernel_on_cuda(gpu, rng):
    out = rng.normal(size=(6, 7)).astype(F32)  # m = 3, k = 2
    target = rng.normal(size=(6, 3)).astype(F32)
    w = np.full(6, 1 / 6, F32)
    grad, rows = np.empty_like(out), np.empty(6, F32)
    cpu_losses.vae_squared_error(out, target, w, F32(0.4), grad, rows)
    out_d, t_d, w_d = gpu.asarray(out), gpu.asarray(target), gpu.asarray(w)
    grad_d, rows_d = gpu.empty(out.shape), gpu.empty((6,))
    gpu.losses.vae_squared_error(out_d, t_d, w_d, F32(0.4), grad_d, rows_d)
    assert_allclose(gpu.to_host(grad_d), grad, **TOL)
    assert_allclose(gpu.to_host(rows_d), rows, **TOL)


@cuda_only
def test_vae_and_crop_networks_on_cuda_match_cpu(rng):
    x = rng.normal(size=(3, 5)).astype(F32)
    w = np.full(3, 1 / 3, F32)
    images = rng.normal(size=(2, 1, 5, 5)).astype(F32)
    results = []
    for device in ("cpu", "cuda"):
        backend = get_backend(device, np.float32)
        net = _vae_network(backend, np.random.default_rng(0), noise=0.2)
        loss = VAELoss(0.5).bind(backend)
        out = net.forward(backend.asarray(x), training=True)
        loss(out, backend.asarray(x), backend.asarray(w))
        net.backward(loss.grad)
        crop = Network.sequential((1, 5, 5), [MaxPool(2), Upsample(2), Crop(5)])
        crop.build(backend, np.random.default_rng(0))
        cropped = crop.forward(backend.asarray(images))
        (dx,) = crop.layers[-1].backward(cropped)
        results.append([np.asarray(backend.to_host(a)) for a in (out, cropped, dx)]
                       + [np.asarray(backend.to_host(layer.grads[name]))
                          for layer, name in net.parameters()])
    for a, b in zip(*results):
        assert_allclose(b, a, rtol=1e-4, atol=1e-5)


@cuda_only
def test_autoencoder_fit_on_cuda_matches_cpu(rng):
    """A denoising VAE: the noise and the draws are the same on both devices."""
    from skneuro import AutoEncoder

    X = rng.normal(size=(12, 5)).astype(F32)
    common = dict(n_components=2, hidden_layer_sizes=(), max_iter=2, batch_size=12,
                  random_state=0, noise=0.2, variational=True, kl_weight=0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        cpu = AutoEncoder(**common).fit(X)
        gpu = AutoEncoder(**common, device="cuda").fit(X)
    assert_allclose(gpu.loss_curve_, cpu.loss_curve_, rtol=1e-4)
    assert_allclose(gpu.transform(X), cpu.transform(X), rtol=1e-4, atol=1e-5)
    assert_allclose(gpu.inverse_transform(gpu.transform(X)),
                    cpu.inverse_transform(cpu.transform(X)), rtol=1e-4, atol=1e-5)
