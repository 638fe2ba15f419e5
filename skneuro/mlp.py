"""Multi-layer perceptrons: MLPClassifier and MLPRegressor.

Parameter names follow scikit-learn's ``sklearn.neural_network`` wherever the
concept is the same, so swapping the import is a one-line change.
"""

from numbers import Integral, Real

import numpy as np
from sklearn.base import ClassifierMixin, RegressorMixin, _fit_context
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils import column_or_1d
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import _check_partial_fit_first_call, type_of_target
from sklearn.utils.validation import (
    _check_sample_weight,
    check_array,
    check_consistent_length,
    check_is_fitted,
    validate_data,
)

from skneuro._base import BaseNetworkEstimator
from skneuro._warnings import warn
from skneuro.nn import (
    Dense,
    Dropout,
    Network,
    PoissonDeviance,
    SigmoidBinaryCrossEntropy,
    SoftmaxCrossEntropy,
    SquaredError,
)


class BaseMultilayerPerceptron(BaseNetworkEstimator):
    """Dense networks: the hidden layers, their activation and dropout."""

    _parameter_constraints = {
        **BaseNetworkEstimator._parameter_constraints,
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "activation": [StrOptions({"identity", "logistic", "sigmoid", "tanh", "relu",
                                   "leaky_relu"})],
        "sigmoid_slope": [Interval(Real, 0, None, closed="neither")],
        "leaky_relu_slope": [Interval(Real, 0, 1, closed="left")],
        "dropout": [Interval(Real, 0, 1, closed="left"), "array-like"],
        "init": [StrOptions({"auto", "glorot_uniform", "he_uniform", "small"})],
    }

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam",
                 alpha=1e-4, batch_size="auto", learning_rate="constant",
                 learning_rate_init=1e-3, learning_rate_decay=0.95, power_t=0.5, max_iter=200,
                 shuffle=True, random_state=None, tol=1e-4, verbose=False, warm_start=False,
                 momentum=0.9, nesterovs_momentum=True, early_stopping=False,
                 validation_fraction=0.1, beta_1=0.9, beta_2=0.999, epsilon=1e-8,
                 n_iter_no_change=10, max_fun=15000, sigmoid_slope=1.0,
                 leaky_relu_slope=0.01, dropout=0.0, init="auto", dtype="float32",
                 n_jobs=None, callbacks=None, device="cpu"):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.learning_rate_decay = learning_rate_decay
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.sigmoid_slope = sigmoid_slope
        self.leaky_relu_slope = leaky_relu_slope
        self.dropout = dropout
        self.init = init
        self.dtype = dtype
        self.n_jobs = n_jobs
        self.callbacks = callbacks
        self.device = device

    # -- architecture -------------------------------------------------------
    def _hidden_sizes(self):
        sizes = self.hidden_layer_sizes
        sizes = [sizes] if np.isscalar(sizes) else list(sizes)
        if any(int(s) != s or s < 1 for s in sizes):
            raise ValueError(f"hidden_layer_sizes must be > 0, got {sizes}.")
        return [int(s) for s in sizes]

    def _dropout_rates(self, n_hidden):
        rates = self.dropout
        rates = [rates] * n_hidden if np.isscalar(rates) else list(rates)
        if len(rates) != n_hidden:
            raise ValueError(f"dropout has {len(rates)} rates for {n_hidden} hidden layers; "
                             "give one rate per hidden layer or a single float.")
        if any(not 0.0 <= r < 1.0 for r in rates):
            raise ValueError(f"dropout rates must be in [0, 1), got {rates}.")
        return rates

    def _build_network(self, input_shape, n_outputs, rng):
        hidden = self._hidden_sizes()
        rates = self._dropout_rates(len(hidden))
        activation = "sigmoid" if self.activation == "logistic" else self.activation
        slope = {"sigmoid": self.sigmoid_slope,
                 "leaky_relu": self.leaky_relu_slope}.get(activation)
        layers = []
        for units, rate in zip(hidden, rates):
            layers.append(Dense(units, activation, slope=slope, init=self.init))
            if rate > 0:
                layers.append(Dropout(rate))
        layers.append(Dense(n_outputs, "identity", init=self.init))
        return Network.sequential(input_shape, layers)

    def _check_is_fitted(self):
        # check_is_fitted scans every attribute (20 us); a fitted model has a network.
        if "network_" not in self.__dict__:
            check_is_fitted(self)

    def _check_solver(self):
        if self.solver == "lbfgs":
            raise AttributeError("partial_fit is only available for stochastic optimizers. "
                                 f"{self.solver} is not stochastic.")
        return True

    # -- fitted attributes in scikit-learn's layout -----------------------
    def _dense_layers(self):
        return [layer for layer in self.network_.layers if isinstance(layer, Dense)]

    @property
    def coefs_(self):
        """list of ndarray: weight matrix of each layer, ``(n_in, n_out)``.

        The arrays are the network's own: changing them in place, or assigning
        a list of arrays of the same shapes, changes the model.
        """
        return [layer.params["W"] for layer in self._dense_layers()]

    @coefs_.setter
    def coefs_(self, values):
        self._set_params_of_layers("W", values)

    @property
    def intercepts_(self):
        """list of ndarray: bias vector of each layer (the network's own arrays)."""
        return [layer.params["b"] for layer in self._dense_layers()]

    @intercepts_.setter
    def intercepts_(self, values):
        self._set_params_of_layers("b", values)

    def _set_params_of_layers(self, name, values):
        layers = self._dense_layers()
        values = list(values)
        shapes = [layer.params[name].shape for layer in layers]
        if [np.shape(v) for v in values] != shapes:
            raise ValueError(f"Expected arrays of shapes {shapes}, got "
                             f"{[np.shape(v) for v in values]}.")
        for layer, value in zip(layers, values):
            layer.params[name][...] = value

    @property
    def n_layers_(self):
        """int: number of layers, input and output included."""
        return len(self.coefs_) + 1

    # -- fit ----------------------------------------------------------------
    def _validate_X(self, X, reset):
        if not reset and _is_plain_valid_array(X, self):
            # Prediction fast path: a 2-D float ndarray of the right width, on a
            # model fitted without feature names, needs none of validate_data's
            # conversions; its checks cost 100 us, more than predicting one row.
            return np.ascontiguousarray(X, dtype=self._compute_dtype)
        X = validate_data(self, X, accept_sparse=["csr", "csc"],
                          dtype=[np.float64, np.float32], reset=reset)
        return self._to_compute(X)

    def _fit(self, *args, **kwargs):
        return self._fit_transaction(self._fit_unguarded, *args, **kwargs)

    def _fit_unguarded(self, X, y, sample_weight, incremental, validation_data=None,
                       classes=None):
        fitted = hasattr(self, "network_")
        reset = not fitted or not (self.warm_start or incremental)
        if not reset and self.solver == "lbfgs" and incremental:
            raise AttributeError("partial_fit is only available for stochastic optimizers.")
        X, y = validate_data(self, X, y, accept_sparse=["csr", "csc"], multi_output=True,
                             dtype=[np.float64, np.float32], y_numeric=self._y_numeric,
                             reset=reset)
        X = self._to_compute(X)
        targets = self._encode_targets(y, reset=reset, classes=classes)
        weight = _check_sample_weight(sample_weight, X, dtype=self._compute_dtype,
                                      ensure_non_negative=True)
        weight = self._apply_class_weight(weight, y, incremental)
        if not weight.sum(dtype=np.float64) > 0:
            raise ValueError("The sample weights (times the class weights) sum to zero: "
                             "there is nothing to learn from.")
        if incremental and self.early_stopping:
            raise ValueError("partial_fit does not support early_stopping=True")
        self._n_network_outputs = self.n_outputs_
        validation = None
        if self.solver == "lbfgs" and validation_data is not None:
            warn("validation_data is ignored by solver='lbfgs', which has no epochs to "
                 "monitor; use a stochastic solver to record validation_loss_curve_.")
        if self.solver != "lbfgs" and not incremental:
            if validation_data is not None:
                validation = self._validation_set(validation_data)
            elif self.early_stopping:
                X, targets, weight, validation = self._split_validation(X, y, targets, weight)
        score = None
        if validation is not None:
            Xv, yv_enc, wv = validation
            score = self._validation_scorer(Xv, yv_enc, wv)
        self._fit_network(X, targets, weight, reset=reset, incremental=incremental,
                          validation=validation, score=score)
        return self

    def _validation_set(self, validation_data):
        """``(X_val, y_val)`` checked like the training data, encoded, unit weights."""
        try:
            Xv, yv = validation_data
        except (TypeError, ValueError):
            raise ValueError("validation_data must be a tuple (X_val, y_val).") from None
        yv = np.asarray(yv)
        if yv.ndim == 2 and yv.shape[1] == 1:
            yv = column_or_1d(yv)
        check_consistent_length(Xv, yv)
        Xv = self._validate_X(Xv, reset=False)
        yv = check_array(yv, ensure_2d=False, dtype=None if not self._y_numeric else "numeric",
                         input_name="y_val")
        return Xv, self._encode_targets(yv, reset=False), np.ones(Xv.shape[0],
                                                                  dtype=self._compute_dtype)

    def _split_validation(self, X, y, targets, weight):
        seed = self._validation_seed()
        stratify = y if self._stratify else None
        idx = np.arange(X.shape[0])
        try:
            train_idx, val_idx = train_test_split(idx, test_size=self.validation_fraction,
                                                  random_state=seed, stratify=stratify)
        except ValueError:  # a class too rare to appear on both sides
            train_idx, val_idx = train_test_split(idx, test_size=self.validation_fraction,
                                                  random_state=seed)
        if val_idx.shape[0] < 2:
            raise ValueError(
                f"The validation set is too small ({val_idx.shape[0]} sample) with "
                f"validation_fraction={self.validation_fraction}; raise it or disable "
                "early_stopping."
            )
        train_idx.sort()
        val_idx.sort()
        validation = (X[val_idx], targets[val_idx], weight[val_idx])
        return X[train_idx], targets[train_idx], weight[train_idx], validation

    def _validation_seed(self):
        from sklearn.utils import check_random_state

        if isinstance(self.random_state, Integral):
            return self.random_state
        return check_random_state(self.random_state).randint(np.iinfo(np.int32).max)

    def _apply_class_weight(self, weight, y, incremental):
        return weight


