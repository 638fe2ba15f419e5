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
        W, _, _ = naive.perceptron_epoch(X, T, W, np.arange(30), 0.25, np.ones(30))
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
    # As scikit-learn: n_iter_ counts the last call's epoch, t_ every presentation + 1.
    assert clf.n_iter_ == 1 and clf.t_ == 1 + 50 + 10 * 150 and len(clf.n_errors_) == 11
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


def test_scikit_learns_options_follow_the_reference_rule():
    """penalty, alpha, l1_ratio and fit_intercept as the naive rule applies them."""
    X, y = make_blobs(n_samples=30, centers=3, random_state=1)
    T = np.eye(3)[y]
    for penalty, ratio in (("l2", 0.0), ("l1", 1.0), ("elasticnet", 0.4)):
        clf = Perceptron(penalty=penalty, alpha=0.05, l1_ratio=0.4, fit_intercept=False,
                         max_iter=3, shuffle=False, eta0=0.25, random_state=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf.fit(X, y)
        W = np.random.default_rng(
            np.random.RandomState(0).randint(np.iinfo(np.int32).max)
        ).uniform(-0.05, 0.05, size=(3, 3))
        W[:, -1] = 0.0
        step = 0.25 * 0.05
        for _ in range(3):
            W, _, _ = naive.perceptron_epoch(X, T, W, np.arange(30), 0.25, np.ones(30),
                                             False, 1 - step * (1 - ratio), step * ratio)
        assert_allclose(clf.weights_, W, atol=1e-12)
        assert_array_equal(clf.intercept_, 0.0)


def test_l1_penalty_zeroes_useless_features():
    rng = np.random.default_rng(0)
    X = np.c_[rng.normal(size=(200, 2)), rng.normal(scale=0.01, size=(200, 8))]
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        plain = Perceptron(max_iter=30, random_state=0).fit(X, y)
        sparse_model = Perceptron(penalty="l1", alpha=0.01, max_iter=30,
                                  random_state=0).fit(X, y)
    assert np.count_nonzero(sparse_model.coef_[0, 2:]) < np.count_nonzero(plain.coef_[0, 2:])
    assert sparse_model.score(X, y) > 0.95


def test_tol_stops_on_the_loss_as_scikit_learn(iris):
    X, y = iris  # not separable: without tol, all max_iter epochs run
    with pytest.warns(ConvergenceWarning, match="linearly separable"):
        full = Perceptron(max_iter=200, random_state=0).fit(X, y)
    assert full.n_iter_ == 200
    stopped = Perceptron(max_iter=200, tol=1e-3, n_iter_no_change=5, random_state=0).fit(X, y)
    assert stopped.n_iter_ < 200
    # the rule: 5 epochs without a loss below the best minus tol * n_samples
    assert stopped.n_iter_ >= 6


def test_early_stopping_holds_out_and_stops_on_validation_accuracy(iris):
    X, y = iris
    clf = Perceptron(max_iter=500, tol=1e-3, early_stopping=True, validation_fraction=0.2,
                     n_iter_no_change=3, random_state=0).fit(X, y)
    assert clf.n_iter_ < 500
    assert clf.t_ == 1 + clf.n_iter_ * 150  # every row counted, as scikit-learn does
    with pytest.raises(ValueError, match="least populated class"):
        Perceptron(early_stopping=True, tol=1e-3).fit(X[:101], y[:101])


def test_sparse_input_matches_dense(iris):
    from scipy import sparse

    X, y = iris
    X = np.where(np.abs(X) < 0.5, 0.0, X)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        dense = Perceptron(max_iter=20, random_state=0).fit(X, y)
        csr = Perceptron(max_iter=20, random_state=0).fit(sparse.csr_matrix(X), y)
    assert_allclose(csr.weights_, dense.weights_, atol=1e-12)
    assert_allclose(csr.decision_function(sparse.csr_matrix(X)), dense.decision_function(X),
                    atol=1e-12)


def test_dtypes_follow_the_input(iris):
    X, y = iris
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = Perceptron(max_iter=5, random_state=0).fit(X.astype(np.float32), y)
    assert clf.coef_.dtype == clf.intercept_.dtype == np.float32
    assert clf.decision_function(X.astype(np.float32)).dtype == np.float32
    assert clf.decision_function(X).dtype == np.float64


def test_n_jobs_is_accepted_and_changes_nothing(iris):
    X, y = iris
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        a = Perceptron(max_iter=5, random_state=0, n_jobs=1).fit(X, y)
        b = Perceptron(max_iter=5, random_state=0, n_jobs=-1).fit(X, y)
    assert_array_equal(a.weights_, b.weights_)
