"""DDPM: a denoising diffusion probabilistic model with a U-Net, as an estimator.

The forward process (Ho et al. 2020) adds Gaussian noise over ``n_steps``
steps following a variance schedule ``beta_t``:
``x_t = sqrt(abar_t) * x_0 + sqrt(1 - abar_t) * eps`` with
``alpha_t = 1 - beta_t`` and ``abar_t`` their running product. A U-Net learns
to predict ``eps`` from ``(x_t, t)``; the reverse chain, run from pure noise,
generates new samples.

The U-Net is an ordinary :class:`~skneuro.nn.Network` of the engine's layers.
Its one input row is ``[x_t | t]`` (and the class label for a conditional
model): :class:`~skneuro.nn.Slice` layers take the image and the step apart,
a :class:`~skneuro.nn.SinusoidalEmbedding` and two dense layers embed the
step, and every residual block adds a projection of it to its feature maps
(:class:`~skneuro.nn.ChannelAdd`) between group-normalized convolutions;
skip connections concatenate the down path's maps to the up path's. Each
training batch draws its own noise levels and noise on the device
(:mod:`skneuro.kernels.cpu.diffusion`, through the trainer's
``batch_transform``), reproducibly from ``random_state``.
"""

from numbers import Integral, Real

import numpy as np
from sklearn.base import _fit_context
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from skneuro._base import BaseNetworkEstimator, make_generator
from skneuro._locks import synchronized
from skneuro._progress import Progress
from skneuro._shaped_input import ShapedInputMixin
from skneuro.nn import (
    Activation,
    Add,
    AvgPool,
    ChannelAdd,
    Concatenate,
    Conv,
    Dense,
    Flatten,
    GroupNorm,
    Network,
    OneHot,
    SinusoidalEmbedding,
    Slice,
    SquaredError,
    Upsample,
)

#: Seed of the noise draws of :meth:`DDPM.score` and of the validation loss:
#: fixed, so the score of a model on given data never changes.
SCORE_SEED = 12345


def beta_schedule(name, n_steps, beta_start=None, beta_end=None):
    """The variances ``beta_t``, t = 1..T, of a diffusion schedule.

    Parameters
    ----------
    name : {"linear", "cosine"}
        "linear": from ``beta_start`` to ``beta_end`` (Ho et al.); "cosine":
        ``abar_t`` follows a squared cosine (Nichol & Dhariwal 2021), betas
        capped at 0.999.
    n_steps : int
    beta_start, beta_end : float or None
        For "linear". None: Ho et al.'s 1e-4 and 0.02, which they chose for
        T = 1000, scaled by 1000 / T (capped at 0.999), as in Nichol &
        Dhariwal's code: at any T the last step is then pure noise (at
        T = 200, unscaled values would leave 36% of the image's amplitude in
        x_T, which sampling replaces by pure noise the model never saw).

    Returns
    -------
    betas : ndarray of shape (n_steps,), float64
    """
    if name == "linear":
        scale = 1000.0 / n_steps
        start = min(1e-4 * scale, 0.999) if beta_start is None else beta_start
        end = min(0.02 * scale, 0.999) if beta_end is None else beta_end
        if start > end:
            raise ValueError(f"The linear schedule needs beta_start <= beta_end, got "
                             f"{start!r} and {end!r} (None stands for Ho et al.'s values "
                             f"scaled to n_steps={n_steps}).")
        if n_steps == 1:  # a single step goes all the way to noise
            return np.array([end], dtype=np.float64)
        return np.linspace(start, end, n_steps, dtype=np.float64)
    s = 0.008
    steps = np.arange(n_steps + 1, dtype=np.float64) / n_steps
    abar = np.cos((steps + s) / (1 + s) * np.pi / 2) ** 2
    return np.clip(1.0 - abar[1:] / abar[:-1], 1e-8, 0.999)


def _groups(channels, groups):
    """The largest group count <= ``groups`` dividing ``channels``."""
    for g in range(min(groups, channels), 0, -1):
        if channels % g == 0:
            return g
    return 1


