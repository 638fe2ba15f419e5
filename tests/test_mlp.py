"""MLPClassifier and MLPRegressor: accuracy, scikit-learn citizenship, bad input."""

import io
import pickle
import warnings
from contextlib import redirect_stdout

import joblib
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.datasets import (
    load_breast_cancer,
    load_diabetes,
    load_digits,
    load_iris,
    make_multilabel_classification,
    make_regression,
)
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.model_selection import GridSearchCV, cross_val_score, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skneuro import MLPClassifier, MLPRegressor
from skneuro.nn import Callback, DivergenceError


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return train_test_split(X / 16.0, y, test_size=0.25, random_state=0, stratify=y)


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X), y


# -- accuracy on bundled data -------------------------------------------------
def test_iris(iris):
    X, y = iris
    clf = MLPClassifier((16,), learning_rate_init=0.01, max_iter=300, random_state=0)
    scores = cross_val_score(clf, X, y, cv=3)
    assert scores.mean() > 0.9


def test_digits_held_out(digits):
    X_train, X_test, y_train, y_test = digits
    clf = MLPClassifier((64,), max_iter=60, random_state=0).fit(X_train, y_train)
    assert clf.score(X_test, y_test) > 0.95


def test_breast_cancer_binary_uses_one_sigmoid_output():
    X, y = load_breast_cancer(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0, stratify=y)
    clf = MLPClassifier((32,), max_iter=100, random_state=0).fit(X_train, y_train)
    assert clf.n_outputs_ == 1 and clf.out_activation_ == "logistic"
    assert clf.score(X_test, y_test) > 0.94
    proba = clf.predict_proba(X_test)
    assert proba.shape == (len(X_test), 2)
    assert_allclose(proba.sum(axis=1), 1.0)


