"""Losses: the value and the gradient with respect to the network's output.

Each loss pairs with the activation applied to the output at prediction time:
the network's last layer emits raw outputs, the loss fuses the output
activation where that is more stable (softmax with cross-entropy, sigmoid with
binary cross-entropy), and :meth:`activate` applies it for predictions.

``weight`` is a per-row weight normalized to sum to one over the batch, so
every loss is a weighted mean over rows of a per-row sum over outputs.
"""


class Loss:
    """Base class: buffers and the common call."""

    #: Name of the output activation applied by :meth:`activate`.
    output_activation = "identity"
    #: Whether targets are integer class labels (else float arrays).
    integer_targets = False

    def __init__(self):
        self.backend = None
        self._buffers = {}

    def bind(self, backend):
        """Attach a backend (keeping the buffers if it is the same one)."""
        if backend is not self.backend:
            self.backend = backend
            self._buffers = {}
        return self

    def _buffers_for(self, shape):
        bufs = self._buffers.get(shape)
        if bufs is None:
            if len(self._buffers) >= 4:
                self._buffers.clear()
            bufs = self._buffers[shape] = (
                self.backend.empty(shape), self.backend.empty((shape[0],)))
        return bufs

    def __call__(self, output, target, weight):
        """Compute the loss of every row and d loss / d output; return the gradient.

        The gradient and the row losses are buffers owned by the loss, valid
        until the next call; :meth:`accumulate` adds the weighted loss into an
        accumulator without leaving the device.
        """
        grad, row_loss = self._buffers_for(output.shape)
        self._kernel()(output, target, weight, grad, row_loss)
        self._row_loss = row_loss
        self.grad = grad
        return grad

    def accumulate(self, weight, scale, acc):
        """``acc[0] += scale * sum(weight * row_loss)`` for the last call's rows."""
        self.backend.losses.weighted_sum(self._row_loss, weight, scale, acc)

    def value(self, output, target, weight):
        """The weighted mean loss as a Python float (one device-to-host copy)."""
        self(output, target, weight)
        acc = self.backend.zeros((1,), dtype="float64")
        self.accumulate(weight, 1.0, acc)
        return float(self.backend.to_host(acc)[0])

    def activate(self, output):
        """Apply the output activation in place (for predictions)."""

    def replicate(self):
        """A copy with its own buffers, for one shard of a batch."""
        clone = object.__new__(type(self))  # not copy.copy: __getstate__ drops the backend
        clone.__dict__.update(self.__dict__)
        clone._buffers = {}
        return clone

    def __getstate__(self):
        return {k: v for k, v in self.__dict__.items()
                if k not in ("backend", "_buffers", "_row_loss", "grad")}

    def __setstate__(self, state):
        self.__dict__.update(state)
        self.backend = None
        self._buffers = {}


class SquaredError(Loss):
    """``E = 1/2 * sum_j (a_j - t_j)**2``, the course's error function."""

    def _kernel(self):
        return self.backend.losses.squared_error


class SoftmaxCrossEntropy(Loss):
    """Cross-entropy of the softmax of the outputs with integer class labels."""

    output_activation = "softmax"
    integer_targets = True

    def _kernel(self):
        return self.backend.losses.softmax_cross_entropy

    def activate(self, output):
        self.backend.losses.softmax(output)


class SigmoidBinaryCrossEntropy(Loss):
    """Binary cross-entropy of independent sigmoid outputs (binary and multilabel)."""

    output_activation = "sigmoid"

    def _kernel(self):
        return self.backend.losses.sigmoid_binary_cross_entropy

    def activate(self, output):
        self.backend.losses.sigmoid(output)


class PoissonDeviance(Loss):
    """Half Poisson deviance with a log link: the output is ``log`` of the mean.

    Per output ``exp(z) - t*z + t*log(t) - t``, scikit-learn's
    ``HalfPoissonLoss`` with its constant, so the loss is 0 at a perfect fit.
    """

    output_activation = "exp"

    def _kernel(self):
        return self.backend.losses.poisson_deviance

    def activate(self, output):
        self.backend.losses.exp(output)


class VAELoss(Loss):
    """A variational autoencoder's loss: squared error plus a weighted KL divergence.

    The network's output rows are ``[reconstruction (m) | mu (k) | logvar
    (k)]`` and the targets the ``m`` clean inputs. Per row,

    ``1/2 * sum_j (a_j - t_j)**2 + kl_weight * 1/2 * sum_l (mu_l**2 +
    exp(logvar_l) - 1 - logvar_l)``,

    the course's squared error plus ``kl_weight`` times the KL divergence of
    the encoder's Gaussian ``N(mu, exp(logvar))`` from the prior N(0, 1).
    With ``kl_weight=1`` this is the negative evidence lower bound of a
    decoder with unit noise variance (up to a constant); a decoder noise
    variance ``s**2`` corresponds to ``kl_weight = s**2`` (a beta-VAE).

    Parameters
    ----------
    kl_weight : float, default=1.0
        Weight of the KL term, >= 0.
    """

    def __init__(self, kl_weight=1.0):
        super().__init__()
        if not kl_weight >= 0:
            raise ValueError(f"kl_weight must be >= 0, got {kl_weight!r}.")
        self.kl_weight = float(kl_weight)

    def __call__(self, output, target, weight):
        grad, row_loss = self._buffers_for(output.shape)
        self.backend.losses.vae_squared_error(output, target, weight,
                                              self.backend.scalar(self.kl_weight), grad,
                                              row_loss)
        self._row_loss = row_loss
        self.grad = grad
        return grad
