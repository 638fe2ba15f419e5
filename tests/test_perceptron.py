"""Perceptron: the course's rule, scikit-learn's conventions."""

import pickle
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import load_iris, make_blobs
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.model_selection import cross_val_score
from sklearn.preprocessing import StandardScaler

from skneuro import Perceptron

from . import naive


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def test_separable_setosa_converges_to_zero_errors(iris):
    X, y = iris
    setosa = (y == 0).astype(int)
    clf = Perceptron(random_state=0).fit(X, setosa)
    assert clf.n_errors_[-1] == 0
    assert clf.n_iter_ < 1000
    assert clf.score(X, setosa) == 1.0
    assert clf.coef_.shape == (1, 4) and clf.intercept_.shape == (1,)


def test_multiclass_iris_accuracy(iris):
    X, y = iris
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        scores = cross_val_score(Perceptron(max_iter=100, random_state=0), X, y, cv=3)
    assert scores.mean() > 0.75
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = Perceptron(max_iter=100, random_state=0).fit(X, y)
    assert clf.coef_.shape == (3, 4)


def test_non_separable_data_warns(iris):
    X, y = iris
    with pytest.warns(ConvergenceWarning, match="linearly separable"):
        Perceptron(max_iter=5, random_state=0).fit(X, y)


def test_decision_function_is_sklearn_convention_of_the_bias_node(iris):
    X, y = iris
    setosa = (y == 0).astype(int)
    clf = Perceptron(random_state=0).fit(X, setosa)
    h_course = np.c_[X, -np.ones(len(X))] @ clf.weights_.T
    assert_allclose(clf.decision_function(X), h_course.ravel())
    assert_allclose(clf.decision_function(X), (X @ clf.coef_.T + clf.intercept_).ravel())


def test_training_follows_the_course_rule_exactly():
    """fit with shuffle=False is the naive rule applied epoch after epoch."""
    X, y = make_blobs(n_samples=30, centers=3, random_state=1)
    clf = Perceptron(max_iter=3, shuffle=False, eta0=0.25, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    W = np.random.default_rng(
        np.random.RandomState(0).randint(np.iinfo(np.int32).max)
    ).uniform(-0.05, 0.05, size=(3, 3))
    T = np.eye(3)[y]
    for _ in range(3):
        W, _ = naive.perceptron_epoch(X, T, W, np.arange(30), 0.25, np.ones(30))
    assert_allclose(clf.weights_, W)


def test_predict_picks_the_largest_activation_when_several_fire():
    clf = Perceptron()
    clf.classes_ = np.array(["a", "b", "c"])
    clf.weights_ = np.array([[1.0, 0.0], [2.0, 0.0], [-1.0, 0.0]])
    clf.n_features_in_ = 1
    # h = (1, 2, -1): neurons a and b fire; b has the largest h.
    assert_array_equal(clf.predict([[1.0]]), ["b"])
    # h = (-1, -2, 1) * 0.5: only c fires.
    assert_array_equal(clf.predict([[-0.5]]), ["c"])
    # h = 0 everywhere: none fires; argmax takes the first.
    assert_array_equal(clf.predict([[0.0]]), ["a"])


def test_partial_fit_and_unseen_class(iris):
    X, y = iris
    clf = Perceptron(random_state=0)
    with pytest.raises(ValueError, match="classes must be passed"):
        clf.partial_fit(X, y)
    clf.partial_fit(X[:50], y[:50], classes=[0, 1, 2])
    for _ in range(10):
        clf.partial_fit(X, y)
    assert clf.n_iter_ == 11
    with pytest.raises(ValueError, match="not seen"):
        clf.partial_fit(X[:2], [0, 5])


def test_reproducible_and_picklable(iris):
    X, y = iris
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        a = Perceptron(max_iter=20, random_state=7).fit(X, y)
        b = Perceptron(max_iter=20, random_state=7).fit(X, y)
    assert_array_equal(a.weights_, b.weights_)
    c = pickle.loads(pickle.dumps(a))
    assert_array_equal(c.predict(X), a.predict(X))


def test_bad_input(iris):
    X, y = iris
    with pytest.raises(NotFittedError):
        Perceptron().predict(X)
    with pytest.raises(ValueError, match="eta0"):
        Perceptron(eta0=-1).fit(X, y)
    with pytest.raises(ValueError, match="greater than one"):
        Perceptron().fit(X, np.zeros(len(X)))
    with pytest.raises(ValueError, match="NaN"):
        Perceptron().fit(np.full((3, 2), np.nan), [0, 1, 0])


def test_a_failed_refit_leaves_the_model_as_it_was(iris):
    X, y = iris
    setosa = (y == 0).astype(int)
    clf = Perceptron(random_state=0).fit(X, setosa)
    weights = clf.weights_.copy()
    with pytest.raises(ValueError, match="greater than one"):
        clf.fit(X, np.zeros(len(X)))
    with pytest.raises(ValueError):
        clf.fit(np.c_[X, X], y + 0.5)
    assert_array_equal(clf.classes_, [0, 1])
    assert_array_equal(clf.weights_, weights)
    assert clf.score(X, setosa) == 1.0
