"""Convolutional networks: CNNClassifier and CNNRegressor.

They share the MLPs' training (solvers, schedules, early stopping with
best-weight restore, class and sample weights, partial_fit, warm_start,
progress, device, threads, random_state) and differ in their architecture:
convolution and pooling layers, given as layer objects or in the course's
notation (:mod:`skneuro.nn.spec`), before dense layers.
"""

import copy
from numbers import Integral, Real

import numpy as np
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.utils._param_validation import Interval, StrOptions

from skneuro._base import NEURON_CONSTRAINTS, BaseNetworkEstimator
from skneuro._shaped_input import (
    CONVOLUTIONAL_PREDICT_CHUNK,
    CONVOLUTIONAL_SHARDS,
    ShapedInputMixin,
)
from skneuro._supervised import (
    NetworkClassifierMixin,
    NetworkRegressorMixin,
    SupervisedNetworkMixin,
)
from skneuro.nn import Augment, Dense, Flatten, Layer, Network
from skneuro.nn.spec import parse_spec

#: The default network: LeNet-like, small enough for any input. Padding keeps
#: the size and pooling never shrinks an axis below 1, so it also runs on a
#: single feature.
DEFAULT_LAYERS = "C-8.3, P-2, C-16.3, P-2, D-64"


class BaseConvolutionalNetwork(ShapedInputMixin, SupervisedNetworkMixin,
                               BaseNetworkEstimator):
    """Convolutional architectures over 1-D signals and 2-D images."""

    _parameter_constraints = {
        **BaseNetworkEstimator._parameter_constraints,
        **NEURON_CONSTRAINTS,
        "layers": [None, str, list],
        "input_shape": [None, tuple, list],
        "augment_shift": [Interval(Integral, 0, None, closed="left")],
        "augment_flip": ["boolean"],
        "augment_noise": [Interval(Real, 0, None, closed="left")],
        "augment_brightness": [Interval(Real, 0, 1, closed="left")],
    }
    _allow_nd = True
    _accept_sparse = False
    _predict_chunk = CONVOLUTIONAL_PREDICT_CHUNK
    _n_shards = CONVOLUTIONAL_SHARDS

    def __init__(self, layers=None, input_shape=None, activation="relu", *, solver="adam",
                 alpha=1e-4, batch_size="auto", learning_rate="constant",
                 learning_rate_init=1e-3, learning_rate_decay=0.95, power_t=0.5, max_iter=200,
                 shuffle=True, random_state=None, tol=1e-4, verbose=False, warm_start=False,
                 momentum=0.9, nesterovs_momentum=True, early_stopping=False,
                 validation_fraction=0.1, beta_1=0.9, beta_2=0.999, epsilon=1e-8,
                 n_iter_no_change=10, max_fun=15000, sigmoid_slope=1.0,
                 leaky_relu_slope=0.01, init="auto", augment_shift=0, augment_flip=False,
                 augment_noise=0.0, augment_brightness=0.0, dtype="float32", n_jobs=None,
                 callbacks=None, device="cpu"):
        self.layers = layers
        self.input_shape = input_shape
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
        self.init = init
        self.augment_shift = augment_shift
        self.augment_flip = augment_flip
        self.augment_noise = augment_noise
        self.augment_brightness = augment_brightness
        self.dtype = dtype
        self.n_jobs = n_jobs
        self.callbacks = callbacks
        self.device = device

    # -- input --------------------------------------------------------------
    def _validate_X(self, X, reset, return_dtype=False):
        return super()._validate_X(X if reset else self._align_layout(X), reset, return_dtype)

    # -- architecture -------------------------------------------------------
    def _build_network(self, input_shape, n_outputs, rng):
        activation, slope = self._hidden_activation()
        spec = DEFAULT_LAYERS if self.layers is None else self.layers
        if isinstance(spec, str):
            _, layers, declared_outputs = parse_spec(spec, activation, slope)
            if declared_outputs is not None and declared_outputs != n_outputs:
                raise ValueError(f"The layers end with D{declared_outputs} but the targets "
                                 f"need {n_outputs} outputs.")
        else:
            if not all(isinstance(layer, Layer) for layer in spec):
                raise TypeError("layers must be a string in the course's notation or a list "
                                "of skneuro.nn layers.")
            layers = _with_flatten(copy.deepcopy(list(spec)))  # never build the user's own
        if self.init != "auto":
            for layer in layers:
                if hasattr(layer, "init"):
                    layer.init = self.init
        augment = Augment(self.augment_shift, self.augment_flip, self.augment_noise,
                          self.augment_brightness)
        net = Network.sequential(input_shape, ([augment] if augment.active else []) + layers)
        if len(_output_shape(net, input_shape)) > 1:
            net.add(Flatten())
        net.add(Dense(n_outputs, "identity", init=self.init))
        return net


