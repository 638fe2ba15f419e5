"""AutoEncoder: a self-supervised network as a scikit-learn transformer.

An encoder compresses each sample into ``n_components`` numbers (the code,
or latent point) and a decoder rebuilds the sample from them; both are
trained together to reproduce the input. ``transform`` runs the encoder,
``inverse_transform`` the decoder, on the layers of the one trained network
(:meth:`skneuro.nn.Network.forward_between`), so there is a single copy of
the weights.

The network is a graph of named nodes: ``"code"`` (the latent point) and
``"reconstruction"`` (the decoder's flat output). A variational
autoencoder adds ``"stats"`` (``[mu | logvar]``, which
:class:`~skneuro.nn.GaussianSampling` reads to make ``"code"``) and an
output node concatenating ``[reconstruction | mu | logvar]``, which
:class:`~skneuro.nn.VAELoss` turns into the squared error plus the KL term.
"""

import copy
from numbers import Integral, Real

import numpy as np
from sklearn.base import ClassNamePrefixFeaturesOutMixin, TransformerMixin, _fit_context
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import (
    _check_sample_weight,
    check_array,
    validate_data,
)

from skneuro._base import NEURON_CONSTRAINTS, PREDICT_CHUNK, BaseNetworkEstimator, positive_integers
from skneuro._locks import lock_of, synchronized
from skneuro._shaped_input import (
    CONVOLUTIONAL_PREDICT_CHUNK,
    CONVOLUTIONAL_SHARDS,
    ShapedInputMixin,
)
from skneuro._threads import limit_threads
from skneuro._warnings import warn
from skneuro.cnn import _with_flatten
from skneuro.nn import (
    AvgPool,
    Concatenate,
    Conv,
    ConvTranspose,
    Crop,
    Dense,
    Dropout,
    Flatten,
    GaussianNoise,
    GaussianSampling,
    Layer,
    MaxPool,
    Network,
    Reshape,
    SquaredError,
    Upsample,
    VAELoss,
)
from skneuro.nn.backend import get_backend
from skneuro.nn.network import INPUT
from skneuro.nn.spec import parse_spec

CODE = "code"
RECONSTRUCTION = "reconstruction"
STATS = "stats"


