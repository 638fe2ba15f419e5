"""Rosenblatt's perceptron, as the course teaches it."""

from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.multiclass import _check_partial_fit_first_call, type_of_target
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from skneuro._base import fit_transaction, make_generator
from skneuro._locks import synchronized
from skneuro._warnings import warn
from skneuro.nn.backend import get_backend


class Perceptron(ClassifierMixin, BaseEstimator):
    """Rosenblatt's perceptron with a bias node, trained by the perceptron rule.

    Each output neuron computes ``h = sum_i w_i x_i + w_0 * (-1)`` (a bias
    input fixed at -1 with its own weight) and fires, ``a = 1``, when
    ``h > 0``. After each example, every neuron's weights move by
    ``w <- w - eta0 * (a - t) * x``. There is one neuron per class, or a
    single neuron for two classes. Training stops after the first epoch in
    which every training example is classified correctly, or after
    ``max_iter`` epochs (with a :class:`~sklearn.exceptions.ConvergenceWarning`:
    the classes are then not linearly separable, or need more epochs).

    Parameters
    ----------
    eta0 : float, default=0.1
        Learning rate eta of the perceptron rule.
    max_iter : int, default=1000
        Maximum number of epochs.
    shuffle : bool, default=True
        Present the examples in a new random order at every epoch.
    random_state : int, RandomState instance or None, default=None
        Seeds the small random initial weights and the shuffling.
    class_weight : dict, "balanced" or None, default=None
        Scales the update of each class's examples.
    warm_start : bool, default=False
        Continue from the previous fit's weights.
    verbose : int, default=0
        Print the number of misclassified examples after each epoch.
    device : {"cpu", "cuda", "auto"}, default="cpu"
        Where the rule runs: "cuda" runs it on an NVIDIA GPU (one thread per
        output neuron, examples in sequence, as the rule requires); "auto"
        takes the GPU when one is usable.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    coef_ : ndarray of shape (1, n_features) or (n_classes, n_features)
        Weights, in scikit-learn's convention ``decision = X @ coef_.T + intercept_``.
    intercept_ : ndarray of shape (1,) or (n_classes,)
        Minus the weight of the -1 bias input.
    weights_ : ndarray of shape (n_neurons, n_features + 1)
        The course's weights, the bias weight in the last column.
    n_iter_ : int
        Number of epochs run.
    n_errors_ : list of int
        Examples that at least one neuron got wrong during each epoch, counted
        as they were presented (each before its own update).
    t_ : int
        Number of weight-update opportunities, ``n_iter_ * n_samples``.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of str
        Feature names, when X was a DataFrame.

    See Also
    --------
    MLPClassifier : Several layers of differentiable neurons.

    Notes
    -----
    When several neurons fire, or none, :meth:`predict` picks the class whose
    neuron has the largest activation h.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from skneuro import Perceptron
    >>> X, y = load_iris(return_X_y=True)
    >>> setosa = (y == 0)
    >>> clf = Perceptron(random_state=0).fit(X[:, :2], setosa)
    >>> clf.score(X[:, :2], setosa)
    1.0
    """

    _parameter_constraints = {
        "eta0": [Interval(Real, 0, None, closed="neither")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "class_weight": [None, dict, StrOptions({"balanced"})],
        "warm_start": ["boolean"],
        "verbose": ["verbose"],
        "device": [StrOptions({"cpu", "cuda", "auto"})],
    }

    def __init__(self, *, eta0=0.1, max_iter=1000, shuffle=True, random_state=None,
                 class_weight=None, warm_start=False, verbose=0, device="cpu"):
        self.eta0 = eta0
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.class_weight = class_weight
        self.warm_start = warm_start
        self.verbose = verbose
        self.device = device

    # -- fitting ------------------------------------------------------------
    def _prepare(self, X, y, sample_weight, reset, classes=None):
        X, y = validate_data(self, X, y, dtype=[np.float64, np.float32], reset=reset)
        X = np.ascontiguousarray(X, dtype=np.float64)
        kind = type_of_target(y, input_name="y")
        if kind not in ("binary", "multiclass"):
            raise ValueError(f"Unknown label type: {kind!r}. Perceptron handles binary and "
                             "multiclass targets.")
        if reset:
            self.classes_ = np.unique(y if classes is None else classes)
            if len(self.classes_) < 2:
                raise ValueError("The number of classes has to be greater than one; got "
                                 f"{len(self.classes_)} class.")
        unseen = np.setdiff1d(np.unique(y), self.classes_)
        if unseen.size:
            raise ValueError(f"y contains classes not seen in the first call to fit or in "
                             f"`classes`: {unseen.tolist()}; expected {self.classes_.tolist()}.")
        index = np.searchsorted(self.classes_, y)
        if len(self.classes_) == 2:
            targets = (index == 1).astype(np.float64).reshape(-1, 1)
        else:
            targets = np.zeros((len(y), len(self.classes_)))
            targets[np.arange(len(y)), index] = 1.0
        weight = _check_sample_weight(sample_weight, X, dtype=np.float64,
                                      ensure_non_negative=True)
        if self.class_weight is not None:
            weight = weight * compute_sample_weight(self.class_weight, y)
        return X, targets, np.ascontiguousarray(weight)

    def _init_weights(self, n_features, rng):
        n_neurons = 1 if len(self.classes_) == 2 else len(self.classes_)
        # The course starts from small random weights, not zeros.
        self.weights_ = rng.uniform(-0.05, 0.05, size=(n_neurons, n_features + 1))
        self.n_iter_ = 0
        self.t_ = 0
        self.n_errors_ = []

    def _epochs(self, X, targets, weight, n_epochs, rng):
        backend = get_backend(self.device, np.float64)
        n = X.shape[0]
        # On a GPU the data and weights go over once; each epoch sends only its
        # order and brings back only its error count.
        X_d, targets_d, weight_d = (backend.asarray(a) for a in (X, targets, weight))
        weights_d = backend.asarray(self.weights_)
        errors = backend.zeros((1,), dtype=np.int64)
        converged = False
        for _ in range(n_epochs):
            order = rng.permutation(n) if self.shuffle else np.arange(n)
            backend.perceptron.perceptron_epoch(
                X_d, targets_d, weights_d, backend.asarray(order, dtype=np.intp),
                float(self.eta0), weight_d, errors)
            n_errors = int(backend.to_host(errors)[0])
            self.n_iter_ += 1
            self.t_ += n
            self.n_errors_.append(n_errors)
            if self.verbose:
                print(f"Epoch {self.n_iter_}: {n_errors} misclassified examples")
            if n_errors == 0:
                converged = True
                break
        self.weights_ = np.array(backend.to_host(weights_d))
        return converged

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Train with the perceptron rule until no example is misclassified.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        sample_weight : array-like of shape (n_samples,), default=None
            Scales each example's update.

        Returns
        -------
        self : object
        """
        return fit_transaction(self, self._fit, X, y, sample_weight)

    def _fit(self, X, y, sample_weight):
        reset = not (self.warm_start and hasattr(self, "weights_"))
        X, targets, weight = self._prepare(X, y, sample_weight, reset=reset)
        rng = make_generator(self.random_state)
        if reset:
            self._init_weights(X.shape[1], rng)
        converged = self._epochs(X, targets, weight, self.max_iter, rng)
        if not converged:
            warn(
                f"Perceptron did not classify every training example correctly after "
                f"{self.max_iter} epochs (still {self.n_errors_[-1]} errors): the classes "
                "may not be linearly separable.", ConvergenceWarning)
        self._rng = rng
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Run one epoch of the perceptron rule.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        classes : array-like of shape (n_classes,), default=None
            Every class that will ever appear; required on the first call.
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self : object
        """
        return fit_transaction(self, self._partial_fit, X, y, classes, sample_weight)

    def _partial_fit(self, X, y, classes, sample_weight):
        first = _check_partial_fit_first_call(self, classes)
        if first and self.class_weight == "balanced":
            raise ValueError("class_weight 'balanced' is not supported for partial_fit: "
                             "give the class weights as a dict.")
        X, targets, weight = self._prepare(X, y, sample_weight, reset=first,
                                           classes=classes if first else None)
        if first:
            self._rng = make_generator(self.random_state)
            self._init_weights(X.shape[1], self._rng)
        self._epochs(X, targets, weight, 1, self._rng)
        return self

    # -- scikit-learn's view of the weights --------------------------------
    @property
    def coef_(self):
        """ndarray: weights of the inputs, one row per neuron."""
        return self.weights_[:, :-1].copy()

    @property
    def intercept_(self):
        """ndarray: the bias weight times the bias input -1."""
        return -self.weights_[:, -1].copy()

    # -- prediction ---------------------------------------------------------
    @synchronized
    def decision_function(self, X):
        """Activation h of each neuron.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        h : ndarray of shape (n_samples,) for two classes, else (n_samples, n_classes)
        """
        check_is_fitted(self)
        X = validate_data(self, X, dtype=[np.float64, np.float32], reset=False)
        h = np.asarray(X, dtype=np.float64) @ self.coef_.T + self.intercept_
        return h.ravel() if h.shape[1] == 1 else h

    def predict(self, X):
        """Class of the firing neuron (the largest h when none or several fire).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        y : ndarray of shape (n_samples,)
        """
        h = self.decision_function(X)
        if h.ndim == 1:
            return self.classes_[(h > 0).astype(int)]
        return self.classes_[np.argmax(h, axis=1)]