def _with_flatten(layers):
    """Insert a Flatten before a dense layer that follows spatial ones (as the notation does)."""
    from skneuro.nn import AvgPool, Conv, MaxPool

    out, spatial = [], True
    for layer in layers:
        if isinstance(layer, Dense) and spatial:
            out.append(Flatten())
            spatial = False
        elif isinstance(layer, Flatten):
            spatial = False
        elif isinstance(layer, (Conv, MaxPool, AvgPool)):
            spatial = True
        out.append(layer)
    return out


def _output_shape(net, input_shape):
    """Per-sample output shape of ``net`` without building its parameters."""
    from skneuro.nn.backend import get_backend

    probe = copy.deepcopy(net)
    probe.build(get_backend("cpu", np.float32), np.random.default_rng(0))
    return probe.output_shape if probe.nodes else tuple(input_shape)


_SHARED_DOC = """
    Parameters
    ----------
    layers : str or list of skneuro.nn.Layer, default=None
        The hidden layers, in the course's notation (``"I-28.28, C-6.5, P-2,
        C-16.5, P-2, C-48.3, D-1024_d0.5, D-256_d0.2, D10"``; see
        :mod:`skneuro.nn.spec`) or as layer objects (``Conv``, ``MaxPool``,
        ``AvgPool``, ``Flatten``, ``Dense``, ``Dropout``). The output layer is
        added from the targets (a trailing ``DN`` must agree with them).
        None is ``"C-8.3, P-2, C-16.3, P-2, D-64"``.
    input_shape : tuple of int, default=None
        Per-sample shape ``(C, L)`` or ``(C, H, W)`` that flat rows of X are
        reshaped to (or an ``I-`` token of ``layers``); shaped X with the same
        number of values per sample is reshaped too. None takes X's own shape:
        a 2-D X is a one-channel 1-D signal, (n, C, L) and (n, C, H, W) are
        as given.
    activation : str, default="relu"
        Activation of the layers that do not name their own.
    solver, alpha, batch_size, learning_rate, learning_rate_init, \
learning_rate_decay, power_t, max_iter, shuffle, random_state, tol, verbose, \
warm_start, momentum, nesterovs_momentum, early_stopping, validation_fraction, \
beta_1, beta_2, epsilon, n_iter_no_change, max_fun, sigmoid_slope, \
leaky_relu_slope, init, dtype, n_jobs, callbacks, device
        As for :class:`~skneuro.MLPClassifier`.
    augment_shift : int, default=0
        Data augmentation during fit only (never at predict, never on the
        validation split), seeded by ``random_state``: the largest random
        shift, in pixels or samples, along each spatial axis.
    augment_flip : bool, default=False
        Mirror training samples left-right with probability 1/2 (off by
        default: digits must not be mirrored).
    augment_noise : float, default=0.0
        Standard deviation of Gaussian noise added to training samples.
    augment_brightness : float, default=0.0
        Multiply each training sample by a factor in [1 - b, 1 + b].
"""