def _is_plain_valid_array(X, estimator):
    """Whether ``X`` passes every check ``validate_data`` would make at predict time.

    Anything else (lists, DataFrames, sparse or integer data, a wrong width,
    non-finite values) goes through ``validate_data``, which converts it or
    raises scikit-learn's error.
    """
    return (type(X) is np.ndarray and X.ndim == 2 and X.shape[0] > 0
            and X.dtype in (np.float32, np.float64)
            and X.shape[1] == estimator.n_features_in_
            and not hasattr(estimator, "feature_names_in_")
            # The sum is finite only if every value is (as in scikit-learn's own
            # check; an overflow merely sends X down the full path).
            and np.isfinite(X.sum()))


class MLPClassifier(ClassifierMixin, BaseMultilayerPerceptron):
    """Multi-layer perceptron classifier trained by backpropagation.

    A drop-in replacement for :class:`sklearn.neural_network.MLPClassifier`
    with Numba kernels, float32 by default, and what scikit-learn leaves out:
    dropout, class weights, leaky ReLU, RMSprop and Adagrad, learning-rate
    decay, a validation loss curve and best-weight restore on early stopping.

    Binary targets use one sigmoid output, multiclass targets a softmax
    output, multilabel indicator targets independent sigmoid outputs; each is
    trained with the matching cross-entropy.

    Parameters
    ----------
    hidden_layer_sizes : array-like of shape (n_layers - 2,), default=(100,)
        Number of neurons of each hidden layer.
    activation : {"identity", "logistic", "sigmoid", "tanh", "relu", "leaky_relu"}, \
default="relu"
        Activation of the hidden layers; "logistic" and "sigmoid" are the same
        function, whose slope is ``sigmoid_slope``.
    solver : {"adam", "sgd", "rmsprop", "adagrad", "lbfgs"}, default="adam"
        Optimizer. "lbfgs" uses scipy's full-batch L-BFGS-B.
    alpha : float, default=1e-4
        L2 penalty, applied to weights (not biases) as in scikit-learn.
    batch_size : int or "auto", default="auto"
        Mini-batch size; "auto" is ``min(200, n_samples)``.
    learning_rate : {"constant", "invscaling", "adaptive", "linear", \
"exponential"}, default="constant"
        Learning-rate schedule, applied to every solver but "lbfgs":
        "invscaling" is ``learning_rate_init / t**power_t`` with t the number
        of samples seen; "adaptive" divides the rate by 5 whenever the loss
        (or validation score) stalls; "linear" decreases it to zero at
        ``max_iter``; "exponential" multiplies it by ``learning_rate_decay``
        every epoch.
    learning_rate_init : float, default=1e-3
        Initial learning rate.
    learning_rate_decay : float, default=0.95
        Per-epoch factor of the "exponential" schedule.
    power_t : float, default=0.5
        Exponent of the "invscaling" schedule.
    max_iter : int, default=200
        Maximum number of epochs (iterations for "lbfgs").
    shuffle : bool, default=True
        Shuffle the samples at every epoch.
    random_state : int, RandomState instance or None, default=None
        Seeds the initialization, shuffling, validation split and dropout.
    tol : float, default=1e-4
        Minimum improvement of the loss (or validation score) that counts.
    verbose : bool, default=False
        Print one line per epoch.
    warm_start : bool, default=False
        Continue from the previous fit's weights, optimizer state and curves.
    momentum : float, default=0.9
        Momentum of "sgd".
    nesterovs_momentum : bool, default=True
        Use Nesterov's momentum with "sgd".
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the data (stratified), stop when the
        validation accuracy stops improving, and restore the best weights.
    validation_fraction : float, default=0.1
        Share of the training data held out for early stopping.
    beta_1 : float, default=0.9
        Adam's first-moment decay.
    beta_2 : float, default=0.999
        Adam's and RMSprop's second-moment decay.
    epsilon : float, default=1e-8
        Numerical stability term of Adam, RMSprop and Adagrad.
    n_iter_no_change : int, default=10
        Epochs without improvement by ``tol`` before stopping.
    max_fun : int, default=15000
        Maximum number of loss evaluations of "lbfgs".
    sigmoid_slope : float, default=1.0
        The course's slope beta of the sigmoid ``1 / (1 + exp(-beta * h))``.
    leaky_relu_slope : float, default=0.01
        Slope of the leaky ReLU for negative inputs (the course uses 0.1).
    dropout : float or array-like of float, default=0.0
        Dropout rate after each hidden layer (one float for all).
    init : {"auto", "glorot_uniform", "he_uniform", "small"}, default="auto"
        Weight initialization; "auto" is He for ReLU-like activations and
        Glorot otherwise, "small" is the course's U(-0.1, 0.1).
    class_weight : dict, "balanced" or None, default=None
        Weights of the classes, multiplied into ``sample_weight``.
    dtype : {"float32", "float64"}, default="float32"
        Floating-point type of the computation.
    n_jobs : int or None, default=None
        Threads for Numba kernels and BLAS during fit and predict; None keeps
        the current setting, -1 uses every core.
    callbacks : list of skneuro.nn.Callback or None, default=None
        Hooks called during training.
    device : {"cpu", "cuda", "auto"}, default="cpu"
        Where to compute: "cuda" runs every kernel on an NVIDIA GPU through
        numba.cuda (``pip install skneuro[cuda]``), with the data, weights and
        optimizer state on the GPU for the whole fit; "auto" takes the GPU
        when one is usable, else the CPU. A model fitted on a GPU pickles and
        predicts on a machine without one.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    loss_ : float
        Training loss at the last epoch.
    best_loss_ : float or None
        Lowest training loss (None with early stopping).
    loss_curve_ : list of float
        Training loss (with penalty) at each epoch.
    validation_loss_curve_ : list of float or None
        Validation loss at each epoch, when a validation set is used.
    validation_scores_ : list of float or None
        Validation accuracy at each epoch, when a validation set is used.
    best_validation_score_ : float or None
        Best validation accuracy.
    t_ : int
        Number of training samples seen.
    coefs_ : list of ndarray
        Weight matrices, ``coefs_[i]`` of shape ``(n_in, n_out)``.
    intercepts_ : list of ndarray
        Bias vectors.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of str
        Names of the features, when X was a DataFrame.
    n_iter_ : int
        Epochs run (iterations for "lbfgs").
    n_layers_ : int
        Number of layers, input and output included.
    n_outputs_ : int
        Number of outputs of the network.
    out_activation_ : str
        Output activation: "logistic" or "softmax".
    network_ : skneuro.nn.Network
        The trained network.

    See Also
    --------
    MLPRegressor : The same network for regression.
    Perceptron : Rosenblatt's single-layer perceptron.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from skneuro import MLPClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = MLPClassifier(hidden_layer_sizes=(16,), max_iter=500, random_state=0).fit(X, y)
    >>> clf.score(X, y) > 0.9
    True
    """

    _parameter_constraints = {
        **BaseMultilayerPerceptron._parameter_constraints,
        "class_weight": [None, dict, StrOptions({"balanced"})],
    }
    _y_numeric = False
    _stratify = True

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam",
                 alpha=1e-4, batch_size="auto", learning_rate="constant",
                 learning_rate_init=1e-3, learning_rate_decay=0.95, power_t=0.5, max_iter=200,
                 shuffle=True, random_state=None, tol=1e-4, verbose=False, warm_start=False,
                 momentum=0.9, nesterovs_momentum=True, early_stopping=False,
                 validation_fraction=0.1, beta_1=0.9, beta_2=0.999, epsilon=1e-8,
                 n_iter_no_change=10, max_fun=15000, sigmoid_slope=1.0,
                 leaky_relu_slope=0.01, dropout=0.0, init="auto", class_weight=None,
                 dtype="float32", n_jobs=None, callbacks=None, device="cpu"):
        super().__init__(
            hidden_layer_sizes, activation, solver=solver, alpha=alpha,
            batch_size=batch_size, learning_rate=learning_rate,
            learning_rate_init=learning_rate_init, learning_rate_decay=learning_rate_decay,
            power_t=power_t, max_iter=max_iter, shuffle=shuffle, random_state=random_state,
            tol=tol, verbose=verbose, warm_start=warm_start, momentum=momentum,
            nesterovs_momentum=nesterovs_momentum, early_stopping=early_stopping,
            validation_fraction=validation_fraction, beta_1=beta_1, beta_2=beta_2,
            epsilon=epsilon, n_iter_no_change=n_iter_no_change, max_fun=max_fun,
            sigmoid_slope=sigmoid_slope, leaky_relu_slope=leaky_relu_slope,
            dropout=dropout, init=init, dtype=dtype, n_jobs=n_jobs, callbacks=callbacks,
            device=device,
        )
        self.class_weight = class_weight

    # -- targets ------------------------------------------------------------
    def _encode_targets(self, y, reset, classes=None):
        """Integer labels (multiclass) or a 0/1 float matrix (binary, multilabel)."""
        if np.ndim(y) == 2 and np.shape(y)[1] == 1:
            y = column_or_1d(y, warn=True)
        if reset:
            kind = type_of_target(y, input_name="y")
            if kind not in ("binary", "multiclass", "multilabel-indicator"):
                raise ValueError(f"Unknown label type: {kind!r}. MLPClassifier handles "
                                 "binary, multiclass and multilabel-indicator targets.")
            self._label_binarizer = LabelBinarizer()
            self._label_binarizer.fit(y if classes is None else classes)
            self.classes_ = self._label_binarizer.classes_
            self._multilabel = kind == "multilabel-indicator"
            self._binary = not self._multilabel and len(self.classes_) <= 2
            if len(self.classes_) < 2 and not self._multilabel:
                raise ValueError("The number of classes has to be greater than one; got "
                                 f"{len(self.classes_)} class.")
            self.n_outputs_ = 1 if self._binary else len(self.classes_)
            self.out_activation_ = "softmax" if not (self._binary or self._multilabel) \
                else "logistic"
        if self._multilabel:
            y = np.asarray(y)
            if y.ndim != 2 or y.shape[1] != len(self.classes_):
                raise ValueError("y must have the same labels as in the first call to fit.")
            return np.ascontiguousarray(y, dtype=self._compute_dtype)
        unseen = np.setdiff1d(np.unique(y), self.classes_)
        if unseen.size:
            raise ValueError(f"y contains classes not seen in the first call to fit or in "
                             f"`classes`: {unseen.tolist()}; expected {self.classes_.tolist()}.")
        if self._binary:
            return np.ascontiguousarray(
                (y == self.classes_[-1]).reshape(-1, 1), dtype=self._compute_dtype)
        return np.searchsorted(self.classes_, y).astype(np.intp)

    def _make_loss(self):
        if self._binary or self._multilabel:
            return SigmoidBinaryCrossEntropy()
        return SoftmaxCrossEntropy()

    def _apply_class_weight(self, weight, y, incremental):
        if self.class_weight is None:
            return weight
        if incremental and self.class_weight == "balanced":
            raise ValueError("class_weight 'balanced' is not supported for partial_fit: "
                             "give the class weights as a dict computed on all the data.")
        if isinstance(self.class_weight, dict):
            unknown = set(self.class_weight) - set(self.classes_.tolist())
            if unknown:
                raise ValueError(f"class_weight names classes not in the data: "
                                 f"{sorted(unknown)}; classes are {self.classes_.tolist()}.")
        factor = compute_sample_weight(self.class_weight, y)
        return np.ascontiguousarray(weight * factor, dtype=weight.dtype)

    def _validation_scorer(self, Xv, yv_enc, wv):
        y_true = self._decode(self._decode_encoded(yv_enc))

        def score(network):
            return accuracy_score(y_true, self._decode(self._forward(Xv)),
                                  sample_weight=wv)
        return score

    def _decode_encoded(self, targets):
        """Encoded targets back to probability-like rows for ``_decode``."""
        if self._binary or self._multilabel:
            return targets
        onehot = np.zeros((targets.shape[0], len(self.classes_)), dtype=self._compute_dtype)
        onehot[np.arange(targets.shape[0]), targets] = 1
        return onehot

    def _decode(self, proba):
        """Labels from output probabilities."""
        if self._multilabel:
            return (proba > 0.5).astype(int)
        if self._binary:
            return self.classes_[(proba[:, 0] > 0.5).astype(int)]
        return self.classes_[np.argmax(proba, axis=1)]

    # -- public API -----------------------------------------------------------
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None, validation_data=None):
        """Fit the model to data matrix X and targets y.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,) or (n_samples, n_classes)
            Class labels, or a multilabel indicator matrix.
        sample_weight : array-like of shape (n_samples,), default=None
            Weight of each sample; the loss is the weighted mean over samples,
            so an integer weight acts like repeating the row.
        validation_data : tuple (X_val, y_val), default=None
            A validation set to monitor (``validation_loss_curve_``) and, with
            ``early_stopping=True``, to stop on instead of an internal split.

        Returns
        -------
        self : object
            Fitted estimator.
        """
        return self._fit(X, y, sample_weight, incremental=False,
                         validation_data=validation_data)

    @available_if(lambda est: est._check_solver())
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """Train one epoch on the given data.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_classes)
        sample_weight : array-like of shape (n_samples,), default=None
        classes : array-like of shape (n_classes,), default=None
            Every class that will ever appear; required on the first call.

        Returns
        -------
        self : object
        """
        first = _check_partial_fit_first_call(self, classes)
        if first:
            self.__dict__.pop("network_", None)
        return self._fit(X, y, sample_weight, incremental=True,
                         classes=classes if first else None)

    def predict_proba(self, X):
        """Probability of each class.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            For multilabel targets, the independent probability of each label.
        """
        self._check_is_fitted()
        proba = self._forward(self._validate_X(X, reset=False)).astype(np.float64)
        if self._binary:
            return np.hstack([1.0 - proba, proba])
        return proba

    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
        """
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def predict(self, X):
        """Predicted class labels (label indicator rows for multilabel targets).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_classes)
        """
        self._check_is_fitted()
        return self._decode(self._forward(self._validate_X(X, reset=False)))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


class MLPRegressor(RegressorMixin, BaseMultilayerPerceptron):
    """Multi-layer perceptron regressor trained by backpropagation.

    A drop-in replacement for :class:`sklearn.neural_network.MLPRegressor`,
    minimizing the course's squared error ``E = 1/2 * sum (a - t)**2`` per
    sample (averaged over samples) with an identity output layer; multi-output
    targets are supported. Predictions are float64, as scikit-learn's.

    Parameters
    ----------
    loss : {"squared_error", "poisson"}, default="squared_error"
        "poisson" is the half Poisson deviance with a log link (predictions
        are ``exp`` of the output layer), for non-negative counts, as in
        scikit-learn 1.9.
    hidden_layer_sizes, activation, solver, alpha, batch_size, learning_rate, \
