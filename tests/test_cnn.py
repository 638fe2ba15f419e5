"""CNNClassifier and CNNRegressor: architectures, input shapes, accuracy, errors."""

import pickle
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from skneuro import CNNClassifier, CNNRegressor
from skneuro.nn import Conv, Dense, Dropout, MaxPool
from skneuro.nn.spec import SpecError


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return train_test_split(X / 16.0, y, test_size=0.3, random_state=0, stratify=y)


def fit_quietly(estimator, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return estimator.fit(*args, **kwargs)


def test_digits_as_images(digits):
    X_train, X_test, y_train, y_test = digits
    clf = CNNClassifier("C-8.3, P-2, C-16.3, D-64", input_shape=(1, 8, 8),
                        learning_rate_init=0.01, max_iter=15, random_state=0)
    fit_quietly(clf, X_train, y_train)
    assert clf.input_shape_ == (1, 8, 8)
    assert clf.score(X_test, y_test) > 0.95


def test_spec_and_layer_objects_build_the_same_network(digits):
    X_train, _, y_train, _ = digits
    layers = [Conv(4, 3), MaxPool(2), Dense(16, "relu"), Dropout(0.1)]
    a = fit_quietly(CNNClassifier("C-4.3, P-2, D-16_d0.1", input_shape=(1, 8, 8),
                                  max_iter=2, random_state=0), X_train, y_train)
    b = fit_quietly(CNNClassifier(layers, input_shape=(1, 8, 8), max_iter=2,
                                  random_state=0), X_train, y_train)
    assert_array_equal(a.predict_proba(X_train), b.predict_proba(X_train))
    # The user's layer objects were copied, never built.
    assert all(not layer.params for layer in layers)


def test_input_layouts(digits):
    X_train, X_test, y_train, _ = digits
    params = dict(layers="C-4.3, P-2, D-16", max_iter=2, random_state=0)
    flat = fit_quietly(CNNClassifier(**params, input_shape=(1, 8, 8)), X_train, y_train)
    images = fit_quietly(CNNClassifier(**params, input_shape=(1, 8, 8)),
                         X_train.reshape(-1, 8, 8), y_train)
    channels = fit_quietly(CNNClassifier(**params), X_train.reshape(-1, 1, 8, 8), y_train)
    spec_input = fit_quietly(CNNClassifier(layers="I-8.8, C-4.3, P-2, D-16", max_iter=2,
                                           random_state=0), X_train, y_train)
    expected = flat.predict_proba(X_test)
    assert_array_equal(images.predict_proba(X_test.reshape(-1, 8, 8)), expected)
    assert_array_equal(channels.predict_proba(X_test.reshape(-1, 1, 8, 8)), expected)
    assert_array_equal(spec_input.predict_proba(X_test), expected)
    assert images.input_shape_ == channels.input_shape_ == (1, 8, 8)
    # A flat X without input_shape is a one-channel 1-D signal; (n, C, L) is C channels.
    signal = fit_quietly(CNNClassifier(**params), X_train, y_train)
    assert signal.input_shape_ == (1, 64)
    rows = fit_quietly(CNNClassifier(**params), X_train.reshape(-1, 8, 8), y_train)
    assert rows.input_shape_ == (8, 8)


def test_multichannel_spectra_with_multilabel_outputs():
    """The course's 1-D CNN: several input channels, independent sigmoid outputs."""
    rng = np.random.default_rng(0)
    n, length = 300, 64
    grid = np.arange(length)
    Y = rng.integers(0, 2, size=(n, 3))
    X = rng.normal(scale=0.3, size=(n, 2, length))
    for k, center in enumerate((12, 32, 50)):
        line = np.exp(-0.5 * ((grid - center) / 2.0) ** 2)
        X[:, k % 2, :] += Y[:, k:k + 1] * line  # a line in channel k % 2
    clf = CNNClassifier("C-8.5, P-2, C-8.3, P-2, D-32", learning_rate_init=0.01,
                        max_iter=40, random_state=0)
    fit_quietly(clf, X[:240], Y[:240])
    assert clf.out_activation_ == "logistic" and clf.input_shape_ == (2, length)
    assert clf.predict_proba(X[240:]).shape == (60, 3)
    assert clf.score(X[240:], Y[240:]) > 0.8  # every label right


def test_regressor():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 1, 16))
    y = X[:, 0, 4:8].sum(axis=1) - X[:, 0, 10:12].sum(axis=1)
    reg = CNNRegressor("C-8.3, D-32", learning_rate_init=0.01, max_iter=60, random_state=0)
    fit_quietly(reg, X[:300], y[:300])
    assert reg.predict(X[300:]).dtype == np.float64
    assert reg.score(X[300:], y[300:]) > 0.8


