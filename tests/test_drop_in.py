"""Differential tests: the same calls on scikit-learn's MLPs and on ours.

Each test runs one call on both libraries and compares what a user of
scikit-learn relies on: the parameters and their defaults, the fitted
attributes, warm-start and partial-fit semantics, output dtypes, error types.
The differences kept on purpose are listed in ``doc/scikit-learn.rst`` and in
``DIFFERENCES`` below, and a test checks that the two agree.
"""

import pathlib
import re
import warnings
from inspect import signature

import numpy as np
import pytest
import sklearn.neural_network as sk
from sklearn.datasets import load_iris
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import Perceptron as SkPerceptron
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import InvalidParameterError

import skneuro
from skneuro.nn import DivergenceError

PAIRS = [(sk.MLPClassifier, skneuro.MLPClassifier), (sk.MLPRegressor, skneuro.MLPRegressor),
         (SkPerceptron, skneuro.Perceptron)]

#: Parameters whose defaults differ on purpose (see doc/scikit-learn.rst): the
#: course's perceptron.
DIFFERENCES = {("Perceptron", "eta0"), ("Perceptron", "tol"), ("Perceptron", "random_state")}

#: Constructor parameters that are positional in scikit-learn but keyword in
#: ours, or the other way round (see doc/scikit-learn.rst).
POSITIONAL_DIFFERENCES = {"MLPRegressor": "loss"}