learning_rate_init, learning_rate_decay, power_t, max_iter, shuffle, \
random_state, tol, verbose, warm_start, momentum, nesterovs_momentum, \
early_stopping, validation_fraction, beta_1, beta_2, epsilon, n_iter_no_change, \
max_fun, sigmoid_slope, leaky_relu_slope, dropout, init, dtype, n_jobs, callbacks, \
device
        As for :class:`MLPClassifier`; the early-stopping score is R^2 and the
        validation split is not stratified.

    Attributes
    ----------
    loss_, best_loss_, loss_curve_, validation_loss_curve_, validation_scores_, \
best_validation_score_, t_, coefs_, intercepts_, n_features_in_, \
feature_names_in_, n_iter_, n_layers_, n_outputs_, network_
        As for :class:`MLPClassifier` (validation scores are R^2).
    out_activation_ : str
        "identity", or "exp" with ``loss="poisson"``.

    See Also
    --------
    MLPClassifier : The same network for classification.

    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sklearn.pipeline import make_pipeline
    >>> from skneuro import MLPRegressor
    >>> X, y = load_diabetes(return_X_y=True)
    >>> reg = make_pipeline(StandardScaler(), MLPRegressor(
    ...     hidden_layer_sizes=(32,), learning_rate_init=0.01, max_iter=300,
    ...     random_state=0)).fit(X, y / 100)
    >>> reg.score(X, y / 100) > 0.4
    True
    """

    _y_numeric = True
    _stratify = False

    _parameter_constraints = {
        **BaseMultilayerPerceptron._parameter_constraints,
        "loss": [StrOptions({"squared_error", "poisson"})],
    }

    # scikit-learn needs every parameter spelled out in the signature.
    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *,
                 loss="squared_error", solver="adam", alpha=1e-4, batch_size="auto",
                 learning_rate="constant", learning_rate_init=1e-3, learning_rate_decay=0.95,
                 power_t=0.5, max_iter=200, shuffle=True, random_state=None, tol=1e-4,
                 verbose=False, warm_start=False, momentum=0.9, nesterovs_momentum=True,
                 early_stopping=False, validation_fraction=0.1, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-8, n_iter_no_change=10, max_fun=15000, sigmoid_slope=1.0,
                 leaky_relu_slope=0.01, dropout=0.0, init="auto", dtype="float32",
                 n_jobs=None, callbacks=None, device="cpu"):
        super().__init__(
            hidden_layer_sizes, activation, solver=solver, alpha=alpha,
            batch_size=batch_size, learning_rate=learning_rate,
            learning_rate_init=learning_rate_init, learning_rate_decay=learning_rate_decay,
            power_t=power_t, max_iter=max_iter, shuffle=shuffle, random_state=random_state,
            tol=tol, verbose=verbose, warm_start=warm_start, momentum=momentum,
            nesterovs_momentum=nesterovs_momentum, early_stopping=early_stopping,
            validation_fraction=validation_fraction, beta_1=beta_1, beta_2=beta_2,
            epsilon=epsilon, n_iter_no_change=n_iter_no_change, max_fun=max_fun,
            sigmoid_slope=sigmoid_slope, leaky_relu_slope=leaky_relu_slope,
            dropout=dropout, init=init, dtype=dtype, n_jobs=n_jobs, callbacks=callbacks,
            device=device,
        )
        self.loss = loss

    def _encode_targets(self, y, reset, classes=None):
        y = np.asarray(y)
        targets = y.reshape(-1, 1) if y.ndim == 1 else y
        if self.loss == "poisson" and np.any(targets < 0):
            raise ValueError("loss='poisson' requires non-negative y; got a minimum of "
                             f"{targets.min()}.")
        if reset:
            self.n_outputs_ = targets.shape[1]
            self.out_activation_ = "exp" if self.loss == "poisson" else "identity"
        elif targets.shape[1] != self.n_outputs_:
            raise ValueError(f"y has {targets.shape[1]} outputs; the model was fitted with "
                             f"{self.n_outputs_}.")
        return np.ascontiguousarray(targets, dtype=self._compute_dtype)

    def _make_loss(self):
        return PoissonDeviance() if self.loss == "poisson" else SquaredError()

    def _validation_scorer(self, Xv, yv_enc, wv):
        def score(network):
            return r2_score(yv_enc, self._forward(Xv), sample_weight=wv)
        return score

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None, validation_data=None):
        """Fit the model to data matrix X and targets y.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        sample_weight : array-like of shape (n_samples,), default=None
            Weight of each sample in the mean loss.
        validation_data : tuple (X_val, y_val), default=None
            A validation set to monitor and, with ``early_stopping=True``, to
            stop on.

        Returns
        -------
        self : object
        """
        return self._fit(X, y, sample_weight, incremental=False,
                         validation_data=validation_data)

    @available_if(lambda est: est._check_solver())
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None):
        """Train one epoch on the given data.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self : object
        """
        return self._fit(X, y, sample_weight, incremental=True)

    def predict(self, X):
        """Predicted values, float64.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
        """
        self._check_is_fitted()
        out = self._forward(self._validate_X(X, reset=False)).astype(np.float64)
        return out.ravel() if self.n_outputs_ == 1 else out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        return tags
