"""Shared machinery of the network estimators.

The estimator floor stays thin: it validates parameters and data, turns
scikit-learn's concepts (classes, sample and class weights, validation split,
warm start, partial fit) into a network and a training run, and exposes the
fitted attributes. The maths lives in :mod:`skneuro.nn`.
"""

import copy
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, Options, StrOptions
from sklearn.utils.validation import _check_sample_weight, check_is_fitted

from skneuro._locks import lock_of
from skneuro._saved_state import VersionedStateMixin
from skneuro._threads import limit_threads
from skneuro._warnings import warn
from skneuro.kernels.host import all_finite
from skneuro.nn import Trainer, get_backend, make_optimizer, make_schedule
from skneuro.nn.backend import cuda_unavailable_reason
from skneuro.nn.callbacks import Callback
from skneuro.nn.init import INIT_METHODS
from skneuro.nn.trainer import DIVERGENCE_FACTOR, DivergenceError, fit_lbfgs

#: Rows per forward pass at prediction time, at most: small enough to bound
#: memory by the chunk, not the data (the CPU's dense networks take passes
#: of 256 rows, see skneuro.backends.cpu.prediction).
PREDICT_CHUNK = 16384

#: The mark of a KeyboardInterrupt after which a fit kept the model it had reached.
_MODEL_KEPT = "skneuro_model_kept"


def model_kept(interrupt, estimator, what):
    """``interrupt``, a KeyboardInterrupt that ended ``estimator``'s training,
    saying that the model is fitted with ``what``, and marked so that
    :func:`fit_transaction` keeps it.

    The same exception object goes on, with the traceback of where Ctrl-C
    landed; it stays a plain KeyboardInterrupt (not a subclass), because
    Python ends a script by the signal itself only for that exact type, which
    tells a calling shell loop to stop too.
    """
    interrupt.args = (f"Training interrupted by the user; {type(estimator).__name__} is "
                      f"fitted with {what}: predict, save, or fit again with "
                      "warm_start=True to go on.",)
    setattr(interrupt, _MODEL_KEPT, True)
    return interrupt


def fit_transaction(estimator, fit, *args, **kwargs):
    """Run ``fit(*args, **kwargs)``; if it raises, put ``estimator`` back as it was.

    Bad input, a diverging run, an interruption outside the training loop or
    any other error then leaves a fitted model fitted (weights, curves,
    optimizer state and random streams unchanged) and an unfitted one unfitted.
    Ctrl-C inside the training loop is the exception: the fit then finishes
    the model with the weights it had reached and lets the KeyboardInterrupt
    go on, marked by :func:`model_kept`; that one leaves the model as it is.
    The fitted state is copied with ``deepcopy``, which goes through the
    objects' ``__getstate__`` (layer buffers are not copied); the constructor
    parameters are kept as they are. The estimator's lock is held throughout,
    so predictions from other threads wait for the fit.
    """
    with lock_of(estimator):
        # Constructor parameters are not changed by a fit, and may hold what
        # cannot be copied (a callback with a lock or an open file).
        # One memo for every value, so objects shared between attributes (the
        # network and the trainer's) stay shared in the copy; the parameters,
        # and what they hold (the trainer keeps the callbacks), are not copied.
        params, memo = estimator._get_param_names(), {}
        for key in params:
            value = estimator.__dict__.get(key)
            memo[id(value)] = value
            for item in value if isinstance(value, (list, tuple)) else ():
                memo[id(item)] = item
        saved = {key: value if key in params else copy.deepcopy(value, memo)
                 for key, value in estimator.__dict__.items()}
        try:
            return fit(*args, **kwargs)
        except BaseException as exc:
            if not getattr(exc, _MODEL_KEPT, False):
                estimator.__dict__.clear()
                estimator.__dict__.update(saved)
            raise


