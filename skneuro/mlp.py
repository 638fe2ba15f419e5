"""Multi-layer perceptrons: MLPClassifier and MLPRegressor.

Parameter names follow scikit-learn's ``sklearn.neural_network`` wherever the
concept is the same, so swapping the import is a one-line change.
"""

from numbers import Integral, Real

import numpy as np
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.utils._param_validation import Interval, StrOptions

from skneuro._base import NEURON_CONSTRAINTS, BaseNetworkEstimator, positive_integers
from skneuro._supervised import (
    NetworkClassifierMixin,
    NetworkRegressorMixin,
    SupervisedNetworkMixin,
)
from skneuro.nn import Dense, Dropout, Network


class BaseMultilayerPerceptron(SupervisedNetworkMixin, BaseNetworkEstimator):
    """Dense networks: the hidden layers, their activation and dropout."""

    _parameter_constraints = {
        **BaseNetworkEstimator._parameter_constraints,
        **NEURON_CONSTRAINTS,
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "dropout": [Interval(Real, 0, 1, closed="left"), "array-like"],
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
        return positive_integers(self.hidden_layer_sizes, "hidden_layer_sizes")

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
        activation, slope = self._hidden_activation()
        layers = []
        for units, rate in zip(hidden, rates):
            layers.append(Dense(units, activation, slope=slope, init=self.init))
            if rate > 0:
                layers.append(Dropout(rate))
        layers.append(Dense(n_outputs, "identity", init=self.init))
        return Network.sequential(input_shape, layers)

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

class MLPClassifier(NetworkClassifierMixin, ClassifierMixin, BaseMultilayerPerceptron):
    """Multi-layer perceptron classifier trained by backpropagation.

    A drop-in replacement for :class:`sklearn.neural_network.MLPClassifier`
    with Numba kernels, float32 by default, and what scikit-learn leaves out:
    dropout, class weights, leaky ReLU, RMSprop and Adagrad, learning-rate
    decay and a validation loss curve.

    Binary targets use one sigmoid output, multiclass targets a softmax
    output, multilabel indicator targets independent sigmoid outputs; each is
    trained with the matching cross-entropy.

    Parameters
    ----------
    hidden_layer_sizes : array-like of shape (n_layers - 2,), default=(100,)
        Number of neurons of each hidden layer.
    activation : {"identity", "logistic", "sigmoid", "tanh", "relu", "leaky_relu", \
"silu", "gelu"}, default="relu"
        Activation of the hidden layers; "logistic" and "sigmoid" are the same
        function, whose slope is ``sigmoid_slope``; "gelu" is its tanh
        approximation.
    solver : {"adam", "sgd", "rmsprop", "adagrad", "lbfgs"}, default="adam"
        Optimizer. "lbfgs" uses scipy's full-batch L-BFGS-B.
    alpha : float, default=1e-4
        L2 penalty, applied to weights (not biases) as in scikit-learn.
    batch_size : int or "auto", default="auto"
        Mini-batch size; "auto" is ``min(200, n_samples)``.
    learning_rate : {"constant", "invscaling", "adaptive", "linear", \
"exponential"}, default="constant"
        Learning-rate schedule, applied to every solver but "lbfgs":
        "invscaling" is ``learning_rate_init / (t + 1)**power_t`` with t the
        number of samples seen; "adaptive" divides the rate by 5 whenever the
        loss (or validation score) stalls; "linear" decreases it linearly to
        ``learning_rate_init / 100`` at ``max_iter``; "exponential" multiplies
        it by ``learning_rate_decay`` every epoch.
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
        Continue from the previous fit's weights, as scikit-learn: the loss
        curve, ``t_`` and the stopping record go on, the optimizer and the
        learning-rate schedule start anew, and ``y`` must have the same
        classes.
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
    init : {"auto", "glorot_uniform", "he_uniform", "small", "scikit-learn"}, \
default="auto"
        Weight initialization; "auto" is He for ReLU-like activations and
        Glorot otherwise (biases at zero), "small" is the course's U(-0.1, 0.1),
        "scikit-learn" is scikit-learn's MLP scheme (see
        :func:`skneuro.nn.init.initialize`).
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
        Number of training samples seen by a stochastic solver, over all
        calls (0 after "lbfgs").
    coefs_ : list of ndarray
        Weight matrices, ``coefs_[i]`` of shape ``(n_in, n_out)``.
    intercepts_ : list of ndarray
        Bias vectors.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of str
        Names of the features, when X was a DataFrame.
    n_iter_ : int
        Epochs run by the last call to ``fit`` (1 for ``partial_fit``;
        iterations for "lbfgs").
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
    >>> clf = MLPClassifier(hidden_layer_sizes=(16,), learning_rate_init=0.01, max_iter=1000,
    ...                     random_state=0).fit(X, y)
    >>> clf.score(X, y) > 0.9
    True
    """

    _parameter_constraints = {
        **BaseMultilayerPerceptron._parameter_constraints,
        "class_weight": [None, dict, StrOptions({"balanced"})],
    }

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

class MLPRegressor(NetworkRegressorMixin, RegressorMixin, BaseMultilayerPerceptron):
    """Multi-layer perceptron regressor trained by backpropagation.

    A drop-in replacement for :class:`sklearn.neural_network.MLPRegressor`,
    minimizing the course's squared error ``E = 1/2 * sum (a - t)**2`` per
    sample (averaged over samples) with an identity output layer; multi-output
    targets are supported. Predictions come in X's floating dtype, as
    scikit-learn's (float32 in, float32 out).

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
    ...     hidden_layer_sizes=(32,), learning_rate_init=0.01, max_iter=1000,
    ...     random_state=0)).fit(X, y / 100)
    >>> reg.score(X, y / 100) > 0.4
    True
    """

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
