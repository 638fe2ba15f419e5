"""Occlusion maps."""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.exceptions import ConvergenceWarning

from skneuro import CNNClassifier, MLPClassifier
from skneuro.inspection import occlusion_map


@pytest.fixture(scope="module")
def corner_data():
    """The class is decided by the top-left corner of 6x6 images only."""
    rng = np.random.default_rng(0)
    X = rng.normal(scale=0.3, size=(300, 1, 6, 6))
    y = rng.integers(0, 2, size=300)
    X[:, 0, :2, :2] += 2.0 * y[:, None, None]
    return X, y


def test_occlusion_finds_the_region_the_decision_rests_on(corner_data):
    X, y = corner_data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = CNNClassifier("C-4.3, D-16", learning_rate_init=0.01, max_iter=30,
                            random_state=0).fit(X, y)
    sample = X[np.flatnonzero(y == 1)[0]]
    heat = occlusion_map(clf, sample, window=2, stride=1)
    assert heat.shape == (6, 6)
    corner = heat[:2, :2].mean()
    rest = np.abs(heat[3:, 3:]).mean()
    assert corner > 0.2 and corner > 5 * rest
    # Other fills and an explicit target run too; the map for the other class
    # is the same region with the opposite sign.
    other = occlusion_map(clf, sample, window=2, fill="noise", random_state=0, target=0)
    assert other[:2, :2].mean() < 0
    assert occlusion_map(clf, sample.ravel(), window=(2, 3), fill="mean").shape == (6, 6)


def test_occlusion_of_a_flat_classifier_and_1d_signals():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(200, 12))
    y = (X[:, 3] + X[:, 4] > 0).astype(int)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = MLPClassifier((16,), max_iter=200, random_state=0).fit(X, y)
    heat = occlusion_map(clf, X[0], window=1)
    assert heat.shape == (12,)
    assert np.argmax(np.abs(heat)) in (3, 4)
    with pytest.raises(ValueError, match="expecting 12 features"):
        occlusion_map(clf, X[0, :5])
    with pytest.raises(ValueError, match="fill"):
        occlusion_map(clf, X[0], fill="blur")
    assert_allclose(occlusion_map(clf, X[0], window=12, stride=12),
                    np.full(12, occlusion_map(clf, X[0], window=12, stride=12)[0]))


def test_patches_reach_the_edges_and_gaps_are_nan(corner_data):
    X, y = corner_data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = CNNClassifier("C-2.3, D-4", max_iter=2, random_state=0).fit(X, y)
    heat = occlusion_map(clf, X[0], window=4, stride=3)  # starts 0 and 2 on 6 pixels
    assert np.isfinite(heat).all()
    gaps = occlusion_map(clf, X[0], window=1, stride=2)
    assert np.isnan(gaps[1, 1]) and np.isfinite(gaps[0, 0]) and np.isfinite(gaps[5, 5])


def _fit_timed(estimator, X, y):
    from skneuro.inspection import LayerTimes

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        with LayerTimes() as times:
            estimator.fit(X, y)
    return times


def test_layer_times_count_every_step_of_a_fit():
    from skneuro.nn import _timing

    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 6)).astype(np.float32)
    y = (X[:, 0] > 0).astype(int)
    clf = MLPClassifier((16, 8), batch_size=100, max_iter=4, random_state=0, tol=0,
                        n_iter_no_change=100)
    times = _fit_timed(clf, X, y)
    frame = times.to_frame()
    # Three dense layers, each forward and backward once per batch: 3 batches x 4 epochs.
    assert set(frame["step"]) == {"dense_0", "dense_1", "dense_2"}
    assert (frame["calls"] == 12).all() and set(frame["pass"]) == {"forward", "backward"}
    assert frame["layer"].str.startswith("Dense(").all()
    assert (frame["seconds"] > 0).all() and frame["share"].sum() == pytest.approx(1.0)
    assert 0 < frame["seconds"].sum() <= times.total
    assert "| dense_0 |" in times.report()
    assert _timing.ACTIVE == ()  # off again: nothing more is recorded
    clf.predict(X)
    assert times.to_frame()["calls"].sum() == 72


def test_layer_times_of_a_prediction_show_the_chain_and_the_cnn_shards():
    from skneuro.inspection import LayerTimes

    rng = np.random.default_rng(0)
    X = rng.random((64, 1, 8, 8)).astype(np.float32)
    y = rng.integers(0, 2, 64)
    cnn = CNNClassifier("C-4.3, P-2, D-16", max_iter=1, batch_size=64, random_state=0)
    times = _fit_timed(cnn, X, y)
    # The batch runs in two shards, each its own network replica in its thread.
    assert set(times.to_frame()["calls"]) == {2}
    # A batch large enough for the lanes layout: its layout changes are steps
    # too, one row each, described alike in both replicas.
    images = rng.random((256, 1, 16, 16)).astype(np.float32)
    deep = CNNClassifier("C-8.3, C-8.3, P-2, D-16", max_iter=1, batch_size=256, random_state=0)
    frame = _fit_timed(deep, images, rng.integers(0, 2, 256)).to_frame()
    changes = frame[frame["layer"].str.contains("Lanes")]
    assert len(changes) and (changes["calls"] == 2).all()
    assert not frame["layer"].str.contains(" object at ").any()
    mlp = MLPClassifier((200, 100), max_iter=1, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        mlp.fit(X.reshape(64, -1), y)
    with LayerTimes() as times:
        mlp.predict_proba(X.reshape(64, -1))
    (layer,) = times.to_frame()["layer"]
    assert layer.startswith("DenseChain of Dense(200")
