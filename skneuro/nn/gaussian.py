"""Layers that draw Gaussian numbers: input noise and the reparameterization trick.

Both draw from the counter-based generator of :mod:`skneuro.kernels._random`
(Box-Muller, see :mod:`skneuro.kernels.cpu.gaussian`), seeded when the layer
is built, with a step counter advanced at every training batch: reproducible
from ``random_state``, the same on every device, and the same whether a batch
runs whole or in shards (:meth:`start_shard`). Neither draws anything when
not training, so predictions are deterministic.
"""

from skneuro.nn.layers import Layer


class _Drawing(Layer):
    """Seed, step and shard offset of a layer that draws random numbers."""

    #: Row of the batch where this layer's rows start (see :meth:`start_shard`).
    first_row = 0

    def __init__(self):
        super().__init__()
        self.seed = 0
        self.step = 0
        self.first_row = 0

    def _draw_seed(self, rng):
        self.seed = int(rng.integers(2**62))
        self.step = 0

    def start_shard(self, original, first_row):
        """Draw, for rows from ``first_row`` on, what ``original`` draws for its batch."""
        self.step = original.step
        self.first_row = first_row


class GaussianNoise(_Drawing):
    """Add Gaussian noise while training; the identity otherwise.

    Placed first, it turns a network into a denoising autoencoder: the
    inputs are corrupted during fit only (never at prediction, never on the
    validation set, which the trainer runs with ``training=False``), while
    the targets stay clean. Unlike :class:`~skneuro.nn.Augment`, it takes
    samples of any shape and may sit anywhere in a network (its gradient is
    the identity).

    Parameters
    ----------
    std : float
        Standard deviation of the noise, >= 0.
    """

    identity_at_prediction = True

    def __init__(self, std):
        super().__init__()
        if not std >= 0:
            raise ValueError(f"The noise's standard deviation must be >= 0, got {std!r}.")
        self.std = float(std)

    def _describe(self):
        return repr(self.std)

    def _build(self, input_shapes, rng):
        self._draw_seed(rng)
        return tuple(input_shapes[0])

    def forward(self, inputs, training=False):
        x = inputs[0]
        if not (training and self.std > 0):
            return x
        n = x.shape[0]
        out = self._buffer("out", x.shape)
        ops = self.backend
        ops.gaussian.gaussian_noise(x.reshape(n, -1), self.seed, self.step, self.first_row,
                                    ops.scalar(self.std), out.reshape(n, -1))
        self.step += 1
        return out

    def backward(self, grad):
        return [grad if self.need_input_grad else None]


class GaussianSampling(_Drawing):
    """The reparameterization of a variational autoencoder.

    Reads ``[mu | logvar]`` (``2k`` values per sample, the mean and the log
    variance of a diagonal Gaussian) and outputs ``k`` values: while
    training, a sample ``z = mu + exp(logvar / 2) * eps`` with ``eps`` drawn
    from N(0, 1), through which gradients reach ``mu`` and ``logvar``;
    otherwise the mean ``z = mu``, so predictions are deterministic.
    """

    def _build(self, input_shapes, rng):
        shape = tuple(input_shapes[0])
        if len(shape) != 1 or shape[0] % 2:
            raise ValueError("GaussianSampling reads [mu | logvar], an even number of values "
                             f"per sample; got per-sample shape {shape}.")
        self._draw_seed(rng)
        return (shape[0] // 2,)

    def forward(self, inputs, training=False):
        stats = inputs[0]
        n = stats.shape[0]
        k = self.output_shape[0]
        out = self._buffer("out", (n, k))
        eps = self._buffer("eps", (n, k))
        self.backend.gaussian.gaussian_sample_forward(stats, self.seed, self.step,
                                                      self.first_row, bool(training), out, eps)
        if training:
            self.step += 1
        self._cache_stats = stats
        self._cache_eps = eps
        return out

    def backward(self, grad):
        dstats = self._buffer("dstats", self._cache_stats.shape)
        self.backend.gaussian.gaussian_sample_backward(grad, self._cache_stats,
                                                       self._cache_eps, dstats)
        return [dstats]