def positive_integers(value, name):
    """``value``, one integer or a sequence of them, as a list of positive ints.

    Raises
    ------
    TypeError
        If an entry is not an integer (``8.5``, ``"8"``), as scikit-learn.
    ValueError
        If an entry is 0 or negative.
    """
    values = [value] if np.isscalar(value) else list(value)
    for v in values:
        if isinstance(v, bool) or not isinstance(v, Integral):
            raise TypeError(f"{name} must hold positive integers (numbers of units), got "
                            f"{value!r}: {v!r} is not an integer.")
    if any(v < 1 for v in values):
        raise ValueError(f"{name} must be > 0, got {value!r}.")
    return [int(v) for v in values]


def make_generator(random_state):
    """A numpy Generator seeded from a scikit-learn ``random_state``."""
    seed = check_random_state(random_state).randint(np.iinfo(np.int32).max)
    return np.random.default_rng(seed)


#: Constraints of the hidden layers' neurons, declared once for every
#: estimator that takes them (MLPs, CNNs, AutoEncoder).
NEURON_CONSTRAINTS = {
    "activation": [StrOptions({"identity", "logistic", "sigmoid", "tanh", "relu",
                               "leaky_relu", "silu", "gelu"})],
    "sigmoid_slope": [Interval(Real, 0, None, closed="neither")],
    "leaky_relu_slope": [Interval(Real, 0, 1, closed="left")],
    "init": [StrOptions(set(INIT_METHODS))],
}