def test_small_requests_are_bit_identical_and_pickling(digits):
    X_train, X_test, y_train, _ = digits
    clf = fit_quietly(CNNClassifier("C-4.3, P-2, D-16", input_shape=(1, 8, 8), max_iter=2,
                                    random_state=0), X_train, y_train)
    # 8x8 images give 64 positions per sample: one sample is already more than
    # SMALL_ROWS rows for the convolution, so compare one row with itself batched.
    batch = clf.predict_proba(X_test[:5])
    again = pickle.loads(pickle.dumps(clf)).predict_proba(X_test[:5])
    assert_array_equal(batch, again)
    assert_allclose(clf.predict_proba(X_test[:1]), batch[:1], rtol=1e-5)


def test_bad_architectures_and_shapes(digits):
    X_train, _, y_train, _ = digits
    with pytest.raises(SpecError, match="token 'X-3'"):
        CNNClassifier("C-4.3, X-3").fit(X_train, y_train)
    with pytest.raises(ValueError, match="D5 but the targets need 10"):
        CNNClassifier("C-4.3, D5", input_shape=(1, 8, 8)).fit(X_train, y_train)
    with pytest.raises(ValueError, match="values per sample"):
        CNNClassifier(input_shape=(1, 7, 7)).fit(X_train, y_train)
    with pytest.raises(ValueError, match="does not fit"):
        CNNClassifier("C-4.9_pvalid", input_shape=(1, 8, 8)).fit(X_train, y_train)
    with pytest.raises(TypeError, match="layer objects|skneuro.nn layers"):
        CNNClassifier(["C-4.3"]).fit(X_train, y_train)
    fitted = fit_quietly(CNNClassifier("C-4.3, D-8", input_shape=(1, 8, 8), max_iter=1),
                         X_train, y_train)
    with pytest.raises(ValueError, match="features"):
        fitted.predict(X_train[:, :60])


def test_pooling_with_a_stride_larger_than_its_window(digits):
    from skneuro.kernels.codes import pooled_size

    assert pooled_size(6, 2, 3) == 2 and pooled_size(7, 2, 3) == 3 and pooled_size(8, 3, 2) == 4
    X_train, _, y_train, _ = digits
    clf = fit_quietly(CNNClassifier("P-2_s3, A-1_s2, D-4", input_shape=(1, 8, 8),
                                    max_iter=2, random_state=0), X_train, y_train)
    assert np.isfinite(clf.predict_proba(X_train)).all()


def test_dense_first_and_both_layouts_to_continue_training(digits):
    X_train, _, y_train, _ = digits
    flat = fit_quietly(CNNClassifier("D-8", input_shape=(1, 8, 8), max_iter=1,
                                     random_state=0), X_train, y_train)
    flat.partial_fit(X_train.reshape(-1, 1, 8, 8), y_train)
    shaped = fit_quietly(CNNClassifier("C-2.3, D-8", max_iter=1, warm_start=True,
                                       random_state=0), X_train.reshape(-1, 1, 8, 8), y_train)
    fit_quietly(shaped, X_train, y_train)
    assert shaped.n_iter_ == 1 and len(shaped.loss_curve_) == 2
