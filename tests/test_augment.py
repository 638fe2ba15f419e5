"""Data augmentation: the kernel against a reference, the layer, the estimator."""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.exceptions import ConvergenceWarning

from skneuro import CNNClassifier
from skneuro.kernels.cpu.augment import augment
from skneuro.nn import Augment, CPUBackend

from . import naive


def reference(x, seed, step, max_shift, flip, brightness):
    """Shifts, flips and brightness sample by sample, from the same draws."""
    n, c, h, w = x.shape
    out = np.zeros_like(x)
    for s in range(n):
        u = [naive.hash_uniform(seed, step, 4 * s + k) for k in range(4)]
        dy = min(int(u[0] * (2 * max_shift + 1)), 2 * max_shift) - max_shift if h > 1 else 0
        dx = min(int(u[1] * (2 * max_shift + 1)), 2 * max_shift) - max_shift if w > 1 else 0
        img = x[s] * np.float32(1 + brightness * (2 * u[3] - 1))
        shifted = np.zeros_like(img)
        for i in range(h):
            for j in range(w):
                if 0 <= i - dy < h and 0 <= j - dx < w:
                    shifted[:, i, j] = img[:, i - dy, j - dx]
        out[s] = shifted[:, :, ::-1] if flip and u[2] < 0.5 else shifted
    return out


@pytest.mark.parametrize("shape", [(6, 2, 5, 7), (5, 3, 1, 9)])
@pytest.mark.parametrize("flip", [False, True])
def test_augment_kernel_matches_reference(shape, flip):
    x = np.random.default_rng(0).normal(size=shape).astype(np.float32)
    out = np.empty_like(x)
    augment(x, 77, 3, 0, 2, flip, np.float32(0.0), np.float32(0.2), out)
    assert_allclose(out, reference(x, 77, 3, 2, flip, 0.2), rtol=1e-6, atol=1e-7)


def test_a_shard_draws_what_the_whole_batch_draws():
    x = np.random.default_rng(1).normal(size=(6, 2, 5, 5)).astype(np.float32)
    whole = np.empty_like(x)
    augment(x, 9, 4, 0, 1, True, np.float32(0.3), np.float32(0.2), whole)
    shard = np.empty_like(x[4:])
    augment(x[4:].copy(), 9, 4, 4, 1, True, np.float32(0.3), np.float32(0.2), shard)
    assert_array_equal(shard, whole[4:])


def test_augment_noise_statistics():
    x = np.zeros((20, 1, 30, 30), np.float32)
    out = np.empty_like(x)
    augment(x, 5, 0, 0, 0, False, np.float32(0.5), np.float32(0.0), out)
    assert abs(out.mean()) < 0.02
    assert abs(out.std() - 0.5) < 0.02


def test_layer_is_identity_outside_training_and_steps_its_stream(rng):
    layer = Augment(shift=1, flip=True, noise=0.1)
    layer.build([(1, 6, 6)], CPUBackend(), rng)
    x = rng.normal(size=(4, 1, 6, 6)).astype(np.float32)
    assert layer.forward([x], training=False) is x
    first = layer.forward([x], training=True).copy()
    second = layer.forward([x], training=True).copy()
    assert not np.array_equal(first, second)  # a new draw at every step
    with pytest.raises(ValueError, match="brightness"):
        Augment(brightness=1.5)


def test_estimator_augments_training_only():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 1, 6, 6)).astype(np.float32)
    y = (X[:, 0, :3].mean(axis=(1, 2)) > 0).astype(int)
    params = dict(layers="C-4.3, D-8", max_iter=3, random_state=0, augment_shift=1,
                  augment_noise=0.1, early_stopping=True, validation_fraction=0.2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        a = CNNClassifier(**params).fit(X, y)
        b = CNNClassifier(**params).fit(X, y)
        plain = CNNClassifier(**{**params, "augment_shift": 0, "augment_noise": 0.0}).fit(X, y)
    assert type(a.network_.layers[0]).__name__ == "Augment"
    assert type(plain.network_.layers[0]).__name__ == "Conv"
    assert_array_equal(a.predict_proba(X), b.predict_proba(X))  # seeded
    assert_array_equal(a.predict_proba(X), a.predict_proba(X))  # never at predict
    assert not np.array_equal(a.predict_proba(X), plain.predict_proba(X))