class AutoEncoder(ShapedInputMixin, ClassNamePrefixFeaturesOutMixin, TransformerMixin,
                  BaseNetworkEstimator):
    """Autoencoder (dense or convolutional, plain, denoising or variational) as a transformer.

    ``fit(X)`` trains an encoder and a decoder to reproduce X through a
    code of ``n_components`` numbers, minimizing the course's squared
    error ``E = 1/2 * sum_j (a_j - x_j)**2`` per sample (averaged over
    samples). ``transform`` gives the codes, ``inverse_transform`` decodes
    any latent points back to input space (that is how new samples are
    made), ``score`` is the negative mean squared reconstruction error. The
    training parameters are :class:`~skneuro.MLPRegressor`'s.

    Dense form (``layers=None``): the encoder is ``hidden_layer_sizes``
    dense layers, then a linear dense layer of ``n_components`` units (the
    code); the decoder mirrors the encoder (``decoder_layer_sizes``
    overrides it), ending with a dense layer of ``n_features`` units and the
    activation ``out_activation``.

    Convolutional form: ``layers`` gives the encoder in the course's notation
    (``"C-16.3, P-2, C-32.3, P-2"``, see :mod:`skneuro.nn.spec`) or as layer
    objects, with ``input_shape`` (or an ``I-`` token) for flat rows. The
    code is a linear dense layer after flattening; the decoder starts with a
    dense layer and a :class:`~skneuro.nn.Reshape` back to the encoder's last
    shape, then mirrors every encoder layer in reverse: a convolution by a
    :class:`~skneuro.nn.ConvTranspose` of the same kernel, stride and
    padding back to the convolution's input channels, a pooling by a
    nearest :class:`~skneuro.nn.Upsample` (and a :class:`~skneuro.nn.Crop`
    where the pooling rounded a size up), a dense layer by a dense layer.

    Parameters
    ----------
    n_components : int, default=2
        Size of the code (the latent space).
    hidden_layer_sizes : array-like of int, default=(100,)
        The encoder's hidden dense layers, from the input to the code (dense
        form; ``()`` gives a linear autoencoder, which spans PCA's subspace).
    activation : {"identity", "logistic", "sigmoid", "tanh", "relu", \
"leaky_relu", "silu", "gelu"}, default="relu"
        Activation of the hidden layers (in the notation, of the layers that
        do not name their own; their mirrors take the same one).
    decoder_layer_sizes : array-like of int, default=None
        The decoder's hidden dense layers, from the code to the output (dense
        form). None mirrors ``hidden_layer_sizes``.
    layers : str or list of skneuro.nn.Layer, default=None
        The encoder of a convolutional autoencoder, in the course's notation
        or as ``Conv``, ``MaxPool``, ``AvgPool``, ``Flatten``, ``Dense`` and
        ``Dropout`` objects (dropout is not mirrored). When given, it
        replaces ``hidden_layer_sizes``. A trailing ``DN`` token must equal
        ``n_components``.
    input_shape : tuple of int, default=None
        Per-sample shape ``(C, L)`` or ``(C, H, W)`` that flat rows of X are
        reshaped to, as for :class:`~skneuro.CNNRegressor` (convolutional
        form only).
    out_activation : {"identity", "logistic", "sigmoid"}, default="identity"
        Activation of the decoder's last layer. The identity fits any data;
        "sigmoid" keeps reconstructions in (0, 1), for data scaled to
        [0, 1] such as pixel intensities.
    noise : float, default=0.0
        Standard deviation of Gaussian noise added to the inputs during fit
        (a denoising autoencoder), never at transform or on the validation
        data; the targets stay clean. Seeded by ``random_state``.
    variational : bool, default=False
        Train a variational autoencoder: the encoder ends in a dense layer
        of ``2 * n_components`` units, the mean ``mu`` and the log variance
        ``logvar`` of a diagonal Gaussian; while training the decoder reads
        a sample ``z = mu + exp(logvar / 2) * eps`` (the reparameterization
        trick, ``eps`` seeded by ``random_state``), and the loss adds
        ``kl_weight`` times the KL divergence of ``N(mu, exp(logvar))`` from
        N(0, 1) (:class:`~skneuro.nn.VAELoss`). ``transform`` returns ``mu``.
    kl_weight : float, default=1.0
        Weight of the KL term of a variational autoencoder. With the squared
        error, 1 is the evidence lower bound of a decoder with unit noise
        variance; for data in [0, 1] a smaller weight (0.01-0.1) keeps
        reconstructions sharp. Ignored unless ``variational=True``.
    solver, alpha, batch_size, learning_rate, learning_rate_init, \
learning_rate_decay, power_t, max_iter, shuffle, random_state, tol, verbose, \
warm_start, momentum, nesterovs_momentum, beta_1, beta_2, epsilon, \
n_iter_no_change, max_fun, sigmoid_slope, leaky_relu_slope, init, dtype, \
n_jobs, callbacks, device
        As for :class:`~skneuro.MLPRegressor`. "lbfgs" trains without the
        input noise and without sampling (``z = mu``), with a warning: its
        objective must be deterministic.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the data (a random split), stop
        when its reconstruction error stops improving, and restore the
        weights of the lowest one.
    validation_fraction : float, default=0.1
        Share of the training data held out for early stopping.

    Attributes
    ----------
    loss_ : float
        Training loss at the last epoch.
    best_loss_ : float or None
        Lowest training loss (None with early stopping).
    loss_curve_ : list of float
        Training loss (with penalty; for a VAE with the KL term) at each
        epoch.
    validation_loss_curve_ : list of float or None
        The same loss (without penalty; with ``z = mu``) on the validation
        data at each epoch, when validation data is used.
    validation_scores_ : list of float or None
        Negative mean squared reconstruction error on the validation data at
        each epoch (what early stopping maximizes).
    best_validation_score_ : float or None
        Best of ``validation_scores_``.
    t_ : int
        Number of training samples seen.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of str
        Names of the features, when X was a DataFrame.
    n_iter_ : int
        Epochs run by the last call to ``fit`` (1 for ``partial_fit``;
        iterations for "lbfgs").
    input_shape_ : tuple of int
        Per-sample shape the network takes: ``(n_features,)`` in the dense
        form, ``(C, L)`` or ``(C, H, W)`` in the convolutional form.
    out_activation_ : str
        Activation of the decoder's last layer.
    network_ : skneuro.nn.Network
        The trained network, with nodes ``"code"`` and ``"reconstruction"``.

    See Also
    --------
    sklearn.decomposition.PCA : The linear projection an autoencoder generalizes.
    MLPRegressor : The dense network and training parameters this reuses.

    Notes
    -----
    ``score`` and the validation scores are the negative mean squared error
    of the reconstruction, ``-mean((X - inverse_transform(transform(X)))**2)``
    over samples and features, as ``sklearn.metrics.mean_squared_error``
    computes it; the training loss is the course's ``1/2`` times the sum over
    features (per sample), so the validation loss of a plain autoencoder is
    ``n_features / 2`` times the validation score's magnitude.

    ``transform`` and ``inverse_transform`` return the compute dtype
    (``dtype``, float32 by default), so only that dtype comes back unchanged
    (the ``preserves_dtype`` tag).

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.decomposition import PCA
    >>> from skneuro import AutoEncoder
    >>> X = load_digits().data / 16
    >>> ae = AutoEncoder(n_components=2, hidden_layer_sizes=(128,), batch_size=32,
    ...                  learning_rate_init=0.003, early_stopping=True,
    ...                  random_state=0).fit(X)
    >>> ae.transform(X[:3]).shape
    (3, 2)
    >>> pca = PCA(n_components=2).fit(X)
    >>> pca_error = float(((X - pca.inverse_transform(pca.transform(X))) ** 2).mean())
    >>> -ae.score(X) < pca_error
    True
    """

    _parameter_constraints = {
        **BaseNetworkEstimator._parameter_constraints,
        **NEURON_CONSTRAINTS,
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "decoder_layer_sizes": [None, "array-like", Interval(Integral, 1, None, closed="left")],
        "layers": [None, str, list],
        "input_shape": [None, tuple, list],
        "out_activation": [StrOptions({"identity", "logistic", "sigmoid"})],
        "noise": [Interval(Real, 0, None, closed="left")],
        "variational": ["boolean"],
        "kl_weight": [Interval(Real, 0, None, closed="left")],
    }
    _accept_sparse = False

    def __init__(self, n_components=2, hidden_layer_sizes=(100,), activation="relu", *,
                 decoder_layer_sizes=None, layers=None, input_shape=None,
                 out_activation="identity", noise=0.0, variational=False, kl_weight=1.0,
                 solver="adam", alpha=1e-4, batch_size="auto", learning_rate="constant",
                 learning_rate_init=1e-3, learning_rate_decay=0.95, power_t=0.5, max_iter=200,
                 shuffle=True, random_state=None, tol=1e-4, verbose=False, warm_start=False,
                 momentum=0.9, nesterovs_momentum=True, early_stopping=False,
                 validation_fraction=0.1, beta_1=0.9, beta_2=0.999, epsilon=1e-8,
                 n_iter_no_change=10, max_fun=15000, sigmoid_slope=1.0,
                 leaky_relu_slope=0.01, init="auto", dtype="float32", n_jobs=None,
                 callbacks=None, device="cpu"):
        self.n_components = n_components
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.decoder_layer_sizes = decoder_layer_sizes
        self.layers = layers
        self.input_shape = input_shape
        self.out_activation = out_activation
        self.noise = noise
        self.variational = variational
        self.kl_weight = kl_weight
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
        self.dtype = dtype
        self.n_jobs = n_jobs
        self.callbacks = callbacks
        self.device = device

    # -- the two forms --------------------------------------------------------
    @property
    def _convolutional(self):
        return self.layers is not None

    @property
    def _predict_chunk(self):
        return CONVOLUTIONAL_PREDICT_CHUNK if self._convolutional else PREDICT_CHUNK

    @property
    def _n_shards(self):
        return CONVOLUTIONAL_SHARDS if self._convolutional else 1

    # The convolutional form takes X as the CNNs do (ShapedInputMixin); the
    # dense form takes flat rows as they are.
    def _align_layout(self, X):
        return super()._align_layout(X) if self._convolutional else X

    def _to_network_input(self, X, reset):
        if self._convolutional:
            return super()._to_network_input(X, reset)
        if reset:
            self.input_shape_ = (X.shape[1],)
        return X

    # -- input ----------------------------------------------------------------
    def _check_form(self):
        if not self._convolutional:
            if self.input_shape is not None:
                raise ValueError("input_shape is for the convolutional form: give the encoder "
                                 "as layers too, or leave input_shape=None.")
        elif self.decoder_layer_sizes is not None:
            raise ValueError("decoder_layer_sizes is for the dense form (layers=None); the "
                             "convolutional form mirrors its encoder.")

    def _validate_X(self, X, reset, return_dtype=False):
        """X checked and in the network's per-sample shape, in the compute dtype
        (with ``return_dtype``, also the floating dtype it came in)."""
        if not reset:
            X = self._align_layout(X)
        X = validate_data(self, X, accept_sparse=False, dtype=[np.float64, np.float32],
                          allow_nd=self._convolutional, reset=reset)
        layout, dtype = X.shape[1:], X.dtype
        X = self._to_network_input(self._to_compute(X), reset=reset)
        if reset:
            self._layout = tuple(int(s) for s in layout)
        return (X, dtype) if return_dtype else X

    # -- architecture ---------------------------------------------------------
    def _encoder_layers(self):
        """The encoder's layers before the code: new objects, never the user's."""
        activation, slope = self._hidden_activation()
        if not self._convolutional:
            return [Dense(units, activation, slope=slope, init=self.init)
                    for units in positive_integers(self.hidden_layer_sizes, "hidden_layer_sizes")]
        if isinstance(self.layers, str):
            _, layers, declared = parse_spec(self.layers, activation, slope)
            if declared is not None and declared != self.n_components:
                raise ValueError(f"The layers end with D{declared} but n_components is "
                                 f"{self.n_components}; the code size is n_components.")
        else:
            if not all(isinstance(layer, Layer) for layer in self.layers):
                raise TypeError("layers must be a string in the course's notation or a list "
                                "of skneuro.nn layers.")
            layers = _with_flatten(copy.deepcopy(list(self.layers)))
        if self.init != "auto":
            for layer in layers:
                if hasattr(layer, "init"):
                    layer.init = self.init
        return layers

    def _build_network(self, input_shape, n_outputs, rng):
        input_shape = tuple(input_shape)
        encoder = self._encoder_layers()
        shapes, built = _probe_shapes(input_shape, encoder)
        if len(shapes[-1]) > 1:  # spatial: the code is dense
            encoder.append(Flatten())
            built.append(Flatten())
            shapes.append((int(np.prod(shapes[-1])),))
        out_activation = "sigmoid" if self.out_activation == "logistic" else self.out_activation
        activation, slope = self._hidden_activation()
        net = Network(input_shape)
        if self.noise > 0:
            net.add(GaussianNoise(self.noise), name="noise")
        for layer in encoder:
            net.add(layer)
        k = self.n_components
        if self.variational:
            net.add(Dense(2 * k, "identity", init=self.init), name=STATS)
            net.add(GaussianSampling(), name=CODE)
        else:
            net.add(Dense(k, "identity", init=self.init), name=CODE)
        if self.decoder_layer_sizes is not None:
            decoder = [Dense(units, activation, slope=slope, init=self.init)
                       for units in positive_integers(self.decoder_layer_sizes,
                                                         "decoder_layer_sizes")]
            decoder.append(Dense(input_shape[0], out_activation, init=self.init))
        else:
            # The code layer reads the encoder's flat output: its mirror makes it.
            decoder = _mirror(built + [Dense(k)], shapes + [(k,)], out_activation,
                              self.init)
        for layer in decoder[:-1]:
            net.add(layer)
        if len(input_shape) > 1:
            net.add(decoder[-1])
            net.add(Flatten(), name=RECONSTRUCTION)
        else:
            net.add(decoder[-1], name=RECONSTRUCTION)
        if self.variational:
            net.add(Concatenate(), [RECONSTRUCTION, STATS], name="output")
        return net

    def _make_loss(self):
        return VAELoss(self.kl_weight) if self.variational else SquaredError()

    # -- fit (the outline is BaseNetworkEstimator._fit_outline) ----------------
    def _training_data(self, X, y, reset, incremental, classes=None):
        """Validated X in the network's shape; the targets are X itself, flat."""
        self._check_form()
        X = self._validate_X(X, reset=reset)
        targets = X.reshape(X.shape[0], -1)
        self._check_target_range(targets)
        self._n_network_outputs = targets.shape[1]
        return X, targets, None

    def _validation_set(self, validation_data):
        """Validation rows checked like the training data; clean targets, unit weights."""
        Xv = self._validate_X(validation_data, reset=False)
        return Xv, Xv.reshape(Xv.shape[0], -1), np.ones(Xv.shape[0], dtype=self._compute_dtype)

    def _after_fit(self):
        self._n_features_out = self.n_components
        self.out_activation_ = ("sigmoid" if self.out_activation == "logistic"
                                else self.out_activation)

    def _check_target_range(self, targets):
        """Warn when X lies outside what the output activation can reconstruct."""
        span = {"sigmoid": (0.0, 1.0), "logistic": (0.0, 1.0), "tanh": (-1.0, 1.0)}
        if self.out_activation not in span or targets.size == 0:
            return
        low, high = span[self.out_activation]
        smallest, largest = float(targets.min()), float(targets.max())
        if smallest < low or largest > high:
            warn(f"out_activation={self.out_activation!r} reconstructs values in ({low:g}, "
                 f"{high:g}), but X ranges over [{smallest:.4g}, {largest:.4g}]: the model "
                 f"cannot learn it. Scale X into ({low:g}, {high:g}) first (e.g. "
                 "MinMaxScaler) or use out_activation='identity'.", UserWarning)

    def _validation_scorer(self, Xv, targets, wv):
        """Negative mean squared reconstruction error on clean validation data."""
        w = np.asarray(wv, dtype=np.float64)

        def score(network):
            recon = _run(network, Xv, INPUT, RECONSTRUCTION, network.backend,
                         self._predict_chunk, self._compute_dtype)
            errors = ((recon - targets) ** 2).mean(axis=1, dtype=np.float64)
            return -float(np.average(errors, weights=w))
        return score

    def _fit_lbfgs(self, X, y, sample_weight):
        if self.noise > 0 or self.variational:
            warn("solver='lbfgs' needs a deterministic objective: it trains without the input "
                 "noise and without sampling the code (z = mu). Use a stochastic solver for a "
                 "denoising or variational autoencoder.")
        super()._fit_lbfgs(X, y, sample_weight)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, sample_weight=None, validation_data=None):
        """Train the autoencoder to reconstruct X.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, C, L) \
or (n_samples, C, H, W)
            Training data (shaped samples in the convolutional form only).
        y : None
            Ignored; present for the API's consistency.
        sample_weight : array-like of shape (n_samples,), default=None
            Weight of each sample in the mean loss.
        validation_data : array-like, default=None
            Data to monitor (``validation_loss_curve_``, ``validation_scores_``)
            and, with ``early_stopping=True``, to stop on instead of an
            internal split.

        Returns
        -------
        self : object
            Fitted estimator.
        """
        return self._fit(X, None, sample_weight, incremental=False,
                         validation_data=validation_data)

    @available_if(lambda est: est._check_solver())
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None, sample_weight=None):
        """Train one epoch on the given data.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or shaped samples
        y : None
            Ignored.
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self : object
        """
        return self._fit(X, None, sample_weight, incremental=True)

    # -- transform and decode -------------------------------------------------
    def _run_fitted(self, X, source, target):
        backend = self._predict_backend()
        with lock_of(self), limit_threads(self.n_jobs):
            self.network_.bind(backend)
            return _run(self.network_, X, source, target, backend, self._predict_chunk,
                        self._compute_dtype)

    @synchronized
    def transform(self, X):
        """Encode X: the latent points (for a VAE, the means ``mu``).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or shaped samples

        Returns
        -------
        Z : ndarray of shape (n_samples, n_components)
            In X's floating dtype (other input gives float64).
        """
        self._check_is_fitted()
        X, dtype = self._validate_X(X, reset=False, return_dtype=True)
        return self._run_fitted(X, INPUT, CODE).astype(dtype, copy=False)

    @synchronized
    def inverse_transform(self, X):
        """Decode latent points into input space.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_components)
            Latent points: codes from :meth:`transform`, or any chosen points.

        Returns
        -------
        X_original : ndarray of shape (n_samples, n_features) or shaped samples
            Reconstructions, in the layout of the training data, in X's
            floating dtype (other input gives float64).
        """
        self._check_is_fitted()
        Z = check_array(X, dtype=[np.float64, np.float32], input_name="X")
        if Z.shape[1] != self.n_components:
            raise ValueError(f"X has {Z.shape[1]} features, but inverse_transform expects "
                             f"latent points of n_components={self.n_components} values.")
        dtype = Z.dtype
        Z = np.ascontiguousarray(Z, dtype=self._compute_dtype)
        out = self._run_fitted(Z, CODE, RECONSTRUCTION).astype(dtype, copy=False)
        return out.reshape((Z.shape[0],) + self._layout)

    def _check_variational(self):
        if not self.variational:
            raise AttributeError(
                "sample() draws from the prior of a variational autoencoder, and this "
                "AutoEncoder has variational=False; decode chosen latent points with "
                "inverse_transform instead.")
        return True

    @available_if(_check_variational)
    def sample(self, n_samples=1, random_state=None):
        """Generate new samples: latent points drawn from the prior N(0, I), decoded.

        Only for ``variational=True``, whose training pulls the codes towards
        the prior.

        Parameters
        ----------
        n_samples : int, default=1
            Number of samples, >= 1.
        random_state : int, RandomState instance or None, default=None
            Seeds the latent draws (not the model's ``random_state``).

        Returns
        -------
        X : ndarray of shape (n_samples, n_features) or shaped samples
            In the layout of the training data.
        """
        self._check_is_fitted()
        if not isinstance(n_samples, Integral) or isinstance(n_samples, bool) or n_samples < 1:
            raise ValueError(f"n_samples must be an integer >= 1, got {n_samples!r}.")
        z = check_random_state(random_state).standard_normal((n_samples, self.n_components))
        return self.inverse_transform(z)

    @synchronized
    def score(self, X, y=None, sample_weight=None):
        """Negative mean squared reconstruction error.

        ``-mean((X - inverse_transform(transform(X)))**2)`` over samples and
        features (with ``sample_weight``, a weighted mean over samples);
        higher is better, 0 is a perfect reconstruction. A VAE reconstructs
        from the means ``mu``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or shaped samples
        y : None
            Ignored.
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        score : float
        """
        self._check_is_fitted()
        X = self._validate_X(X, reset=False)
        recon = self._run_fitted(X, INPUT, RECONSTRUCTION)
        errors = ((recon - X.reshape(X.shape[0], -1)) ** 2).mean(axis=1, dtype=np.float64)
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X, dtype=np.float64)
        return -float(np.average(errors, weights=sample_weight))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # Outputs take X's floating dtype, whatever dtype the model computes in.
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags


def _run(network, X, source, target, backend, chunk, dtype):
    """``target``'s output for host rows ``X`` fed at node ``source``, in chunks, on the host."""
    n = X.shape[0]
    out = None
    with backend.predicting():
        for start in range(0, n, chunk):
            stop = min(start + chunk, n)
            result = network.forward_between(backend.asarray(X[start:stop]), source, target)
            if out is None:
                out = np.empty((n,) + tuple(result.shape[1:]), dtype=dtype)
            out[start:stop] = backend.to_host(result)
    if not np.isfinite(out).all():
        raise FloatingPointError(
            "The network produced non-finite outputs; the input holds values far outside "
            "the training range. Scale the inputs as during fit."
        )
    return out


def _probe_shapes(input_shape, layers):
    """Input shape of every layer and built copies of them (whose geometry is known)."""
    probe = Network.sequential(input_shape, copy.deepcopy(layers))
    probe.build(get_backend("cpu", np.float32), np.random.default_rng(0))
    built = probe.layers
    shapes = [tuple(input_shape)] + [tuple(layer.output_shape) for layer in built]
    return shapes, built


def _mirror(layers, shapes, out_activation, init):
    """Decoder layers mirroring built encoder ``layers`` in reverse.

    ``shapes[i]`` is the input shape of ``layers[i]``, and ``shapes[-1]`` the
    output of the last; the mirror of layer ``i`` maps its output shape back
    to its input shape, with the activation of the encoder layer that made
    that input (``out_activation`` for the network's input).
    """
    activations = []  # activation of the data entering each layer
    current = (out_activation, None)
    for layer in layers:
        activations.append(current)
        if isinstance(layer, (Dense, Conv)):
            current = (layer.activation, layer.slope)
    decoder = []
    for i in reversed(range(len(layers))):
        layer, shape_in = layers[i], shapes[i]
        activation, slope = activations[i]
        if isinstance(layer, Dense):
            decoder.append(Dense(shape_in[0], activation, slope=slope, init=init))
        elif isinstance(layer, Conv):
            c, h, w, kh, kw, sh, sw, ph, pw, oh, ow = layer._geometry
            op_h = h - ((oh - 1) * sh - 2 * ph + kh)
            op_w = w - ((ow - 1) * sw - 2 * pw + kw)
            one_d = len(shape_in) == 2
            geometry = [(kh, kw), (sh, sw), (ph, pw), (op_h, op_w)]
            kernel, stride, padding, output_padding = (
                [g[1] for g in geometry] if one_d else geometry)
            decoder.append(ConvTranspose(c, kernel, stride=stride, padding=padding,
                                         output_padding=output_padding,
                                         activation=activation, slope=slope, init=init))
        elif isinstance(layer, (MaxPool, AvgPool)):
            c, h, w, kh, kw, sh, sw, oh, ow = layer._geometry
            # The pooling's stride, or more where clipped windows left fewer
            # outputs than the stride would restore; a crop takes the excess.
            fh, fw = max(sh, -(-h // oh)), max(sw, -(-w // ow))
            one_d = len(shape_in) == 2
            decoder.append(Upsample(fw if one_d else (fh, fw)))
            if oh * fh != h or ow * fw != w:
                decoder.append(Crop(w if one_d else (h, w)))
        elif isinstance(layer, Flatten):
            decoder.append(Reshape(shape_in))
        elif isinstance(layer, Dropout):
            continue
        else:
            raise TypeError(f"Cannot mirror {layer!r} into a decoder; the encoder's layers "
                            "must be Conv, MaxPool, AvgPool, Flatten, Dense or Dropout.")
    return decoder