def test_regression_diabetes():
    X, y = load_diabetes(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    X_train, X_test, y_train, y_test = train_test_split(X, y / 100, random_state=0)
    # Diabetes overfits quickly (scikit-learn's MLP: R^2 0.25 after 50 epochs, below 0
    # after 200); a short run is the honest setting.
    reg = MLPRegressor((32,), learning_rate_init=0.01, alpha=1e-2, max_iter=50,
                       random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg.fit(X_train, y_train)
    assert reg.score(X_test, y_test) > 0.2
    assert reg.predict(X_test).dtype == np.float64


def test_multi_output_regression():
    X, Y = make_regression(n_samples=400, n_features=8, n_targets=3, noise=1.0,
                           random_state=0)
    X_train, X_test, Y_train, Y_test = train_test_split(X, Y / 100, random_state=0)
    reg = MLPRegressor((64,), learning_rate_init=0.01, max_iter=300, random_state=0)
    reg.fit(X_train, Y_train)
    assert reg.predict(X_test).shape == Y_test.shape
    assert reg.score(X_test, Y_test) > 0.95


@pytest.mark.parametrize("solver", ["sgd", "adam", "rmsprop", "adagrad", "lbfgs"])
def test_every_solver_learns(solver, iris):
    X, y = iris
    lr = {"sgd": 0.1, "adagrad": 0.1}.get(solver, 0.01)
    clf = MLPClassifier((16,), solver=solver, learning_rate_init=lr, max_iter=150,
                        random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    assert clf.score(X, y) > 0.9, solver


@pytest.mark.parametrize("schedule", ["constant", "invscaling", "adaptive", "linear",
                                      "exponential"])
def test_learning_rate_schedules(schedule, iris):
    X, y = iris
    clf = MLPClassifier((16,), solver="sgd", learning_rate=schedule, learning_rate_init=0.2,
                        max_iter=80, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    assert clf.score(X, y) > 0.85, schedule


@pytest.mark.parametrize("activation", ["identity", "logistic", "sigmoid", "tanh", "relu",
                                        "leaky_relu"])
def test_activations(activation, iris):
    X, y = iris
    clf = MLPClassifier((16,), activation=activation, max_iter=200, learning_rate_init=0.01,
                        random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    assert clf.score(X, y) > 0.85


def test_sigmoid_slope_changes_the_network(iris):
    X, y = iris
    a = MLPClassifier((4,), activation="sigmoid", max_iter=5, random_state=0)
    b = clone(a).set_params(sigmoid_slope=3.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        pa = a.fit(X, y).predict_proba(X)
        pb = b.fit(X, y).predict_proba(X)
    assert not np.allclose(pa, pb)


def test_multilabel():
    X, Y = make_multilabel_classification(n_samples=300, n_classes=4, random_state=0)
    clf = MLPClassifier((64,), max_iter=300, random_state=0).fit(X, Y)
    assert clf.predict(X).shape == Y.shape
    assert clf.predict_proba(X).shape == Y.shape
    assert clf.score(X, Y) > 0.6  # subset accuracy


def test_string_labels_and_pandas_round_trip(iris):
    X, y = iris
    names = np.array(["setosa", "versicolor", "virginica"])[y]
    df = pd.DataFrame(X, columns=["sl", "sw", "pl", "pw"])
    clf = MLPClassifier((16,), max_iter=300, random_state=0).fit(df, pd.Series(names))
    assert_array_equal(clf.classes_, names[np.unique(names, return_index=True)[1]])
    assert list(clf.feature_names_in_) == ["sl", "sw", "pl", "pw"]
    assert set(clf.predict(df)) <= set(names)
    with pytest.warns(UserWarning, match="feature names"):
        clf.predict(X)


# -- scikit-learn citizenship --------------------------------------------------
def test_same_random_state_gives_the_same_model(digits):
    X_train, _, y_train, _ = digits
    params = dict(hidden_layer_sizes=(32,), max_iter=5, random_state=3, dropout=0.2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        a = MLPClassifier(**params).fit(X_train, y_train)
        b = MLPClassifier(**params).fit(X_train, y_train)
        c = MLPClassifier(**{**params, "random_state": 4}).fit(X_train, y_train)
    for wa, wb in zip(a.coefs_, b.coefs_):
        assert_array_equal(wa, wb)
    assert not np.array_equal(a.coefs_[0], c.coefs_[0])


def test_pickle_and_joblib_round_trip(digits, tmp_path):
    X_train, X_test, y_train, _ = digits
    clf = MLPClassifier((32,), max_iter=20, random_state=0).fit(X_train, y_train)
    expected = clf.predict_proba(X_test)
    restored = pickle.loads(pickle.dumps(clf))
    assert_array_equal(restored.predict_proba(X_test), expected)
    joblib.dump(clf, tmp_path / "model.joblib")
    assert_array_equal(joblib.load(tmp_path / "model.joblib").predict_proba(X_test), expected)
    # The restored model can also keep training.
    restored.partial_fit(X_train, y_train)


def test_pipeline_and_grid_search_with_two_jobs(iris):
    X, y = iris
    pipe = make_pipeline(StandardScaler(), MLPClassifier((8,), learning_rate_init=0.01,
                                                         max_iter=100, random_state=0))
    grid = GridSearchCV(pipe, {"mlpclassifier__alpha": [1e-4, 1e-2]}, cv=3, n_jobs=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        grid.fit(X, y)
    assert grid.best_score_ > 0.85
    assert grid.best_params_["mlpclassifier__alpha"] in (1e-4, 1e-2)


def test_a_row_prediction_does_not_depend_on_the_other_rows(digits):
    from skneuro.kernels.cpu.dense import SMALL_ROWS

    X_train, X_test, y_train, _ = digits
    reg = MLPRegressor((100,), max_iter=10, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg.fit(X_train, y_train.astype(float))
    small = reg.predict(X_test[:SMALL_ROWS])
    for start, stop in [(0, 1), (5, 7), (10, 13), (3, SMALL_ROWS)]:
        assert_array_equal(reg.predict(X_test[start:stop]), small[start:stop])
    # Larger requests go through the same kernels in passes, with zeros to
    # skip (digits: 4-row blocks are ~70% nonzero) or without: the same to
    # the bit, at any position in the request.
    for many in (np.tile(X_test, (2, 1)), np.tile(X_test, (2, 1)) + 0.01):
        assert len(many) > SMALL_ROWS
        expected = reg.predict(many)
        assert_array_equal(expected[:SMALL_ROWS], reg.predict(many[:SMALL_ROWS]))
        assert_array_equal(expected[300:310], reg.predict(many[300:310]))


def test_sparse_input_matches_dense(digits):
    X_train, X_test, y_train, _ = digits
    params = dict(hidden_layer_sizes=(16,), max_iter=5, random_state=0, shuffle=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        dense = MLPClassifier(**params).fit(X_train, y_train)
        sparse = MLPClassifier(**params).fit(sp.csr_matrix(X_train), y_train)
    assert_allclose(sparse.predict_proba(sp.csr_matrix(X_test)), dense.predict_proba(X_test),
                    atol=1e-4)


def test_float64_dtype(iris):
    X, y = iris
    clf = MLPClassifier((8,), max_iter=50, dtype="float64", random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    assert clf.coefs_[0].dtype == np.float64
    clf32 = clone(clf).set_params(dtype="float32")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf32.fit(X, y)
    assert clf32.coefs_[0].dtype == np.float32


# -- training features ---------------------------------------------------------
class CaptureValidation(Callback):
    """Keeps the validation set the trainer used."""

    def on_train_begin(self, trainer):
        self.validation = trainer.validation


def test_early_stopping_restores_the_best_weights(digits):
    X_train, _, y_train, _ = digits
    capture = CaptureValidation()
    clf = MLPClassifier((64,), max_iter=200, early_stopping=True, n_iter_no_change=3,
                        random_state=0, callbacks=[capture]).fit(X_train, y_train)
    assert clf.n_iter_ < 200
    assert len(clf.validation_scores_) == clf.n_iter_
    assert len(clf.validation_loss_curve_) == clf.n_iter_
    assert clf.best_loss_ is None
    best_epoch = int(np.argmax(clf.validation_scores_))
    assert best_epoch < clf.n_iter_ - 1
    # The model in hand scores the best epoch's accuracy on the validation set,
    # not the last epoch's.
    Xv, yv_encoded, _ = capture.validation
    assert clf.score(Xv, clf.classes_[yv_encoded]) == clf.validation_scores_[best_epoch]


def test_validation_data_records_the_validation_loss(digits):
    X_train, X_test, y_train, y_test = digits
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = MLPClassifier((32,), max_iter=8, random_state=0).fit(
            X_train, y_train, validation_data=(X_test, y_test))
    assert len(clf.validation_loss_curve_) == 8
    assert len(clf.validation_scores_) == 8
    assert clf.validation_loss_curve_[-1] < clf.validation_loss_curve_[0]


def test_early_stopping_split_is_stratified_for_binary_targets_as_scikit_learn():
    X, y = load_digits(return_X_y=True)
    y = (y == 3).astype(int)  # 10% positives
    capture = CaptureValidation()
    clf = MLPClassifier((8,), early_stopping=True, validation_fraction=0.2, max_iter=1,
                        random_state=0, callbacks=[capture])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X / 16, y)
    _, yv, _ = capture.validation
    assert_allclose(yv.mean(), y.mean(), atol=0.003)
    # A class of one member cannot be stratified: scikit-learn's error, not a
    # silent unstratified split.
    y_one = np.zeros(len(y), dtype=int)
    y_one[0] = 1
    with pytest.raises(ValueError, match="least populated class"):
        MLPClassifier((8,), early_stopping=True, max_iter=1).fit(X / 16, y_one)


def test_partial_fit(digits):
    X_train, X_test, y_train, y_test = digits
    clf = MLPClassifier((32,), learning_rate_init=0.01, random_state=0)
    with pytest.raises(ValueError, match="classes must be passed"):
        clf.partial_fit(X_train[:10], y_train[:10])
    clf.partial_fit(X_train[:100], y_train[:100], classes=np.arange(10))
    for _ in range(20):
        clf.partial_fit(X_train, y_train)
    assert clf.n_iter_ == 1 and len(clf.loss_curve_) == 21  # as scikit-learn
    assert clf.score(X_test, y_test) > 0.9
    with pytest.raises(ValueError, match="not seen"):
        clf.partial_fit(X_train[:5], np.array([0, 1, 2, 3, 11]))


def test_warm_start_continues(iris):
    X, y = iris
    clf = MLPClassifier((8,), max_iter=10, warm_start=True, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
        first = clf.coefs_[0].copy()
        clf.fit(X, y)
    # As scikit-learn: n_iter_ counts this fit's epochs; the curve and t_ go on.
    assert clf.n_iter_ == 10
    assert len(clf.loss_curve_) == 20 and clf.t_ == 20 * len(X)
    assert not np.array_equal(first, clf.coefs_[0])
    with pytest.raises(ValueError, match="warm_start can only be used where `y` has the "
                                         "same classes"):
        clf.fit(X[y < 2], y[y < 2])
    assert len(clf.loss_curve_) == 20  # the refused refit changed nothing


def test_class_weight_shifts_the_decision():
    X, y = load_breast_cancer(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    params = dict(hidden_layer_sizes=(8,), max_iter=50, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        plain = MLPClassifier(**params).fit(X, y)
        heavy = MLPClassifier(**params, class_weight={0: 20.0, 1: 1.0}).fit(X, y)
        balanced = MLPClassifier(**params, class_weight="balanced").fit(X, y)
    assert (heavy.predict(X) == 0).sum() > (plain.predict(X) == 0).sum()
    assert balanced.score(X, y) > 0.9
    with pytest.raises(ValueError, match="not in the data"):
        MLPClassifier(class_weight={5: 2.0}).fit(X, y)


def test_sample_weight_zero_is_like_removing_rows(iris):
    X, y = iris
    w = np.ones(len(y))
    w[::3] = 0
    params = dict(hidden_layer_sizes=(8,), max_iter=20, random_state=0, dtype="float64",
                  batch_size=len(y))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        weighted = MLPClassifier(**params).fit(X, y, sample_weight=w)
        removed = MLPClassifier(**{**params, "batch_size": int(w.sum())}).fit(X[w > 0],
                                                                              y[w > 0])
    assert_allclose(weighted.predict_proba(X), removed.predict_proba(X), atol=1e-10)


def test_dropout_per_layer(iris):
    X, y = iris
    clf = MLPClassifier((16, 8), dropout=[0.2, 0.1], learning_rate_init=0.01, max_iter=100,
                        random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    assert clf.score(X, y) > 0.85
    assert len(clf.coefs_) == 3
    with pytest.raises(ValueError, match="one rate per hidden layer"):
        MLPClassifier((16, 8), dropout=[0.2]).fit(X, y)


def test_verbose_prints_one_line_per_epoch(iris):
    X, y = iris
    out = io.StringIO()
    with redirect_stdout(out), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        MLPClassifier((8,), max_iter=4, verbose=True, early_stopping=True,
                      random_state=0).fit(X, y)
    lines = out.getvalue().strip().splitlines()
    # Epochs of milliseconds: the lines they printed before within-epoch
    # progress existed, and nothing else.
    assert len(lines) == 4
    assert "Iteration 1/4" in lines[0]
    for key in ("loss", "val_loss", "val_score", "elapsed", "remaining"):
        assert key in lines[-1]


class FakeClock:
    """A clock for skneuro._progress that moves ``tick`` seconds at each reading."""

    def __init__(self, tick):
        self.now = 0.0
        self.tick = tick

    def __call__(self):
        self.now += self.tick
        return self.now


def verbose_fit(monkeypatch, X, y, tick, stream=None, **params):
    """Fit a verbose MLP under a FakeClock; returns what it printed."""
    monkeypatch.setattr("skneuro._progress.clock", FakeClock(tick))
    out = io.StringIO() if stream is None else stream
    with redirect_stdout(out), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        MLPClassifier((16,), batch_size=20, verbose=True, random_state=0, **params).fit(X, y)
    return out.getvalue()


def test_verbose_shows_plain_progress_lines_within_a_long_epoch(monkeypatch, digits):
    X, y = digits[0], digits[2]  # 1347 rows: 68 batches of 20
    # Every clock reading is a second: each batch "takes" about one, so an
    # epoch lasts over a minute and shows a line every 10 s (the stream is
    # not a terminal), the first once 10 s have passed.
    printed = verbose_fit(monkeypatch, X, y, tick=1.0, max_iter=2)
    lines = printed.splitlines()
    epoch_lines = [i for i, line in enumerate(lines) if line.startswith("Iteration")]
    assert len(epoch_lines) == 2
    within = [line for line in lines if line.startswith("  epoch ")]
    first = [line for line in within if line.startswith("  epoch 1/2: ")]
    assert 3 <= len(first) <= 8, printed  # one per 10 s of a 68-70 s epoch
    assert len(within) == len(lines) - 2  # nothing else
    assert lines[epoch_lines[0] - 1].startswith("  epoch 1/2: ")
    assert lines[epoch_lines[0] + 1].startswith("  epoch 2/2: ")
    batches = [int(line.split(": ")[1].split("/")[0]) for line in first]
    assert batches == sorted(batches) and batches[-1] < 68
    assert first[0].endswith("left") and "/68 batches (" in first[0]


def test_verbose_epochs_shorter_than_the_delay_print_only_their_line(monkeypatch, digits):
    X, y = digits[0], digits[2]
    # 68 batches of 10 ms: 0.7 s an epoch, under the 2 s delay.
    printed = verbose_fit(monkeypatch, X, y, tick=0.01, max_iter=2)
    assert [line.split(",")[0] for line in printed.splitlines()] == [
        "Iteration 1/2", "Iteration 2/2"]


def test_verbose_draws_a_bar_in_a_terminal(monkeypatch, digits):
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    X, y = digits[0], digits[2]
    printed = verbose_fit(monkeypatch, X, y, tick=1.0, max_iter=1, stream=Terminal())
    # tqdm's bar, drawn over itself with carriage returns, then cleared
    # (leave=False) before the epoch's line; no plain lines.
    assert "\repoch 1/1:" in printed and "batch" in printed, printed
    assert "  epoch 1/1: " not in printed
    assert printed.rstrip().splitlines()[-1].lstrip("\r ").startswith("Iteration 1/1, loss")


def test_convergence_warning_at_max_iter(iris):
    X, y = iris
    with pytest.warns(ConvergenceWarning, match="Maximum iterations"):
        MLPClassifier((8,), max_iter=2, random_state=0).fit(X, y)


class InterruptAt(Callback):
    """Ctrl-C, as the trainer sees it, after ``batch`` batches of epoch ``epoch``
    (``batch=None``: at the end of the epoch); ``spoil`` first makes the
    weights NaN, as a diverging step would."""

    def __init__(self, epoch, batch=None, spoil=False):
        self.epoch, self.batch, self.spoil = epoch, batch, spoil

    def on_batch_end(self, trainer, batch, n_batches):
        if self.batch == batch and trainer.epoch + 1 == self.epoch:
            if self.spoil:
                for layer, name in trainer.network.parameters():
                    layer.params[name][...] = np.nan
            raise KeyboardInterrupt

    def on_epoch_end(self, trainer, logs):
        if self.batch is None and logs["epoch"] == self.epoch:
            raise KeyboardInterrupt


def test_keyboard_interrupt_keeps_a_fitted_model_and_stops_the_caller(iris):
    X, y = iris
    clf = MLPClassifier((8,), max_iter=50, random_state=0, callbacks=[InterruptAt(3)])
    with pytest.raises(KeyboardInterrupt, match="MLPClassifier is fitted.*n_iter_=3") as caught:
        clf.fit(X, y)
    # Exactly KeyboardInterrupt: a script, a cell, a search stops as Ctrl-C asks
    # (and Python ends by the signal, which stops a calling shell loop too).
    assert type(caught.value) is KeyboardInterrupt
    assert clf.n_iter_ == 3 and len(clf.loss_curve_) == 3
    # Fitted with the weights of its 3 epochs: those of a 3-epoch fit.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        three = MLPClassifier((8,), max_iter=3, random_state=0).fit(X, y)
    assert_allclose(clf.coefs_[0], three.coefs_[0])
    assert_array_equal(clf.predict(X), three.predict(X))


def test_keyboard_interrupt_within_an_epoch_keeps_its_batches(iris):
    X, y = iris
    clf = MLPClassifier((8,), batch_size=30, max_iter=50, random_state=0,
                        callbacks=[InterruptAt(2, batch=3)])
    with pytest.raises(KeyboardInterrupt, match="n_iter_=1"):
        clf.fit(X, y)
    assert clf.n_iter_ == 1 and len(clf.loss_curve_) == 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        one = MLPClassifier((8,), batch_size=30, max_iter=1, random_state=0).fit(X, y)
    # Three batches of the second epoch moved the weights on from epoch 1's.
    assert not np.allclose(clf.coefs_[0], one.coefs_[0])
    assert np.isfinite(clf.predict_proba(X)).all()

    # Weights made non-finite before the signal: back to the epoch's first ones.
    spoiled = MLPClassifier((8,), batch_size=30, max_iter=50, random_state=0,
                            callbacks=[InterruptAt(2, batch=3, spoil=True)])
    with pytest.raises(KeyboardInterrupt):
        spoiled.fit(X, y)
    assert_allclose(spoiled.coefs_[0], one.coefs_[0])


def test_keyboard_interrupt_with_early_stopping_keeps_the_best_weights(iris):
    X, y = iris
    clf = MLPClassifier((8,), max_iter=50, early_stopping=True, random_state=0,
                        callbacks=[InterruptAt(6)])
    with pytest.raises(KeyboardInterrupt, match="best validation score"):
        clf.fit(X, y)
    best = int(np.argmax(clf.validation_scores_)) + 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ref = MLPClassifier((8,), max_iter=best, early_stopping=True, random_state=0,
                            n_iter_no_change=50).fit(X, y)
    assert_allclose(clf.coefs_[0], ref.coefs_[0])


def test_keyboard_interrupt_during_partial_fit_and_lbfgs(iris, monkeypatch):
    X, y = iris
    clf = MLPClassifier((8,), batch_size=30, random_state=0,
                        callbacks=[InterruptAt(2, batch=2)])
    clf.partial_fit(X, y, classes=np.unique(y))
    before = [w.copy() for w in clf.coefs_]
    with pytest.raises(KeyboardInterrupt, match="n_iter_=0"):
        clf.partial_fit(X, y)  # its two batches are kept
    assert clf.loss_curve_ == clf._trainer.loss_curve and len(clf.loss_curve_) == 1
    assert not np.allclose(clf.coefs_[0], before[0])
    assert np.isfinite(clf.predict_proba(X)).all()

    def interrupted(network, *args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("skneuro._base.fit_lbfgs", interrupted)
    lbfgs = MLPClassifier((8,), solver="lbfgs", random_state=0)
    with pytest.raises(KeyboardInterrupt, match="L-BFGS"):
        lbfgs.fit(X, y)
    assert lbfgs.n_iter_ == 0 and np.isfinite(lbfgs.loss_)
    assert lbfgs.predict(X).shape == y.shape


def test_keyboard_interrupt_outside_the_loop_leaves_the_model_as_it_was(iris):
    """Before the first batch nothing was learnt: the fit is undone as any
    failed one, and the KeyboardInterrupt goes on as it came."""
    X, y = iris

    class InterruptFirst(Callback):
        def on_train_begin(self, trainer):
            raise KeyboardInterrupt

    clf = MLPClassifier((8,), max_iter=5, random_state=0, callbacks=[InterruptFirst()])
    with pytest.raises(KeyboardInterrupt) as caught:
        clf.fit(X, y)
    assert caught.value.args == ()
    assert not hasattr(clf, "network_")


def test_keyboard_interrupt_stops_a_grid_search(iris):
    """Ctrl-C in one candidate's fit ends the search, instead of its going on
    with a half-trained candidate (what swallowing the interrupt did)."""
    X, y = iris
    fits = []

    class Count(Callback):
        def on_train_begin(self, trainer):
            fits.append(trainer)

        def on_epoch_end(self, trainer, logs):
            if len(fits) == 2 and logs["epoch"] == 2:
                raise KeyboardInterrupt

    search = GridSearchCV(MLPClassifier((8,), max_iter=5, random_state=0,
                                        callbacks=[Count()]),
                          {"alpha": [1e-4, 1e-3]}, cv=2, error_score="raise")
    with pytest.raises(KeyboardInterrupt), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search.fit(X, y)
    assert len(fits) == 2


def test_callback_can_stop_training(iris):
    X, y = iris

    class StopAt(Callback):
        def on_epoch_end(self, trainer, logs):
            if logs["epoch"] == 5:
                raise StopIteration

    clf = MLPClassifier((8,), max_iter=50, random_state=0, callbacks=[StopAt()]).fit(X, y)
    assert clf.n_iter_ == 5


def test_divergence_raises_naming_the_learning_rate_and_corrupts_nothing(iris):
    X, y = iris
    reg = MLPRegressor((16,), solver="sgd", learning_rate_init=1e3, momentum=0.9,
                       max_iter=50, random_state=0)
    with pytest.raises(DivergenceError, match="learning_rate_init=1000"):
        reg.fit(X * 100, y * 1e3)
    with pytest.raises(NotFittedError):
        reg.predict(X)
    # A fitted model whose next fit diverges is left exactly as it was.
    good = MLPRegressor((16,), solver="sgd", learning_rate_init=1e-3, max_iter=5,
                        warm_start=True, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        good.fit(X, y)
    before = pickle.dumps(good)
    weights = [w.copy() for w in good.coefs_]
    good.set_params(learning_rate_init=1e3)
    with pytest.raises(DivergenceError):
        good.fit(X * 100, y * 1e3)
    good.set_params(learning_rate_init=1e-3)
    for a, b in zip(weights, good.coefs_):
        assert_array_equal(a, b)
    assert good.n_iter_ == 5 and len(good.loss_curve_) == 5
    assert len(good._trainer.loss_curve) == 5
    assert pickle.dumps(good) == before
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        good.fit(X, y)
    assert good.n_iter_ == 5 and len(good.loss_curve_) == 10


def test_divergence_in_the_last_update_is_caught(iris):
    X, y = iris
    # One full batch: its loss is computed before the update that overflows.
    reg = MLPRegressor((8,), solver="sgd", alpha=0.0, momentum=0.0, learning_rate_init=1e38,
                       max_iter=1, batch_size=len(y), random_state=0)
    with pytest.raises(DivergenceError, match="epoch 1"):
        reg.fit(X * 100, y * 100)


def test_validation_data_of_mismatched_length_is_an_error(iris):
    X, y = iris
    for Estimator in (MLPClassifier, MLPRegressor):
        with pytest.raises(ValueError, match="inconsistent numbers of samples"):
            Estimator((4,), max_iter=2).fit(X, y, validation_data=(X[:100], y[:10]))
    with pytest.raises(ValueError, match="tuple"):
        MLPClassifier((4,), max_iter=2).fit(X, y, validation_data=X)


def test_partial_fit_rules(iris, digits):
    X, y = iris
    clf = MLPClassifier((8,), early_stopping=True, max_iter=5, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    with pytest.raises(ValueError, match="early_stopping"):
        clf.partial_fit(X, y)
    assert not hasattr(MLPClassifier(solver="lbfgs"), "partial_fit")
    # The batch size follows each call's data, as scikit-learn's.
    reg = MLPRegressor((8,), random_state=0).partial_fit(X[:10], y[:10])
    reg.partial_fit(X, y)
    assert reg._trainer.batch_size == len(y)
    # Dense then sparse data in successive calls.
    reg.partial_fit(sp.csr_matrix(X), y)


def test_warm_start_takes_new_optimizer_settings(iris):
    X, y = iris
    clf = MLPClassifier((8,), max_iter=3, warm_start=True, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
        clf.set_params(solver="sgd", learning_rate="linear", learning_rate_init=0.1)
        first = clf.coefs_[0].copy()
        clf.fit(X, y)
        assert type(clf._trainer.optimizer).__name__ == "SGD"
        # The linear schedule has passed its 3 epochs; its floor still trains.
        second = clf.coefs_[0].copy()
        clf.fit(X, y)
    assert not np.array_equal(first, second)
    assert not np.array_equal(second, clf.coefs_[0])


def test_zero_total_weight_is_an_error(iris):
    X, y = iris
    # scikit-learn >= 1.7 checks it itself ("non-zero"); before, our own check says so
    with pytest.raises(ValueError, match="non-zero|sum to zero"):
        MLPClassifier((4,)).fit(X, y, sample_weight=np.zeros(len(y)))
    with pytest.raises(ValueError, match="sum to zero"):
        MLPClassifier((4,), class_weight={0: 0, 1: 0, 2: 0}).fit(X, y)


def test_lbfgs_ignores_dropout_with_a_warning(iris):
    X, y = iris
    with pytest.warns(UserWarning, match="dropout is ignored"):
        clf = MLPClassifier((8,), solver="lbfgs", dropout=0.5, max_iter=30, random_state=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf.fit(X, y)


def test_coefs_can_be_assigned(iris):
    X, y = iris
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = MLPClassifier((8,), max_iter=3, random_state=0).fit(X, y)
    clf.coefs_ = [np.zeros_like(w) for w in clf.coefs_]
    clf.intercepts_ = [np.zeros_like(b) for b in clf.intercepts_]
    assert_allclose(clf.predict_proba(X), 1 / 3)
    with pytest.raises(ValueError, match="shapes"):
        clf.coefs_ = [np.zeros((2, 2))]


def test_dtype_accepts_numpy_types(iris):
    X, y = iris
    for dtype in (np.float64, np.dtype("float64"), "float64"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf = MLPClassifier((4,), max_iter=2, dtype=dtype).fit(X, y)
        assert clf.coefs_[0].dtype == np.float64
    with pytest.raises(ValueError, match="'dtype' parameter"):
        MLPClassifier(dtype="int8").fit(X, y)


# -- bad input -------------------------------------------------------------------
@pytest.mark.parametrize("Estimator", [MLPClassifier, MLPRegressor])
def test_bad_input_gets_clear_errors(Estimator, iris):
    X, y = iris
    est = Estimator((4,), max_iter=3)
    with pytest.raises(NotFittedError):
        est.predict(X)
    X_nan = X.copy()
    X_nan[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        est.fit(X_nan, y)
    X_inf = X.copy()
    X_inf[0, 0] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        est.fit(X_inf, y)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        est.fit(X, y[:-1])
    with pytest.raises(ValueError, match="0 sample"):
        est.fit(X[:0], y[:0])
    with pytest.raises(ValueError):
        est.fit([["a", "b"]] * 4, [0, 1, 0, 1])
    for bad in [dict(alpha=-1.0), dict(learning_rate_init=0.0), dict(max_iter=0),
                dict(solver="newton"), dict(validation_fraction=1.5), dict(momentum=2.0),
                dict(activation="softplus")]:
        with pytest.raises(ValueError, match=f"'{list(bad)[0]}' parameter"):
            clone(est).set_params(**bad).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, y)
    with pytest.raises(ValueError, match="features"):
        est.predict(X[:, :3])


def test_huge_inputs_never_give_silent_nan(iris):
    X, y = iris
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = MLPClassifier((8,), max_iter=5, random_state=0).fit(X, y)
    with pytest.raises(FloatingPointError, match="non-finite"):
        clf.predict_proba(np.full((2, 4), 3e38))


def test_lbfgs_says_it_ignores_validation_data(iris):
    X, y = iris
    with pytest.warns(UserWarning, match="validation_data is ignored"):
        clf = MLPClassifier((8,), solver="lbfgs", max_iter=50, random_state=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf.fit(X, y, validation_data=(X, y))
    assert clf.validation_loss_curve_ is None


def test_poisson_loss_for_counts():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(600, 3))
    y = rng.poisson(np.exp(0.5 * X[:, 0] - 0.3 * X[:, 1]))
    reg = MLPRegressor((16,), loss="poisson", learning_rate_init=0.01, max_iter=100,
                       random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg.fit(X[:500], y[:500])
    pred = reg.predict(X[500:])
    assert reg.out_activation_ == "exp" and (pred > 0).all()
    from sklearn.metrics import mean_poisson_deviance

    baseline = mean_poisson_deviance(y[500:], np.full(100, y[:500].mean()))
    assert mean_poisson_deviance(y[500:], pred) < 0.8 * baseline
    with pytest.raises(ValueError, match="non-negative"):
        MLPRegressor(loss="poisson").fit(X[:10], -np.ones(10))


def test_a_warm_start_keeps_the_divergence_reference(iris):
    # A refit starts from trained weights: its first batch's loss is tiny, and
    # measured again it would make a healthy loss look like an explosion.
    X, y = iris
    clf = MLPClassifier((8,), max_iter=5, warm_start=True, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
        first = clf._trainer.reference_loss
        clf.fit(X, y)
    assert first is not None and clf._trainer.reference_loss == first


def test_a_model_pickled_before_the_divergence_reference_trains_on(iris):
    X, y = iris
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = MLPClassifier((8,), max_iter=2, random_state=0).fit(X, y)
    old = pickle.loads(pickle.dumps(clf))
    for name in ("reference_loss", "_reference_name", "epochs_run"):
        old._trainer.__dict__.pop(name, None)  # as a trainer pickled by 0.1.0.dev0
    old.partial_fit(X, y)
    assert old.n_iter_ == 1