class BaseNetworkEstimator(VersionedStateMixin, BaseEstimator):
    """Training orchestration shared by every gradient-trained network estimator.

    Subclasses define ``_build_network(input_shape, n_outputs, rng)`` and
    ``_make_loss()``; they call :meth:`_fit_network` from ``fit`` and
    ``partial_fit`` and :meth:`_forward` from their prediction methods.
    """

    _parameter_constraints = {
        "solver": [StrOptions({"sgd", "adam", "rmsprop", "adagrad", "lbfgs"})],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "batch_size": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "learning_rate": [StrOptions({"constant", "invscaling", "adaptive", "linear",
                                      "exponential"})],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "learning_rate_decay": [Interval(Real, 0, 1, closed="right")],
        "power_t": [Interval(Real, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "tol": [Interval(Real, 0, None, closed="left")],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "momentum": [Interval(Real, 0, 1, closed="both")],
        "nesterovs_momentum": ["boolean"],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "beta_1": [Interval(Real, 0, 1, closed="left")],
        "beta_2": [Interval(Real, 0, 1, closed="left")],
        "epsilon": [Interval(Real, 0, None, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left"),
                             Options(Real, {np.inf})],
        "max_fun": [Interval(Integral, 1, None, closed="left")],
        "dtype": "no_validation",  # checked by _compute_dtype, which accepts np.dtype
        "n_jobs": [None, Integral],
        "callbacks": [None, list],
        "device": [StrOptions({"cpu", "cuda", "auto"})],
    }

    # -- plumbing -----------------------------------------------------------
    def _hidden_activation(self):
        """``(activation, slope)`` of the hidden neurons, from the parameters.

        "logistic" (scikit-learn's name) is the sigmoid; the slope is the
        course's beta for the sigmoid, the negative slope for the leaky ReLU,
        and None for the others.
        """
        activation = "sigmoid" if self.activation == "logistic" else self.activation
        slope = {"sigmoid": self.sigmoid_slope,
                 "leaky_relu": self.leaky_relu_slope}.get(activation)
        return activation, slope

    @property
    def _compute_dtype(self):
        try:
            dtype = np.dtype(self.dtype)
        except TypeError:
            dtype = None
        if dtype not in (np.float32, np.float64):
            raise ValueError(f"The 'dtype' parameter of {type(self).__name__} must be "
                             f"'float32' or 'float64'. Got {self.dtype!r} instead.")
        return dtype

    def _backend(self):
        return get_backend(self.device, self._compute_dtype)

    def _predict_backend(self):
        """The backend for prediction: a GPU-trained model also predicts without a GPU."""
        if self.device == "cuda" and cuda_unavailable_reason() is not None:
            warn("This model was set to device='cuda' but no usable CUDA GPU is here; "
                 "predicting on the CPU.")
            return get_backend("cpu", self._compute_dtype)
        return self._backend()

    def _batch_size(self, n_samples):
        if self.batch_size == "auto":
            return min(200, n_samples)
        if self.batch_size > n_samples:
            warn("Got `batch_size` less than 1 or larger than sample size. "
                 "It is going to be clipped", UserWarning)
        return min(self.batch_size, n_samples)

    def _to_compute(self, X):
        """``X`` in the compute dtype: C-contiguous dense, or CSR if sparse."""
        if hasattr(X, "tocsr"):
            if self._backend().name != "cpu":
                raise TypeError("Sparse input is supported on the CPU only; densify it "
                                "(X.toarray()) or use device='cpu'.")
            return X.tocsr().astype(self._compute_dtype)
        return np.ascontiguousarray(X, dtype=self._compute_dtype)

    def _check_loaded_arrays(self):
        network = self.__dict__.get("network_")
        if network is None:
            return
        # One floating dtype for every parameter: the one the model was fitted
        # in (the dtype parameter may have been changed since).
        expected = None
        for layer, name in network.parameters():
            value = layer.params[name]
            if expected is None and getattr(value, "dtype", None) in (np.float32, np.float64):
                expected = value.dtype
            self._expect_floating(f"parameter {name!r} of {type(layer).__name__}", value,
                                  expected or np.float32)

    def _check_is_fitted(self):
        # check_is_fitted scans every attribute (20 us); a fitted model has a network.
        if "network_" not in self.__dict__:
            check_is_fitted(self)

    def _check_solver(self):
        """``partial_fit`` exists for the stochastic solvers only (as scikit-learn)."""
        if self.solver == "lbfgs":
            raise AttributeError("partial_fit is only available for stochastic optimizers. "
                                 f"{self.solver} is not stochastic.")
        return True

    # -- the fit outline ------------------------------------------------------
    def _fit_transaction(self, fit, *args, **kwargs):
        return fit_transaction(self, fit, *args, **kwargs)

    def _fit(self, X, y, sample_weight, incremental, validation_data=None, classes=None):
        """``fit`` (``incremental=False``) or ``partial_fit``, inside a transaction."""
        return self._fit_transaction(self._fit_outline, X, y, sample_weight, incremental,
                                     validation_data, classes)

    def _fit_outline(self, X, y, sample_weight, incremental, validation_data, classes):
        """The one fit of every network estimator; each says what differs by its hooks.

        ``_training_data`` validates X and y and encodes the targets;
        ``_apply_class_weight`` scales the sample weights; ``_validation_set``
        makes the given validation data, ``_monitored`` (by default with
        ``_validation_scorer``) what the trainer watches and its score;
        ``_stratify_by`` stratifies the early-stopping split; ``_after_fit``
        sets what the estimator adds to the fitted attributes.
        """
        fitted = "network_" in self.__dict__
        reset = not fitted or not (self.warm_start or incremental)
        if incremental and self.early_stopping:
            raise ValueError("partial_fit does not support early_stopping=True")
        X, targets, y = self._training_data(X, y, reset=reset, incremental=incremental,
                                            classes=classes)
        weight = _check_sample_weight(sample_weight, X, dtype=self._compute_dtype,
                                      ensure_non_negative=True)
        weight = self._apply_class_weight(weight, y, incremental)
        if not weight.sum(dtype=np.float64) > 0:
            raise ValueError("The sample weights (times any class weights) sum to zero: "
                             "there is nothing to learn from.")
        validation = None
        if self.solver == "lbfgs" and validation_data is not None:
            warn("validation_data is ignored by solver='lbfgs', which has no epochs to "
                 "monitor; use a stochastic solver to record validation_loss_curve_.")
        if self.solver != "lbfgs" and not incremental:
            if validation_data is not None:
                validation = self._validation_set(validation_data)
            elif self.early_stopping:
                X, targets, weight, validation = self._split_validation(
                    X, targets, weight, stratify=self._stratify_by(y))
        score = None
        if validation is not None:
            validation, score = self._monitored(validation)
        try:
            self._fit_network(X, targets, weight, reset=reset, incremental=incremental,
                              validation=validation, score=score)
        except KeyboardInterrupt as exc:
            if getattr(exc, _MODEL_KEPT, False):
                self._after_fit()  # an interrupted model is fitted all the same
            raise
        self._after_fit()
        return self

    def _monitored(self, validation):
        """``(data, score)`` the trainer monitors for held-out ``(X, targets, weight)``."""
        return validation, self._validation_scorer(*validation)

    def _apply_class_weight(self, weight, y, incremental):
        """Sample weights times the class weights (none here)."""
        return weight

    def _stratify_by(self, y):
        """Labels to stratify the early-stopping split by (None: a plain split)."""
        return None

    def _after_fit(self):
        """Fitted attributes an estimator adds after training (none here)."""

    # -- training -----------------------------------------------------------

    def _initialize(self, input_shape, n_outputs, rng, n_samples=1):
        """Build a fresh network, loss, optimizer and trainer."""
        backend = self._backend()
        if self.solver == "lbfgs":  # every row at once; scipy's float64 vectors
            rows, copies = n_samples, 2 + 2 * 8 // backend.dtype.itemsize
        else:
            batch = 200 if self.batch_size == "auto" else self.batch_size
            rows = min(batch, n_samples)
            copies = 2 + make_optimizer(self.solver, self.momentum, self.nesterovs_momentum,
                                        self.beta_1, self.beta_2, self.epsilon).n_slots
        self.network_ = self._build_network(input_shape, n_outputs, rng).build(
            backend, rng, rows=rows, parameter_copies=copies)
        self._loss = self._make_loss().bind(backend)
        self._trainer = None

    def _make_trainer(self, rng, n_samples, validation, score, resume=None):
        for cb in self.callbacks or ():
            if not isinstance(cb, Callback):
                raise TypeError(f"callbacks must be skneuro.nn.Callback instances, got {cb!r}.")
        optimizer = make_optimizer(self.solver, self.momentum, self.nesterovs_momentum,
                                   self.beta_1, self.beta_2, self.epsilon)
        schedule = make_schedule(self.learning_rate, self.learning_rate_init, self.power_t,
                                 self.max_iter, self.learning_rate_decay)
        trainer = Trainer(
            self.network_, self._loss, optimizer, schedule,
            batch_size=self._batch_size(n_samples), max_iter=self.max_iter, rng=rng,
            shuffle=self.shuffle, alpha=self.alpha, tol=self.tol,
            n_iter_no_change=self.n_iter_no_change,
            early_stopping=self.early_stopping and validation is not None,
            validation=validation, score=score, callbacks=list(self.callbacks or ()),
            verbose=bool(self.verbose), resume=resume,
        )
        trainer.eval_chunk = min(trainer.eval_chunk, self._predict_chunk)
        return trainer

    def _split_validation(self, X, targets, weight, stratify=None):
        """Hold out ``validation_fraction`` of the rows (early stopping).

        A random split seeded by ``random_state`` (stratified by ``stratify``,
        which raises scikit-learn's error where a class has one member), rows
        kept in their order. Returns the training ``X, targets, weight`` and the held-out
        ``(X, targets, weight)``.
        """
        if isinstance(self.random_state, Integral):
            seed = self.random_state
        else:
            seed = check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
        rows = np.arange(X.shape[0])
        train, held = train_test_split(rows, test_size=self.validation_fraction,
                                       random_state=seed, stratify=stratify)
        if held.shape[0] < 2:
            raise ValueError(
                f"The validation set is too small ({held.shape[0]} sample) with "
                f"validation_fraction={self.validation_fraction}; raise it or disable "
                "early_stopping."
            )
        train.sort()
        held.sort()
        validation = (X[held], targets[held], weight[held])
        return X[train], targets[train], weight[train], validation

    def _fit_network(self, X, y, sample_weight, *, reset, incremental, validation=None,
                     score=None):
        """Train the network on encoded targets ``y``; set the fitted attributes.

        Parameters
        ----------
        X : ndarray or sparse matrix, in the compute dtype
        y : ndarray
            Encoded targets (integer labels or float matrix).
        sample_weight : ndarray of shape (n_samples,)
        reset : bool
            Build a new network (else continue from the current weights).
        incremental : bool
            One epoch without stopping checks (``partial_fit``).
        validation : tuple (X_val, y_val, w_val), optional
        score : callable(network) -> float, optional
            Validation score for early stopping and ``validation_scores_``.
        """
        rng = self._rng if not reset else make_generator(self.random_state)
        if reset:
            self._initialize(X.shape[1:], self._n_network_outputs, rng, n_samples=X.shape[0])
        self._rng = rng
        backend = self._backend()
        self.network_.bind(backend)
        self._loss.bind(backend)
        with limit_threads(self.n_jobs):
            if self.solver == "lbfgs":
                self._fit_lbfgs(X, y, sample_weight)
                return
            if not (incremental and self._trainer is not None):
                # Each fit gets a new optimizer and schedule, as in scikit-learn;
                # a warm start resumes the counters, curves and stopping record.
                self._trainer = self._make_trainer(
                    rng, X.shape[0], validation, score,
                    resume=None if reset else self._trainer)
            trainer = self._trainer
            trainer.attach(self.network_, n_shards=self._shard_count(backend),
                           batch_transform=self._batch_transform(backend))
            try:
                if incremental:
                    trainer.partial_run(X, y, sample_weight, self._batch_size(X.shape[0]))
                    converged = True
                else:
                    converged = trainer.run(X, y, sample_weight, n_epochs=self.max_iter)
            except KeyboardInterrupt as exc:
                if not trainer.interrupted:
                    raise  # outside the loop: the transaction puts the model back
                interrupt = exc
            else:
                interrupt = None
        self._set_training_attributes(trainer)
        if interrupt is not None:
            what = ("the weights of its best validation score" if trainer.early_stopping
                    and trainer.best_weights is not None else "the weights it had reached")
            raise model_kept(interrupt, self, f"{what} (n_iter_={self.n_iter_})")
        # tol=None (DDPM's default) asks for max_iter epochs: no criterion to miss.
        if not converged and self.tol is not None:
            warn(
                f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) reached and "
                "the optimization hasn't converged yet.",
                ConvergenceWarning,
            )

    def _fit_lbfgs(self, X, y, sample_weight):
        if self._has_dropout():
            warn("dropout is ignored by solver='lbfgs', whose objective must be "
                 "deterministic; use a stochastic solver to train with dropout.")
        try:
            result = fit_lbfgs(self.network_, self._loss, X, y, sample_weight,
                               alpha=self.alpha, max_iter=self.max_iter,
                               max_fun=self.max_fun, tol=self.tol)
        except KeyboardInterrupt as exc:
            interrupt = exc
            result = _interrupted_lbfgs_result(self.network_, self._loss, X, y, sample_weight)
        else:
            interrupt = None
        if not np.isfinite(result.fun):
            raise DivergenceError("L-BFGS produced a non-finite loss; scale the inputs "
                                  "(e.g. with StandardScaler) or increase alpha.")
        if result.fun > DIVERGENCE_FACTOR * result.initial_fun:
            raise DivergenceError(
                f"L-BFGS diverged: the loss rose to {result.fun:.4g}, more than "
                f"{DIVERGENCE_FACTOR:g} times the starting {result.initial_fun:.4g}; scale "
                "the inputs (e.g. with StandardScaler) or increase alpha.")
        self.n_iter_ = int(result.nit)
        self.t_ = 0  # samples seen by a stochastic solver: none (as scikit-learn)
        self.loss_ = float(result.fun)
        self.loss_curve_ = [self.loss_]
        self.best_loss_ = self.loss_
        self.validation_loss_curve_ = None
        self.validation_scores_ = None
        self.best_validation_score_ = None
        if interrupt is not None:
            raise model_kept(interrupt, self, "the last weights L-BFGS evaluated")
        if result.status != 0:
            warn(
                f"lbfgs failed to converge after {self.n_iter_} iteration(s) (status="
                f"{result.status}): {result.message}. Increase max_iter or scale the data.",
                ConvergenceWarning,
            )

    def _has_dropout(self):
        from skneuro.nn import Dropout

        return any(isinstance(layer, Dropout) and layer.rate > 0
                   for layer in self.network_.layers)

    def _set_training_attributes(self, trainer):
        self.n_iter_ = trainer.epochs_run  # this call's epochs, as scikit-learn
        self.t_ = trainer.samples_seen
        self.loss_curve_ = list(trainer.loss_curve)
        self.loss_ = self.loss_curve_[-1] if self.loss_curve_ else None
        has_validation = bool(trainer.validation_loss_curve)
        self.validation_loss_curve_ = (list(trainer.validation_loss_curve)
                                       if has_validation else None)
        self.validation_scores_ = (list(trainer.validation_scores)
                                   if trainer.validation_scores else None)
        if trainer.early_stopping:
            self.best_loss_ = None
            self.best_validation_score_ = trainer.best_validation_score
        else:
            self.best_loss_ = trainer.best_loss
            self.best_validation_score_ = (max(trainer.validation_scores)
                                           if trainer.validation_scores else None)

    # -- prediction ---------------------------------------------------------
    #: Rows per forward pass when predicting; networks whose layers keep large
    #: per-sample buffers (convolutions) lower it to bound memory.
    _predict_chunk = PREDICT_CHUNK

    #: Shards per batch asked of the backend (the CPU runs them, see
    #: :mod:`skneuro.backends.cpu.shards`). Dense networks spend their time
    #: in products that use every core themselves; networks with
    #: convolutions set 2, so their other kernels use both cores too.
    _n_shards = 1

    def _shard_count(self, backend):
        return backend.shards(self._n_shards)

    def _batch_transform(self, backend):
        """The trainer's ``batch_transform`` (None: batches are trained as gathered)."""
        return None

    def _forward(self, X, activate=True):
        """Network outputs for validated ``X``, in chunks, as a new host array."""
        # Predictions from several threads take turns, and wait for a running
        # fit: the layers' buffers are the network's (see skneuro._locks).
        with lock_of(self):
            return self._forward_unlocked(X, activate)

    def _forward_unlocked(self, X, activate):
        backend = self._predict_backend()
        self.network_.bind(backend)
        self._loss.bind(backend)
        out = np.empty((X.shape[0],) + tuple(self.network_.output_shape), dtype=backend.dtype)
        # Non-finite outputs get the clear error below, not numpy's warnings.
        with (limit_threads(self.n_jobs),
              np.errstate(over="ignore", invalid="ignore", divide="ignore")):
            backend.predict(self.network_, X, out, self._predict_chunk,
                            n_shards=self._shard_count(backend),
                            finish=self._loss.activate if activate else None)
        if not all_finite(out.reshape(-1)):
            raise FloatingPointError(
                "The network produced non-finite outputs; the input holds values far "
                "outside the training range. Scale the inputs as during fit."
            )
        return out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = bool(getattr(self, "_accept_sparse", True))
        return tags



def _interrupted_lbfgs_result(network, loss, X, y, weight):
    """What L-BFGS would have returned, for the weights it left when interrupted."""
    from scipy.optimize import OptimizeResult

    backend = network.backend
    w_norm = backend.asarray(weight / weight.sum(dtype=np.float64), dtype=weight.dtype)
    X = X if hasattr(X, "tocsr") else backend.asarray(X)
    value = loss.value(network.forward(X), backend.asarray(y, dtype=y.dtype), w_norm)
    # The starting loss went with the interrupted call: the check against it is
    # skipped (a non-finite loss is still caught).
    return OptimizeResult(fun=value, nit=0, status=99, initial_fun=np.inf,
                          message="interrupted by the user")