class DDPM(ShapedInputMixin, BaseNetworkEstimator):
    """Denoising diffusion probabilistic model with a U-Net denoiser.

    ``fit(X)`` learns to generate samples like X; :meth:`sample` draws new
    ones by running the reverse diffusion from pure noise. X is flat rows with
    ``input_shape`` (``(C, L)`` or ``(C, H, W)``), or shaped samples; it is
    scaled to [-1, 1] internally (by its overall minimum and maximum) and
    samples come back in its original scale and layout. Spatial sizes that do
    not divide by ``2**n_levels`` are zero-padded internally (a one-feature
    input works). With ``input_shape=None`` a flat X is a one-channel 1-D
    signal.

    Parameters
    ----------
    input_shape : tuple of int, default=None
        Per-sample shape that flat rows of X are reshaped to.
    n_steps : int, default=200
        Number of diffusion steps T.
    beta_schedule : {"linear", "cosine"}, default="linear"
    beta_start, beta_end : float, default=None
        The linear schedule's first and last variance, in (0, 1). None:
        Ho et al.'s 1e-4 and 0.02 for T = 1000 scaled by 1000 / T (5e-4 and
        0.1 at T = 200), so that x_T is pure noise at any T.
    channels : int, default=32
        Feature maps of the U-Net's first level; level ``l`` has
        ``channels * 2**l``.
    n_levels : int, default=2
        Resolutions of the U-Net (each halves the spatial size).
    n_res_blocks : int, default=1
        Residual blocks per level, on each path.
    time_embedding : int, default=64
        Width of the step (and class) embedding.
    groups : int, default=8
        Groups of the group normalizations (fewer where a level's channels
        do not divide).
    conditional : bool, default=False
        Learn a class-conditional model from y (a class embedding added to
        the step's); the label is dropped at random with probability
        ``p_uncond`` during training, so the model also learns the
        unconditional noise, which classifier-free guidance uses. With False,
        y is ignored, as scikit-learn's unsupervised estimators ignore it.
    p_uncond : float, default=0.1
        Probability of dropping the label of a training sample (conditional
        models).
    guidance : float, default=0.0
        Classifier-free guidance weight w at sampling:
        ``eps = (1 + w) * eps(x, t, y) - w * eps(x, t)`` (conditional models).
    sampling_steps : int, default=None
        Steps of the reverse chain: None runs all ``n_steps`` (DDPM's
        ancestral sampler); fewer runs the deterministic strided DDIM sampler
        over evenly spaced steps.
    solver, alpha, batch_size, learning_rate, learning_rate_init, \
learning_rate_decay, power_t, max_iter, shuffle, random_state, verbose, \
warm_start, momentum, nesterovs_momentum, early_stopping, validation_fraction, \
beta_1, beta_2, epsilon, n_iter_no_change, dtype, n_jobs, callbacks, device
        As for :class:`~skneuro.MLPRegressor` ("lbfgs" is not offered: the
        objective is stochastic by nature). The loss is the course's squared
        error of the predicted noise, ``1/2 * sum_j (eps_hat_j - eps_j)**2``
        per sample. ``early_stopping`` holds out ``validation_fraction`` of
        the data, noised once with fixed draws, and stops on its loss.
        ``n_iter_no_change`` defaults to 50 rather than 10: the denoising loss
        of an epoch is noisy by nature (every batch draws its own noise
        levels), and a short patience stops training far too early.
    tol : float or None, default=None
        None trains for ``max_iter`` epochs, the usual budget of a diffusion
        model, and reaching it is no ConvergenceWarning (scikit-learn's
        ``SGDClassifier`` reads ``tol=None`` the same way). A float stops
        training when the loss (the validation loss with ``early_stopping``)
        has not improved by ``tol`` for ``n_iter_no_change`` epochs, and warns
        if ``max_iter`` comes first. With ``early_stopping`` and ``tol=None``
        the best validation weights are still restored at the end.

    Attributes
    ----------
    betas_, alphas_, alphas_cumprod_ : ndarray of shape (n_steps,)
        The schedule: ``beta_t``, ``alpha_t = 1 - beta_t``, ``abar_t``.
    input_shape_ : tuple of int
        Per-sample shape of the data (before padding).
    data_min_, data_max_ : float
        The range mapped to [-1, 1].
    classes_ : ndarray
        Class labels (conditional models).
    loss_curve_, validation_loss_curve_, n_iter_, t_, network_
        As for the other estimators.

    Examples
    --------
    >>> import numpy as np
    >>> from skneuro import DDPM
    >>> X = np.random.default_rng(0).normal(size=(64, 8))
    >>> model = DDPM(n_steps=20, channels=8, max_iter=2, random_state=0).fit(X)
    >>> model.sample(3, random_state=0).shape
    (3, 8)
    """

    _parameter_constraints = {
        **{k: v for k, v in BaseNetworkEstimator._parameter_constraints.items()
           if k not in ("solver", "max_fun")},
        "solver": [StrOptions({"sgd", "adam", "rmsprop", "adagrad"})],
        "input_shape": [None, tuple, list],
        "n_steps": [Interval(Integral, 1, None, closed="left")],
        "beta_schedule": [StrOptions({"linear", "cosine"})],
        "beta_start": [Interval(Real, 0, 1, closed="neither"), None],
        "beta_end": [Interval(Real, 0, 1, closed="neither"), None],
        "channels": [Interval(Integral, 1, None, closed="left")],
        "n_levels": [Interval(Integral, 1, 6, closed="both")],
        "n_res_blocks": [Interval(Integral, 1, None, closed="left")],
        "time_embedding": [Interval(Integral, 2, None, closed="left")],
        "groups": [Interval(Integral, 1, None, closed="left")],
        "conditional": ["boolean"],
        "p_uncond": [Interval(Real, 0, 1, closed="left")],
        "guidance": [Interval(Real, 0, None, closed="left")],
        "sampling_steps": [None, Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left"), None],
    }
    _accept_sparse = False
    _predict_chunk = 256
    _n_shards = 2

    def __init__(self, input_shape=None, n_steps=200, beta_schedule="linear", *,
                 beta_start=None, beta_end=None, channels=32, n_levels=2, n_res_blocks=1,
                 time_embedding=64, groups=8, conditional=False, p_uncond=0.1, guidance=0.0,
                 sampling_steps=None, solver="adam", alpha=0.0, batch_size=64,
                 learning_rate="constant", learning_rate_init=1e-3, learning_rate_decay=0.95,
                 power_t=0.5, max_iter=100, shuffle=True, random_state=None, tol=None,
                 verbose=False, warm_start=False, momentum=0.9, nesterovs_momentum=True,
                 early_stopping=False, validation_fraction=0.1, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-8, n_iter_no_change=50, dtype="float32", n_jobs=None,
                 callbacks=None, device="cpu"):
        self.input_shape = input_shape
        self.n_steps = n_steps
        self.beta_schedule = beta_schedule
        self.beta_start = beta_start
        self.beta_end = beta_end
        self.channels = channels
        self.n_levels = n_levels
        self.n_res_blocks = n_res_blocks
        self.time_embedding = time_embedding
        self.groups = groups
        self.conditional = conditional
        self.p_uncond = p_uncond
        self.guidance = guidance
        self.sampling_steps = sampling_steps
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
        self.dtype = dtype
        self.n_jobs = n_jobs
        self.callbacks = callbacks
        self.device = device

    # -- data -----------------------------------------------------------------
    # X's layouts are the CNNs' (ShapedInputMixin): flat rows reshaped by
    # input_shape, or shaped samples; a fitted model takes either.
    def _validate_X(self, X, reset):
        """Validated X as (n, C, L) or (n, C, H, W), in float64."""
        if not reset:
            X = self._align_layout(X)
        X = validate_data(self, X, accept_sparse=False, dtype=[np.float64, np.float32],
                          allow_nd=True, reset=reset)
        if reset:
            self._flat_layout = X.ndim == 2
        return self._to_network_input(np.asarray(X, dtype=np.float64), reset)

    @property
    def _padded_shape(self):
        """The per-sample shape with spatial sizes rounded up to multiples of 2**n_levels."""
        factor = 2 ** self.n_levels
        c, *spatial = self.input_shape_
        return (c,) + tuple(-(-s // factor) * factor for s in spatial)

    def _to_model(self, X):
        """Shaped samples -> flat padded rows in [-1, 1] (the compute dtype)."""
        scale = self.data_max_ - self.data_min_
        Z = 2.0 * (X - self.data_min_) / (scale if scale > 0 else 1.0) - 1.0
        padded = np.zeros((X.shape[0],) + self._padded_shape)
        padded[(slice(None), slice(None)) + tuple(slice(0, s) for s in X.shape[2:])] = Z
        return np.ascontiguousarray(padded.reshape(X.shape[0], -1), dtype=self._compute_dtype)

    def _from_model(self, Z):
        """Flat padded rows in [-1, 1] -> samples in the data's scale and layout."""
        n = Z.shape[0]
        Z = Z.reshape((n,) + self._padded_shape)
        Z = Z[(slice(None), slice(None)) + tuple(slice(0, s) for s in self.input_shape_[1:])]
        scale = self.data_max_ - self.data_min_
        X = (np.asarray(Z, dtype=np.float64) + 1.0) / 2.0 * (scale if scale > 0 else 1.0)
        X = X + self.data_min_
        return X.reshape(n, -1) if self._flat_layout else X

    # -- the network ----------------------------------------------------------
    def _build_network(self, input_shape, n_outputs, rng):
        shape = self._padded_shape
        size = int(np.prod(shape))
        extra = 2 if self.conditional else 1
        net = Network((size + extra,))
        image = net.add(Slice(0, size, shape), "input", name="image")
        step = net.add(Slice(size, size + 1), "input", name="step")
        width = self.time_embedding
        h = net.add(SinusoidalEmbedding(width), step)
        h = net.add(Dense(width, "silu"), h)
        embedding = net.add(Dense(width, "identity"), h, name="step_embedding")
        if self.conditional:
            label = net.add(Slice(size + 1, size + 2), "input", name="label")
            onehot = net.add(OneHot(len(self.classes_) + 1), label)  # + the "no label" class
            label_emb = net.add(Dense(width, "identity"), onehot)
            embedding = net.add(Add(), [embedding, label_emb], name="embedding")
        conditioning = net.add(Activation("silu"), embedding, name="conditioning")

        def res_block(x, in_ch, out_ch):
            h = net.add(GroupNorm(_groups(in_ch, self.groups), activation="silu"), x)
            h = net.add(Conv(out_ch, 3, activation="identity"), h)
            e = net.add(Dense(out_ch, "identity"), conditioning)
            h = net.add(ChannelAdd(), [h, e])
            h = net.add(GroupNorm(_groups(out_ch, self.groups), activation="silu"), h)
            h = net.add(Conv(out_ch, 3, activation="identity"), h)
            skip = x if in_ch == out_ch else net.add(Conv(out_ch, 1, activation="identity"), x)
            return net.add(Add(), [h, skip])

        widths = [self.channels * 2 ** level for level in range(self.n_levels)]
        h = net.add(Conv(widths[0], 3, activation="identity"), image)
        skips = []
        current = widths[0]
        for width_l in widths:
            for _ in range(self.n_res_blocks):
                h = res_block(h, current, width_l)
                current = width_l
            skips.append((h, current))
            h = net.add(AvgPool(2), h)
        h = res_block(h, current, current)  # the bottleneck
        for width_l in reversed(widths):
            h = net.add(Upsample(2), h)
            skip, skip_ch = skips.pop()
            h = net.add(Concatenate(), [h, skip])
            current += skip_ch
            for _ in range(self.n_res_blocks):
                h = res_block(h, current, width_l)
                current = width_l
        h = net.add(GroupNorm(_groups(current, self.groups), activation="silu"), h)
        h = net.add(Conv(shape[0], 3, activation="identity"), h)
        net.add(Flatten(), h, name="noise")
        return net

    def _make_loss(self):
        return SquaredError()

    def _batch_transform(self, backend):
        """Each batch's noise levels and noise, drawn on the device from the step."""
        sqrt_abar = backend.asarray(np.sqrt(self.alphas_cumprod_))
        sqrt_rest = backend.asarray(np.sqrt(1.0 - self.alphas_cumprod_))
        seed = self._noise_seed
        size = int(np.prod(self._padded_shape))
        conditional = self.conditional
        null = len(self.classes_) if conditional else 0
        p_uncond = self.p_uncond
        buffers = {}

        def transform(xb, yb, wb, step):
            n = xb.shape[0]
            if n not in buffers:
                if len(buffers) >= 2:
                    buffers.clear()
                buffers[n] = (backend.empty((n, size + (2 if conditional else 1))),
                              backend.empty((n, size)))
            x_in, eps = buffers[n]
            backend.diffusion.diffusion_noise(xb, sqrt_abar, sqrt_rest, seed, step, 0, x_in,
                                              eps)
            if conditional:
                backend.diffusion.drop_labels(yb, seed, step, p_uncond, null, size + 1, x_in)
            return x_in, eps, wb
        return transform

    # -- fit (the outline is BaseNetworkEstimator._fit_outline) ----------------
    def _training_data(self, X, y, reset, incremental, classes=None):
        """Rows in the model's scale and layout; the targets are the class labels
        (the trainer's batch transform makes each batch's noisy inputs and noise)."""
        X = self._validate_X(X, reset=reset)
        if reset:
            self.data_min_ = float(X.min())
            self.data_max_ = float(X.max())
            self.betas_ = beta_schedule(self.beta_schedule, self.n_steps, self.beta_start,
                                        self.beta_end)
            self.alphas_ = 1.0 - self.betas_
            self.alphas_cumprod_ = np.cumprod(self.alphas_)
            self._noise_seed = int(make_generator(self.random_state).integers(2**62))
        labels = np.zeros(X.shape[0])
        if self.conditional:
            if y is None:
                raise ValueError("A conditional DDPM needs the class labels y.")
            y = np.asarray(y)
            if reset:
                self.classes_, encoded = np.unique(y, return_inverse=True)
            else:
                unknown = np.setdiff1d(y, self.classes_)
                if unknown.size:
                    raise ValueError(f"y holds classes not seen in the first fit: {unknown}.")
                encoded = np.searchsorted(self.classes_, y)
            labels = encoded.astype(np.float64)
        rows = self._to_model(X)
        self._n_network_outputs = rows.shape[1]
        return rows, np.ascontiguousarray(labels, dtype=self._compute_dtype), None

    def _monitored(self, validation):
        """Held-out rows noised once, with fixed draws; scored by the denoising error."""
        val_rows, val_labels, val_weight = validation
        inputs, eps = self._noised(val_rows, val_labels, SCORE_SEED)

        def score(network):
            return -self._denoising_error(inputs, eps, weight=val_weight)
        return (inputs, eps, val_weight), score

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, sample_weight=None):
        """Learn to generate samples like X.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or shaped samples
        y : array-like of shape (n_samples,), default=None
            Class labels, for ``conditional=True``; ignored otherwise.
        sample_weight : array-like of shape (n_samples,), default=None
            Weight of each sample in the mean loss.

        Returns
        -------
        self : object
            Fitted estimator.
        """
        return self._fit(X, y, sample_weight, incremental=False)

    # -- the forward process --------------------------------------------------
    def _noised(self, rows, labels, seed, t=None):
        """Inputs ``[x_t | t (| label)]`` and the noise, with numpy draws from ``seed``."""
        rng = np.random.default_rng(seed)
        n = rows.shape[0]
        if t is None:
            t = rng.integers(0, self.n_steps, size=n)
        eps = rng.standard_normal(rows.shape)
        abar = self.alphas_cumprod_[t][:, None]
        x_t = np.sqrt(abar) * rows + np.sqrt(1.0 - abar) * eps
        columns = [x_t, t[:, None].astype(np.float64)]
        if self.conditional:
            columns.append(np.asarray(labels, dtype=np.float64)[:, None])
        dtype = self._compute_dtype
        return (np.ascontiguousarray(np.hstack(columns), dtype=dtype),
                np.ascontiguousarray(eps, dtype=dtype))

    def _predict_noise(self, inputs):
        """The network's noise predictions for host input rows (the estimators' chunked,
        sharded forward pass; non-finite outputs raise)."""
        return self._forward(np.ascontiguousarray(inputs, dtype=self._compute_dtype),
                             activate=False)

    def _denoising_error(self, inputs, eps, weight=None):
        """Weighted mean over samples of the mean squared error of the predicted noise."""
        errors = ((self._predict_noise(inputs) - eps) ** 2).mean(axis=1, dtype=np.float64)
        return float(np.average(errors, weights=weight))

    def add_noise(self, X, t, random_state=None):
        """The forward process: ``x_t`` for samples X at steps ``t`` (the course's figure).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or shaped samples
        t : int or array-like of int of shape (n_samples,)
            Steps, from 0 (the first noising step) to ``n_steps - 1``.
        random_state : int, RandomState instance or None, default=None
            Seeds the noise.

        Returns
        -------
        X_t : ndarray
            In the scale and layout of the training data.
        """
        check_is_fitted(self, "network_")
        X = self._validate_X(X, reset=False)
        t = np.broadcast_to(np.asarray(t), (X.shape[0],))
        if not np.issubdtype(t.dtype, np.integer) or t.min() < 0 or t.max() >= self.n_steps:
            raise ValueError(f"t must be integers in [0, {self.n_steps - 1}], got {t!r}.")
        rows = self._to_model(X).astype(np.float64)
        seed = check_random_state(random_state).randint(np.iinfo(np.int32).max)
        eps = np.random.default_rng(seed).standard_normal(rows.shape)
        abar = self.alphas_cumprod_[t][:, None]
        return self._from_model(np.sqrt(abar) * rows + np.sqrt(1.0 - abar) * eps)

    @synchronized
    def score(self, X, y=None, sample_weight=None):
        """Negative mean denoising loss on X, with fixed noise draws.

        Each sample gets a step and noise drawn from a fixed seed, so the
        score of a model on given data never changes:
        ``-mean((eps_hat - eps)**2)`` over features, a weighted mean over
        samples; higher is better.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or shaped samples
        y : array-like of shape (n_samples,), default=None
            Class labels (conditional models); ignored otherwise.
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        score : float
        """
        check_is_fitted(self, "network_")
        X = self._validate_X(X, reset=False)
        labels = np.zeros(X.shape[0])
        if self.conditional and y is not None:
            labels = np.searchsorted(self.classes_, np.asarray(y)).astype(np.float64)
        elif self.conditional:
            labels = np.full(X.shape[0], float(len(self.classes_)))  # no label
        inputs, eps = self._noised(self._to_model(X).astype(np.float64), labels, SCORE_SEED)
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X, dtype=np.float64)
        return -self._denoising_error(inputs, eps, weight=sample_weight)

    # -- sampling -------------------------------------------------------------
    @synchronized
    def sample(self, n_samples=1, y=None, random_state=None):
        """Generate samples by running the reverse diffusion from pure noise.

        Parameters
        ----------
        n_samples : int, default=1
            Number of samples, >= 1.
        y : label or array-like of shape (n_samples,), default=None
            Classes to generate (conditional models); None generates without
            a label.
        random_state : int, RandomState instance or None, default=None
            Seeds the starting noise and the chain's noise; the same seed
            gives the same samples.

        Returns
        -------
        X : ndarray of shape (n_samples, n_features) or shaped samples
            In the scale and layout of the training data.
        """
        check_is_fitted(self, "network_")
        if not isinstance(n_samples, Integral) or isinstance(n_samples, bool) or n_samples < 1:
            raise ValueError(f"n_samples must be an integer >= 1, got {n_samples!r}.")
        labels = self._sample_labels(n_samples, y)
        rng = np.random.default_rng(check_random_state(random_state).randint(2**31 - 1))
        size = int(np.prod(self._padded_shape))
        x = rng.standard_normal((n_samples, size))
        steps = self._sampling_schedule()
        # With verbose, sampling that runs past a couple of seconds shows its
        # steps (a bar in a terminal or notebook, a line every few seconds in a
        # log). Ctrl-C stops it between two network passes, at most one step late.
        progress = Progress(len(steps), "sampling", "step") if self.verbose else None
        try:
            x = self._reverse_chain(x, steps, labels, rng, progress)
        except BaseException:
            if progress is not None:
                progress.close()
            raise
        if progress is not None:
            progress.close(summary=True)
        if not np.isfinite(x).all():
            raise FloatingPointError("Sampling produced non-finite values; the model "
                                     "diverged (lower learning_rate_init and refit).")
        return self._from_model(np.clip(x, -1.0, 1.0))

    def _reverse_chain(self, x, steps, labels, rng, progress):
        """Run the reverse chain from ``x`` over ``steps``; returns the last x."""
        abar = self.alphas_cumprod_
        for k, t in enumerate(steps):
            eps = self._guided_noise(x, t, labels)
            x0 = np.clip((x - np.sqrt(1.0 - abar[t]) * eps) / np.sqrt(abar[t]), -1.0, 1.0)
            previous = steps[k + 1] if k + 1 < len(steps) else -1
            abar_prev = abar[previous] if previous >= 0 else 1.0
            if self.sampling_steps is None or self.sampling_steps >= self.n_steps:
                # Ancestral DDPM step: the posterior q(x_{t-1} | x_t, x_0).
                beta = 1.0 - abar[t] / abar_prev
                mean = (np.sqrt(abar_prev) * beta / (1.0 - abar[t]) * x0
                        + np.sqrt(1.0 - beta) * (1.0 - abar_prev) / (1.0 - abar[t]) * x)
                if previous >= 0:
                    var = beta * (1.0 - abar_prev) / (1.0 - abar[t])
                    x = mean + np.sqrt(var) * rng.standard_normal(x.shape)
                else:
                    x = mean
            else:
                # Deterministic DDIM step (eta = 0), with the noise the clipped x0 implies.
                eps = (x - np.sqrt(abar[t]) * x0) / np.sqrt(1.0 - abar[t])
                x = np.sqrt(abar_prev) * x0 + np.sqrt(1.0 - abar_prev) * eps
            if progress is not None:
                progress.update(k + 1)
        return x

    def _sampling_schedule(self):
        """Steps of the reverse chain, from T - 1 down."""
        if self.sampling_steps is None or self.sampling_steps >= self.n_steps:
            return list(range(self.n_steps - 1, -1, -1))
        steps = np.linspace(0, self.n_steps - 1, self.sampling_steps).round().astype(int)
        return sorted(set(steps.tolist()), reverse=True)

    def _sample_labels(self, n_samples, y):
        if not self.conditional:
            return None
        if y is None:
            return np.full(n_samples, float(len(self.classes_)))
        y = np.broadcast_to(np.asarray(y), (n_samples,))
        unknown = np.setdiff1d(y, self.classes_)
        if unknown.size:
            raise ValueError(f"y holds classes the model was not fitted on: {unknown}; "
                             f"classes are {self.classes_.tolist()}.")
        return np.searchsorted(self.classes_, y).astype(np.float64)

    def _guided_noise(self, x, t, labels):
        """The predicted noise at step t (with classifier-free guidance if asked)."""
        n = x.shape[0]
        steps = np.full((n, 1), float(t))
        if not self.conditional:
            return self._predict_noise(np.hstack([x, steps])).astype(np.float64)
        eps = self._predict_noise(np.hstack([x, steps, labels[:, None]])).astype(np.float64)
        null = float(len(self.classes_))
        if self.guidance > 0 and not np.all(labels == null):
            free = self._predict_noise(np.hstack([x, steps, np.full((n, 1), null)]))
            eps = (1.0 + self.guidance) * eps - self.guidance * free.astype(np.float64)
        return eps

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        tags.target_tags.required = False
        return tags