class CNNClassifier(NetworkClassifierMixin, ClassifierMixin, BaseConvolutionalNetwork):
    __doc__ = """Convolutional network classifier (1-D signals or 2-D images).
""" + _SHARED_DOC + """    class_weight : dict, "balanced" or None, default=None
        Weights of the classes, multiplied into ``sample_weight``.

    Attributes
    ----------
    classes_, loss_, best_loss_, loss_curve_, validation_loss_curve_, \
validation_scores_, best_validation_score_, t_, n_features_in_, \
feature_names_in_, n_iter_, n_outputs_, out_activation_, network_
        As for :class:`~skneuro.MLPClassifier`.
    input_shape_ : tuple of int
        Per-sample shape the network takes.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skneuro import CNNClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = CNNClassifier("C-8.3, P-2, D-32", input_shape=(1, 8, 8), early_stopping=True,
    ...                     learning_rate_init=0.01, random_state=0)
    >>> clf.fit(X[:1200] / 16, y[:1200]).score(X[1200:] / 16, y[1200:]) > 0.85
    True
    """

    _parameter_constraints = {
        **BaseConvolutionalNetwork._parameter_constraints,
        "class_weight": [None, dict, StrOptions({"balanced"})],
    }

    def __init__(self, layers=None, input_shape=None, activation="relu", *, solver="adam",
                 alpha=1e-4, batch_size="auto", learning_rate="constant",
                 learning_rate_init=1e-3, learning_rate_decay=0.95, power_t=0.5, max_iter=200,
                 shuffle=True, random_state=None, tol=1e-4, verbose=False, warm_start=False,
                 momentum=0.9, nesterovs_momentum=True, early_stopping=False,
                 validation_fraction=0.1, beta_1=0.9, beta_2=0.999, epsilon=1e-8,
                 n_iter_no_change=10, max_fun=15000, sigmoid_slope=1.0,
                 leaky_relu_slope=0.01, init="auto", augment_shift=0, augment_flip=False,
                 augment_noise=0.0, augment_brightness=0.0, class_weight=None,
                 dtype="float32", n_jobs=None, callbacks=None, device="cpu"):
        super().__init__(
            layers, input_shape, activation, solver=solver, alpha=alpha,
            batch_size=batch_size, learning_rate=learning_rate,
            learning_rate_init=learning_rate_init, learning_rate_decay=learning_rate_decay,
            power_t=power_t, max_iter=max_iter, shuffle=shuffle, random_state=random_state,
            tol=tol, verbose=verbose, warm_start=warm_start, momentum=momentum,
            nesterovs_momentum=nesterovs_momentum, early_stopping=early_stopping,
            validation_fraction=validation_fraction, beta_1=beta_1, beta_2=beta_2,
            epsilon=epsilon, n_iter_no_change=n_iter_no_change, max_fun=max_fun,
            sigmoid_slope=sigmoid_slope, leaky_relu_slope=leaky_relu_slope, init=init,
            augment_shift=augment_shift, augment_flip=augment_flip,
            augment_noise=augment_noise, augment_brightness=augment_brightness,
            dtype=dtype, n_jobs=n_jobs, callbacks=callbacks, device=device,
        )
        self.class_weight = class_weight


class CNNRegressor(NetworkRegressorMixin, RegressorMixin, BaseConvolutionalNetwork):
    __doc__ = """Convolutional network regressor (1-D signals or 2-D images).
""" + _SHARED_DOC + """    loss : {"squared_error", "poisson"}, default="squared_error"
        As for :class:`~skneuro.MLPRegressor`.

    Attributes
    ----------
    loss_, best_loss_, loss_curve_, validation_loss_curve_, validation_scores_, \
best_validation_score_, t_, n_features_in_, feature_names_in_, n_iter_, \
n_outputs_, out_activation_, network_
        As for :class:`~skneuro.MLPRegressor`.
    input_shape_ : tuple of int
        Per-sample shape the network takes.
    """

    _parameter_constraints = {
        **BaseConvolutionalNetwork._parameter_constraints,
        "loss": [StrOptions({"squared_error", "poisson"})],
    }

    def __init__(self, layers=None, input_shape=None, activation="relu", *,
                 loss="squared_error", solver="adam", alpha=1e-4, batch_size="auto",
                 learning_rate="constant", learning_rate_init=1e-3, learning_rate_decay=0.95,
                 power_t=0.5, max_iter=200, shuffle=True, random_state=None, tol=1e-4,
                 verbose=False, warm_start=False, momentum=0.9, nesterovs_momentum=True,
                 early_stopping=False, validation_fraction=0.1, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-8, n_iter_no_change=10, max_fun=15000, sigmoid_slope=1.0,
                 leaky_relu_slope=0.01, init="auto", augment_shift=0, augment_flip=False,
                 augment_noise=0.0, augment_brightness=0.0, dtype="float32", n_jobs=None,
                 callbacks=None, device="cpu"):
        super().__init__(
            layers, input_shape, activation, solver=solver, alpha=alpha,
            batch_size=batch_size, learning_rate=learning_rate,
            learning_rate_init=learning_rate_init, learning_rate_decay=learning_rate_decay,
            power_t=power_t, max_iter=max_iter, shuffle=shuffle, random_state=random_state,
            tol=tol, verbose=verbose, warm_start=warm_start, momentum=momentum,
            nesterovs_momentum=nesterovs_momentum, early_stopping=early_stopping,
            validation_fraction=validation_fraction, beta_1=beta_1, beta_2=beta_2,
            epsilon=epsilon, n_iter_no_change=n_iter_no_change, max_fun=max_fun,
            sigmoid_slope=sigmoid_slope, leaky_relu_slope=leaky_relu_slope, init=init,
            augment_shift=augment_shift, augment_flip=augment_flip,
            augment_noise=augment_noise, augment_brightness=augment_brightness,
            dtype=dtype, n_jobs=n_jobs, callbacks=callbacks, device=device,
        )
        self.loss = loss