DOC = pathlib.Path(__file__).resolve().parents[1] / "doc" / "scikit-learn.rst"


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def quietly(fit, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return fit(*args, **kwargs)


def _documented_attributes(cls):
    """The attribute names of a numpydoc ``Attributes`` section."""
    doc = cls.__doc__
    section = doc.split("Attributes\n    ----------", 1)[1].split("\n    See Also", 1)[0]
    return re.findall(r"^    (\w+) : ", section, flags=re.MULTILINE)


@pytest.mark.parametrize("Sk, Ours", PAIRS)
def test_every_scikit_learn_parameter_is_accepted_with_its_default(Sk, Ours):
    theirs = {k: p.default for k, p in signature(Sk).parameters.items()}
    ours = {k: p.default for k, p in signature(Ours).parameters.items()}
    for name, default in theirs.items():
        assert name in ours, f"{Ours.__name__} lacks scikit-learn's parameter {name!r}"
        if (Ours.__name__, name) in DIFFERENCES:
            continue
        assert ours[name] == default, (name, ours[name], default)


@pytest.mark.parametrize("Sk, Ours", PAIRS)
def test_keyword_only_parameters_agree(Sk, Ours):
    def keyword_only(cls):
        return {k for k, p in signature(cls).parameters.items() if p.kind == p.KEYWORD_ONLY}

    mismatched = keyword_only(Sk) ^ (keyword_only(Ours) & set(signature(Sk).parameters))
    mismatched.discard(POSITIONAL_DIFFERENCES.get(Ours.__name__))
    assert not mismatched


@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
@pytest.mark.parametrize("Sk, Ours", PAIRS[:2])
def test_every_documented_attribute_exists_with_the_same_kind(Sk, Ours, solver, iris):
    X, y = iris
    params = dict(hidden_layer_sizes=(5,), solver=solver, max_iter=3, random_state=0)
    theirs = quietly(Sk(**params).fit, X, y)
    ours = quietly(Ours(**params).fit, X, y)
    for name in _documented_attributes(Sk):
        if name == "feature_names_in_":  # only after a DataFrame, on both sides
            assert not hasattr(theirs, name) and not hasattr(ours, name)
            continue
        if not hasattr(theirs, name):  # e.g. loss_curve_ after lbfgs
            continue
        assert hasattr(ours, name), name
        a, b = getattr(theirs, name), getattr(ours, name)
        if isinstance(a, np.ndarray):
            assert isinstance(b, np.ndarray) and a.shape == b.shape, name
        elif isinstance(a, list):
            assert isinstance(b, list) and len(a) == len(b), name
        elif a is None:
            assert b is None, name
        elif isinstance(a, (int, np.integer)):
            assert isinstance(b, (int, np.integer)), name
        elif isinstance(a, float):
            assert isinstance(b, float), name
    assert [c.shape for c in ours.coefs_] == [c.shape for c in theirs.coefs_]
    assert ours.n_iter_ == theirs.n_iter_ and ours.t_ == theirs.t_
    assert ours.n_layers_ == theirs.n_layers_ and ours.n_outputs_ == theirs.n_outputs_
    assert ours.out_activation_ == theirs.out_activation_


@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
@pytest.mark.parametrize("early_stopping", [False, True])
def test_warm_start_counts_and_curves_as_scikit_learn(solver, early_stopping, iris):
    X, y = iris
    params = dict(hidden_layer_sizes=(5,), solver=solver, max_iter=3, warm_start=True,
                  early_stopping=early_stopping, n_iter_no_change=100, random_state=0)
    models = [sk.MLPClassifier(**params), skneuro.MLPClassifier(**params)]
    for _ in range(3):
        for model in models:
            quietly(model.fit, X, y)
        theirs, ours = models
        assert ours.n_iter_ == theirs.n_iter_
        assert ours.t_ == theirs.t_
        if solver != "lbfgs":
            assert len(ours.loss_curve_) == len(theirs.loss_curve_)
            assert (ours.validation_scores_ is None) == (theirs.validation_scores_ is None)
            if early_stopping:
                assert len(ours.validation_scores_) == len(theirs.validation_scores_)
    # y with fewer classes: the same ValueError on both sides.
    for model in models:
        with pytest.raises(ValueError, match="warm_start can only be used where `y` has the "
                                             "same classes as in the previous call to fit"):
            quietly(model.fit, X[y < 2], y[y < 2])


def test_partial_fit_counts_as_scikit_learn(iris):
    X, y = iris
    models = [sk.MLPClassifier((5,), random_state=0), skneuro.MLPClassifier((5,), random_state=0)]
    for model in models:
        model.partial_fit(X, y, classes=[0, 1, 2])
        model.partial_fit(X, y)
    theirs, ours = models
    assert ours.n_iter_ == theirs.n_iter_ == 1
    assert ours.t_ == theirs.t_ and len(ours.loss_curve_) == len(theirs.loss_curve_)


def test_n_iter_no_change_may_be_infinite(iris):
    X, y = iris
    for Cls in (sk.MLPClassifier, skneuro.MLPClassifier):
        model = quietly(Cls((5,), max_iter=30, n_iter_no_change=np.inf, tol=10.0,
                            random_state=0).fit, X, y)
        assert model.n_iter_ == 30  # never stopped by the stalled loss


def test_a_single_class_is_fitted_as_scikit_learn(iris):
    X, _ = iris
    y = np.full(len(X), "only")
    theirs = quietly(sk.MLPClassifier((5,), max_iter=5, random_state=0).fit, X, y)
    ours = quietly(skneuro.MLPClassifier((5,), max_iter=5, random_state=0).fit, X, y)
    assert list(ours.classes_) == list(theirs.classes_) == ["only"]
    assert list(ours.predict(X[:3])) == list(theirs.predict(X[:3]))
    assert ours.predict_proba(X[:3]).shape == theirs.predict_proba(X[:3]).shape
    assert ours.predict_proba(X[:3])[:, 0].min() > 0.5  # the class is the likely one


@pytest.mark.parametrize("sparse_X", [False, True])
def test_the_perceptron_set_up_as_scikit_learns_runs_the_same(sparse_X):
    from scipy import sparse
    from sklearn.datasets import make_blobs

    # Two separable classes: both rules must end with every point right. (On
    # iris, the last epoch's weights of either library score 0.7-0.95 by seed,
    # and a middle class of three blobs is not separable one-vs-rest.)
    X, y = make_blobs(n_samples=300, centers=2, cluster_std=0.6, random_state=3)
    X = sparse.csr_matrix(X) if sparse_X else X
    # scikit-learn's defaults, set explicitly: the rule, tol and n_iter_no_change
    # then mean the same on both sides.
    params = dict(eta0=1.0, tol=1e-3, random_state=0, penalty="l2", alpha=1e-4,
                  early_stopping=False, n_iter_no_change=5, fit_intercept=True)
    theirs = quietly(SkPerceptron(**params).fit, X, y)
    ours = quietly(skneuro.Perceptron(**params).fit, X, y)
    for name in _documented_attributes(SkPerceptron):
        if name != "feature_names_in_":
            assert hasattr(ours, name), name
    assert ours.coef_.shape == theirs.coef_.shape
    assert ours.intercept_.shape == theirs.intercept_.shape
    assert ours.coef_.dtype == theirs.coef_.dtype
    assert ours.n_iter_ < 1000 and theirs.n_iter_ < 1000  # both stopped by tol
    for model in (ours, theirs):
        assert model.t_ == model.n_iter_ * X.shape[0] + 1
    assert theirs.score(X, y) == ours.score(X, y) == 1.0
    assert ours.decision_function(X).shape == theirs.decision_function(X).shape


def test_the_perceptron_keeps_refusing_a_single_class(iris):
    X, _ = iris
    with pytest.raises(ValueError, match="class"):
        skneuro.Perceptron().fit(X, np.zeros(len(X)))


@pytest.mark.parametrize("fit_dtype", [np.float32, np.float64])
@pytest.mark.parametrize("predict_dtype", [np.float32, np.float64])
def test_outputs_take_the_input_dtype(fit_dtype, predict_dtype, iris):
    X, y = iris
    Xf, Xp = X.astype(fit_dtype), X[:4].astype(predict_dtype)
    clf = quietly(skneuro.MLPClassifier((5,), max_iter=3).fit, Xf, y)
    reg = quietly(skneuro.MLPRegressor(hidden_layer_sizes=(5,), max_iter=3).fit, Xf, y)
    assert clf.predict_proba(Xp).dtype == predict_dtype
    assert clf.predict_log_proba(Xp).dtype == predict_dtype
    assert reg.predict(Xp).dtype == predict_dtype
    assert reg.predict(Xp.tolist()).dtype == np.float64  # lists are read as float64
    if fit_dtype == predict_dtype:  # where scikit-learn's rule is the same one
        theirs = quietly(sk.MLPRegressor(hidden_layer_sizes=(5,), max_iter=3).fit, Xf, y)
        assert theirs.predict(Xp).dtype == reg.predict(Xp).dtype


def test_divergence_is_a_value_error_too():
    assert issubclass(DivergenceError, ValueError)
    assert issubclass(DivergenceError, FloatingPointError)


def test_an_exploding_finite_loss_is_divergence(iris):
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    clf = skneuro.MLPClassifier((32,), solver="sgd", learning_rate_init=10.0, max_iter=30,
                                random_state=0)
    # Raw 0-16 pixels: the loss explodes within the first epoch.
    with pytest.raises(DivergenceError, match="more than 100 times the initial weights'"):
        quietly(clf.fit, X, y)
    assert not hasattr(clf, "network_")
    # Scaled inputs: the first epochs learn, then the loss rises 1000-fold.
    X, y = iris
    clf = skneuro.MLPClassifier((32,), solver="sgd", learning_rate_init=10.0, max_iter=30,
                                random_state=0)
    with pytest.raises(DivergenceError, match="during epoch 3"):
        quietly(clf.fit, X, y)
    # partial_fit too: the first call's loss is the reference
    clf = skneuro.MLPClassifier((32,), solver="sgd", learning_rate_init=10.0, random_state=0)
    with pytest.raises(DivergenceError):
        for _ in range(30):
            clf.partial_fit(X, y, classes=np.arange(3))


def test_an_lbfgs_loss_that_rises_is_divergence(iris, monkeypatch):
    from scipy.optimize import OptimizeResult

    from skneuro import _base

    X, y = iris
    clf = quietly(skneuro.MLPClassifier((5,), solver="lbfgs", max_iter=5).fit, X, y)

    def rising(*args, **kwargs):
        return OptimizeResult(fun=500.0, initial_fun=1.0, nit=3, status=0, message="")

    monkeypatch.setattr(_base, "fit_lbfgs", rising)
    with pytest.raises(DivergenceError, match="more than 100 times the starting"):
        clf.fit(X, y)


@pytest.mark.parametrize("sizes, error", [((8.5,), TypeError), ((0,), ValueError),
                                          (("8",), TypeError)])
def test_bad_hidden_layer_sizes_say_what_is_wrong(sizes, error, iris):
    X, y = iris
    with pytest.raises(error, match="hidden_layer_sizes must"):
        skneuro.MLPClassifier(sizes, max_iter=1).fit(X, y)
    with pytest.raises(error):  # scikit-learn raises the same type
        sk.MLPClassifier(sizes, max_iter=1).fit(X, y)


def test_bad_parameters_raise_scikit_learns_error(iris):
    X, y = iris
    for Cls in (sk.MLPClassifier, skneuro.MLPClassifier):
        with pytest.raises(InvalidParameterError, match="'solver' parameter"):
            Cls(solver="newton").fit(X, y)
        with pytest.raises(InvalidParameterError, match="'alpha' parameter"):
            Cls(alpha=-1).fit(X, y)


def test_the_documented_differences_are_in_the_docs():
    text = DOC.read_text()
    for (estimator, name) in DIFFERENCES:
        assert f"``{name}" in text and estimator in text, name
    for estimator, name in POSITIONAL_DIFFERENCES.items():
        assert f"``{name}" in text and estimator in text, name


def test_an_autoencoder_told_to_squash_what_it_cannot_reach_says_so():
    from sklearn.datasets import load_digits

    X, _ = load_digits(return_X_y=True)  # raw pixels, 0 to 16
    with pytest.warns(UserWarning, match=r"X ranges over \[0, 16\].*MinMaxScaler"):
        quietly(skneuro.AutoEncoder(2, (8,), out_activation="sigmoid", max_iter=1).fit, X)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # in range: no warning
        quietly(skneuro.AutoEncoder(2, (8,), out_activation="sigmoid", max_iter=1).fit,
                X / 16)


def test_shape_errors_name_the_shapes():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(12, 64)), np.arange(12) % 2
    with pytest.raises(ValueError, match="number of channels _c must be an integer >= 1"):
        skneuro.CNNClassifier("I-8.8_c0", max_iter=1).fit(X, y)
    cnn = quietly(skneuro.CNNClassifier(input_shape=(1, 8, 8), max_iter=1).fit, X, y)
    with pytest.raises(ValueError, match=r"samples of shape \(1, 6, 6\).*fitted on samples "
                                         r"of shape \(1, 8, 8\)"):
        cnn.predict(np.zeros((3, 1, 6, 6)))
    with pytest.raises(ValueError, match="2 to 4 dimensions, got 5"):  # as fit says
        cnn.predict(np.zeros((3, 1, 1, 8, 8)))
    with pytest.raises(ValueError, match="2 to 4 dimensions, got 5"):
        skneuro.CNNClassifier(input_shape=(1, 8, 8)).fit(np.zeros((12, 1, 1, 8, 8)), y)


