"""Rosenblatt's perceptron, as the course teaches it, with scikit-learn's parameters."""

from numbers import Integral, Real

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils._param_validation import Interval, Options, StrOptions
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.multiclass import _check_partial_fit_first_call, type_of_target
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from skneuro._base import fit_transaction, make_generator
from skneuro._locks import synchronized
from skneuro._saved_state import VersionedStateMixin
from skneuro._threads import limit_threads
from skneuro._warnings import warn
from skneuro.nn.backend import get_backend


class Perceptron(ClassifierMixin, VersionedStateMixin, BaseEstimator):
    """Rosenblatt's perceptron with a bias node, trained by the perceptron rule.

    Each output neuron computes ``h = sum_i w_i x_i + w_0 * (-1)`` (a bias
    input fixed at -1 with its own weight) and fires, ``a = 1``, when
    ``h > 0``. After each example, every neuron's weights move by
    ``w <- w - eta0 * (a - t) * x``. There is one neuron per class, or a
    single neuron for two classes. By default training stops after the first
    epoch in which every training example is classified correctly, or after
    ``max_iter`` epochs (with a :class:`~sklearn.exceptions.ConvergenceWarning`:
    the classes are then not linearly separable, or need more epochs).

    Every parameter of :class:`sklearn.linear_model.Perceptron` is accepted
    and means what it means there; the defaults that differ are the course's
    (``eta0=0.1``, ``tol=None``, ``random_state=None``, small random initial
    weights): see :doc:`/scikit-learn`.

    Parameters
    ----------
    penalty : {"l2", "l1", "elasticnet"} or None, default=None
        Weight decay applied at every example, as scikit-learn's SGD does:
        "l2" scales the input weights by ``1 - eta0 * alpha``, "l1" moves them
        ``eta0 * alpha`` towards zero (clipped at zero), "elasticnet" both,
        split by ``l1_ratio``. The bias weight is never penalized. With a
        penalty, an epoch without errors still changes the weights, so it
        does not end training.
    alpha : float, default=0.0001
        Strength of the penalty.
    l1_ratio : float, default=0.15
        Share of L1 in the "elasticnet" penalty (0 <= l1_ratio <= 1).
    fit_intercept : bool, default=True
        Whether the bias weight learns. False keeps it at 0: ``h`` passes
        through the origin.
    max_iter : int, default=1000
        Maximum number of epochs.
    tol : float or None, default=None
        With a float, scikit-learn's stopping rule: training stops when the
        epoch's perceptron loss (``max(0, -s h)``, ``s = +-1``, summed over
        examples, unweighted, and neurons) has not fallen below the best so far minus
        ``tol * n_samples`` for ``n_iter_no_change`` epochs (with
        ``early_stopping``, the validation accuracy not risen by ``tol``).
        None: only ``max_iter`` and an epoch without errors end training.
    shuffle : bool, default=True
        Present the examples in a new random order at every epoch.
    verbose : int, default=0
        Print the number of misclassified examples after each epoch.
    eta0 : float, default=0.1
        Learning rate eta of the perceptron rule.
    n_jobs : int or None, default=None
        Threads for BLAS during prediction; the rule itself is sequential.
    random_state : int, RandomState instance or None, default=None
        Seeds the small random initial weights, the shuffling and the
        validation split.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the data (stratified) and stop on
        the validation accuracy (with a float ``tol``).
    validation_fraction : float, default=0.1
        Share of the training data held out for early stopping.
    n_iter_no_change : int, default=5
        Epochs without improvement by ``tol`` before stopping.
    class_weight : dict, "balanced" or None, default=None
        Scales the update of each class's examples.
    warm_start : bool, default=False
        Continue from the previous fit's weights.
    device : {"cpu", "cuda", "auto"}, default="cpu"
        Where the rule runs: "cuda" runs it on an NVIDIA GPU (one thread per
        output neuron, examples in sequence, as the rule requires); "auto"
        takes the GPU when one is usable.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    coef_ : ndarray of shape (1, n_features) or (n_classes, n_features)
        Weights, in scikit-learn's convention ``decision = X @ coef_.T + intercept_``,
        in the floating dtype of the X the model was fitted on.
    intercept_ : ndarray of shape (1,) or (n_classes,)
        Minus the weight of the -1 bias input.
    weights_ : ndarray of shape (n_neurons, n_features + 1)
        The course's weights (float64), the bias weight in the last column.
    n_iter_ : int
        Number of epochs run by the last call.
    n_errors_ : list of int
        Examples that at least one neuron got wrong during each epoch, counted
        as they were presented (each before its own update).
    t_ : float
        Number of examples presented plus one, as scikit-learn counts it:
        ``n_iter_ * n_samples + 1`` after ``fit``; ``partial_fit`` calls add
        up.
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
    neuron has the largest activation h. X may be sparse (CSR); the weights
    are dense.

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
        "penalty": [StrOptions({"l2", "l1", "elasticnet"}), None],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "l1_ratio": [Interval(Real, 0, 1, closed="both")],
        "fit_intercept": ["boolean"],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left"), None],
        "shuffle": ["boolean"],
        "verbose": ["verbose"],
        "eta0": [Interval(Real, 0, None, closed="neither")],
        "n_jobs": [None, Integral],
        "random_state": ["random_state"],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left"),
                             Options(Real, {np.inf})],
        "class_weight": [None, dict, StrOptions({"balanced"})],
        "warm_start": ["boolean"],
        "device": [StrOptions({"cpu", "cuda", "auto"})],
    }

    def __init__(self, *, penalty=None, alpha=0.0001, l1_ratio=0.15, fit_intercept=True,
                 max_iter=1000, tol=None, shuffle=True, verbose=0, eta0=0.1, n_jobs=None,
                 random_state=None, early_stopping=False, validation_fraction=0.1,
                 n_iter_no_change=5, class_weight=None, warm_start=False, device="cpu"):
        self.penalty = penalty
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self.fit_intercept = fit_intercept
        self.max_iter = max_iter
        self.tol = tol
        self.shuffle = shuffle
        self.verbose = verbose
        self.eta0 = eta0
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.class_weight = class_weight
        self.warm_start = warm_start
        self.device = device

    # -- fitting ------------------------------------------------------------
    def _prepare(self, X, y, sample_weight, reset, classes=None):
        X, y = validate_data(self, X, y, accept_sparse="csr", dtype=[np.float64, np.float32],
                             reset=reset)
        if reset or not hasattr(self, "_coef_dtype"):
            self._coef_dtype = X.dtype.name  # a name: skops saves it without trusting dtypes
        X = X.astype(np.float64) if sparse.issparse(X) else np.ascontiguousarray(
            X, dtype=np.float64)
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
        return X, targets, np.ascontiguousarray(weight), index

    def _init_weights(self, n_features, rng):
        n_neurons = 1 if len(self.classes_) == 2 else len(self.classes_)
        # The course starts from small random weights, not zeros.
        self.weights_ = rng.uniform(-0.05, 0.05, size=(n_neurons, n_features + 1))
        if not self.fit_intercept:
            self.weights_[:, -1] = 0.0
        self.t_ = 1.0
        self.n_errors_ = []

    def _penalties(self):
        """``(shrink, l1)`` per example for the kernels (see the penalty parameter)."""
        if self.penalty is None:
            return 1.0, 0.0
        ratio = {"l2": 0.0, "l1": 1.0, "elasticnet": self.l1_ratio}[self.penalty]
        step = self.eta0 * self.alpha
        return max(0.0, 1.0 - step * (1.0 - ratio)), step * ratio

    def _epochs(self, X, targets, weight, n_epochs, rng, validation=None, rows_counted=None):
        """Up to ``n_epochs`` epochs; returns whether a stopping rule ended them."""
        backend = get_backend(self.device, np.float64)
        n = X.shape[0]
        rows_counted = n if rows_counted is None else rows_counted
        # On a GPU the data and weights go over once; each epoch sends only its
        # order and brings back only its error count and loss.
        if sparse.issparse(X):
            rows = tuple(backend.asarray(a, dtype=a.dtype)
                         for a in (X.data, X.indices, X.indptr))
            epoch = backend.perceptron.perceptron_epoch_sparse
        else:
            rows = (backend.asarray(X),)
            epoch = backend.perceptron.perceptron_epoch
        targets_d, weight_d = backend.asarray(targets), backend.asarray(weight)
        weights_d = backend.asarray(self.weights_)
        errors = backend.zeros((1,), dtype=np.int64)
        losses = backend.zeros((self.weights_.shape[0],), dtype=np.float64)
        shrink, l1 = self._penalties()
        stopper = _Stopping(self.tol, self.n_iter_no_change, n)
        self.n_iter_ = 0
        stopped = False
        for _ in range(n_epochs):
            order = rng.permutation(n) if self.shuffle else np.arange(n)
            epoch(*rows, targets_d, weights_d, backend.asarray(order, dtype=np.intp),
                  float(self.eta0), weight_d, bool(self.fit_intercept), shrink, l1, losses,
                  errors)
            n_errors = int(backend.to_host(errors)[0])
            self.n_iter_ += 1
            self.t_ += rows_counted
            self.n_errors_.append(n_errors)
            if self.verbose:
                print(f"Epoch {self.n_iter_}: {n_errors} misclassified examples")
            if n_errors == 0 and self.penalty is None:
                # Later epochs could not change the weights: the course stops here.
                stopped = True
                break
            if validation is not None:
                Xv, yv, wv = validation
                h = _activations(Xv, np.array(backend.to_host(weights_d)))
                value = -np.average(self._labels(h) == yv, weights=wv)  # lower is better
            else:
                value = float(np.sum(backend.to_host(losses)))
            if stopper.should_stop(value, summed=validation is None):
                stopped = True
                break
        self.weights_ = np.array(backend.to_host(weights_d))
        return stopped

    def _split(self, X, targets, weight, index):
        """Hold out ``validation_fraction`` of the rows, stratified (early stopping)."""
        seed = make_generator(self.random_state).integers(np.iinfo(np.int32).max)
        train, held = train_test_split(np.arange(X.shape[0]),
                                       test_size=self.validation_fraction,
                                       random_state=int(seed), stratify=index)
        train.sort()
        held.sort()
        validation = (X[held], self.classes_[index[held]], weight[held])
        return X[train], targets[train], weight[train], validation

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Train with the perceptron rule until no example is misclassified.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
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
        X, targets, weight, index = self._prepare(X, y, sample_weight, reset=reset)
        rng = make_generator(self.random_state)
        if reset:
            self._init_weights(X.shape[1], rng)
        self.t_ = 1.0  # each fit counts its own presentations (as scikit-learn)
        validation = None
        n_rows = X.shape[0]  # t_ counts them all, the held-out ones too (as scikit-learn)
        if self.early_stopping:
            X, targets, weight, validation = self._split(X, targets, weight, index)
        with limit_threads(self.n_jobs):
            stopped = self._epochs(X, targets, weight, self.max_iter, rng, validation,
                                   rows_counted=n_rows)
        if not stopped:
            warn(
                f"Perceptron did not classify every training example correctly after "
                f"{self.max_iter} epochs (still {self.n_errors_[-1]} errors): the classes "
                "may not be linearly separable." if self.n_errors_[-1] else
                f"Maximum number of iterations ({self.max_iter}) reached before the "
                "stopping rule (tol) was met; increase max_iter.", ConvergenceWarning)
        self._rng = rng
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Run one epoch of the perceptron rule.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
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
        X, targets, weight, _ = self._prepare(X, y, sample_weight, reset=first,
                                              classes=classes if first else None)
        if first:
            self._rng = make_generator(self.random_state)
            self._init_weights(X.shape[1], self._rng)
        with limit_threads(self.n_jobs):
            self._epochs(X, targets, weight, 1, self._rng)
        return self

    def _check_loaded_arrays(self):
        if "weights_" in self.__dict__:
            self._expect_floating("weights_", self.weights_, np.float64)

    # -- scikit-learn's view of the weights --------------------------------
    @property
    def coef_(self):
        """ndarray: weights of the inputs, one row per neuron."""
        return self.weights_[:, :-1].astype(self._fitted_dtype)

    @property
    def intercept_(self):
        """ndarray: the bias weight times the bias input -1."""
        return (-self.weights_[:, -1]).astype(self._fitted_dtype)

    @property
    def _fitted_dtype(self):
        return np.dtype(self.__dict__.get("_coef_dtype", "float64"))

    # -- prediction ---------------------------------------------------------
    @synchronized
    def decision_function(self, X):
        """Activation h of each neuron.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        h : ndarray of shape (n_samples,) for two classes, else (n_samples, n_classes)
            In X's floating dtype (other input gives float64).
        """
        check_is_fitted(self)
        X = validate_data(self, X, accept_sparse="csr", dtype=[np.float64, np.float32],
                          reset=False)
        with limit_threads(self.n_jobs):
            h = _activations(X, self.weights_.astype(X.dtype))
        return h.ravel() if h.shape[1] == 1 else h

    def predict(self, X):
        """Class of the firing neuron (the largest h when none or several fire).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        y : ndarray of shape (n_samples,)
        """
        return self._labels(self.decision_function(X))

    def _labels(self, h):
        if h.ndim == 1 or h.shape[1] == 1:
            return self.classes_[(h.ravel() > 0).astype(int)]
        return self.classes_[np.argmax(h, axis=1)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


def _activations(X, weights):
    """``h`` of every neuron for rows ``X`` (dense or CSR): the bias input is -1."""
    return np.asarray(X @ weights[:, :-1].T) - weights[:, -1]


class _Stopping:
    """scikit-learn's SGD stopping rule on a value to minimize (a loss, or minus
    a validation score): ``n_iter_no_change`` epochs without falling below the
    best by ``tol`` (times ``n_samples`` for a summed loss)."""

    def __init__(self, tol, n_iter_no_change, n_samples):
        self.tol, self.patience, self.n = tol, n_iter_no_change, n_samples
        self.best = np.inf
        self.count = 0

    def should_stop(self, value, summed=True):
        if self.tol is None:
            return False
        margin = self.tol * (self.n if summed else 1)
        self.count = self.count + 1 if value > self.best - margin else 0
        self.best = min(self.best, value)
        return self.count >= self.patience