#: One non-default value of every scikit-learn MLP parameter.
SWEEP = [("hidden_layer_sizes", (16, 8)), ("activation", "tanh"), ("activation", "logistic"),
         ("activation", "identity"), ("solver", "sgd"), ("solver", "lbfgs"), ("alpha", 0.01),
         ("batch_size", 16), ("learning_rate", "invscaling"), ("learning_rate", "adaptive"),
         ("learning_rate_init", 0.01), ("power_t", 0.25), ("max_iter", 20),
         ("shuffle", False), ("tol", 1e-2), ("verbose", True), ("warm_start", True),
         ("momentum", 0.5), ("nesterovs_momentum", False), ("early_stopping", True),
         ("validation_fraction", 0.3), ("beta_1", 0.8), ("beta_2", 0.99), ("epsilon", 1e-6),
         ("n_iter_no_change", 3), ("max_fun", 100)]


@pytest.mark.parametrize("name, value", SWEEP)
@pytest.mark.parametrize("Sk, Ours", PAIRS[:2])
def test_every_parameter_does_what_it_does_in_scikit_learn(Sk, Ours, name, value, iris,
                                                           capsys):
    X, y = iris
    if Sk is sk.MLPRegressor:  # a smooth target, with enough rows for a validation set
        from sklearn.datasets import make_friedman1

        X, y = make_friedman1(n_samples=400, random_state=0)
        y = (y - y.mean()) / y.std()
    base = dict(hidden_layer_sizes=(10,), max_iter=60, learning_rate_init=0.01,
                random_state=0)
    if name in ("learning_rate", "momentum", "nesterovs_momentum", "power_t"):
        base["solver"] = "sgd"  # the parameters of the sgd solver
    if name == "validation_fraction":
        base["early_stopping"] = True
    if name == "max_fun":
        base["solver"] = "lbfgs"
    scores = {"ours": [], "theirs": []}
    for seed in range(3):  # small networks: one seed's score is too noisy to compare
        params = {**base, name: value, "random_state": seed}
        theirs = quietly(Sk(**params).fit, X, y)
        capsys.readouterr()
        # scikit-learn's initialization scheme, so that only the parameter differs
        ours = quietly(Ours(**params, init="scikit-learn").fit, X, y)
        printed = capsys.readouterr().out
        assert (printed != "") == bool(params.get("verbose"))  # a line per epoch, or none
        # The same attributes in the same states (where scikit-learn sets them:
        # after lbfgs it sets no curve and no best loss, see the docs).
        assert ours.n_outputs_ == theirs.n_outputs_ and ours.n_layers_ == theirs.n_layers_
        for attr in ("validation_scores_", "best_validation_score_", "best_loss_"):
            if hasattr(theirs, attr):
                assert (getattr(ours, attr) is None) == (getattr(theirs, attr) is None), attr
        assert (ours.t_ == 0) == (theirs.t_ == 0)
        assert 1 <= ours.n_iter_ <= params["max_iter"]
        scores["ours"].append(ours.score(X, y))
        scores["theirs"].append(theirs.score(X, y))
    # about as good a fit
    assert np.mean(scores["ours"]) > np.mean(scores["theirs"]) - 0.15, scores


@pytest.mark.parametrize("method, activation, bound, biases", [
    ("auto", "relu", np.sqrt(6 / 40), False), ("auto", "tanh", np.sqrt(6 / 50), False),
    ("glorot_uniform", "relu", np.sqrt(6 / 50), False), ("small", "relu", 0.1, False),
    ("scikit-learn", "relu", np.sqrt(6 / 50), True),
    ("scikit-learn", "sigmoid", np.sqrt(2 / 50), True),
])
def test_initialization_schemes(method, activation, bound, biases):
    from skneuro.nn.init import initialize

    W, b = initialize((40, 10), activation, method, np.random.default_rng(0))
    assert W.shape == (40, 10) and b.shape == (10,)
    assert np.abs(W).max() <= bound and np.abs(W).max() > 0.9 * bound  # fills U(-s, s)
    if biases:
        assert np.abs(b).max() <= bound and np.any(b != 0)
    else:
        assert not np.any(b)
    with pytest.raises(ValueError, match="Unknown initialization"):
        initialize((4, 2), "relu", "zeros", np.random.default_rng(0))
