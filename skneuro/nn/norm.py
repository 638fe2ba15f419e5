"""Normalization layers: group and layer normalization (per sample)."""

from skneuro.kernels.codes import CODES as ACTIVATION_CODES
from skneuro.nn.layers import Layer, _default_slope


class GroupNorm(Layer):
    """Group normalization (Wu & He 2018), with a learned scale and shift per channel.

    Each sample's channels are split into ``groups`` groups; each group is
    normalized over its channels and positions to zero mean and unit
    variance, then channel ``c`` is scaled by ``gamma[c]`` and shifted by
    ``beta[c]``. Statistics are per sample: training and prediction compute
    the same thing, and no batch statistics are kept.

    Parameters
    ----------
    groups : int, default=8
        Number of groups; must divide the number of channels (the first
        axis of the per-sample shape; a flat ``(F,)`` input has F channels of
        one position).
    eps : float, default=1e-5
        Added to the variance.
    activation : str, default="identity"
        An activation applied in the same pass (as for
        :class:`~skneuro.nn.Dense`, with the activation's default slope): a
        U-Net's normalization + SiLU is one layer, one pass over the feature
        maps each way.
    """

    op = "group_norm"

    #: Layers pickled before the fused activation existed have none.
    activation = "identity"

    def __init__(self, groups=8, eps=1e-5, activation="identity"):
        super().__init__()
        if int(groups) < 1:
            raise ValueError(f"groups must be >= 1, got {groups!r}.")
        if not eps > 0:
            raise ValueError(f"eps must be > 0, got {eps!r}.")
        if activation not in ACTIVATION_CODES:
            raise ValueError(f"Unknown activation {activation!r}; "
                             f"expected one of {sorted(ACTIVATION_CODES)}.")
        self.groups = int(groups)
        self.eps = float(eps)
        self.activation = activation

    def _describe(self):
        return f"{self.groups}, {self._describe_options()}"

    def _describe_options(self):
        """``eps`` and, when there is one, the fused activation (shared with LayerNorm)."""
        fused = "" if self.activation == "identity" else f", activation={self.activation!r}"
        return f"eps={self.eps!r}{fused}"

    def _code_and_slope(self):
        return (ACTIVATION_CODES[self.activation],
                self.backend.scalar(_default_slope(self.activation)))

    def _build(self, input_shapes, rng):
        import numpy as np

        shape = tuple(input_shapes[0])
        channels = int(shape[0])
        if channels % self.groups:
            raise ValueError(f"{type(self).__name__} with {self.groups} groups needs a "
                             f"channel count divisible by {self.groups}, got {channels} "
                             f"channels (input shape {shape}).")
        self._channels = channels
        self.params = {"gamma": self.backend.asarray(np.ones(channels)),
                       "beta": self.backend.zeros((channels,))}
        return shape

    def forward(self, inputs, training=False):
        x = inputs[0]
        ops = self.backend
        n = x.shape[0]
        x3 = x.reshape(n, self._channels, -1)
        out = self._buffer("out", x.shape)
        xhat = self._buffer("xhat", x3.shape)
        inv_std = self._buffer("inv_std", (n, self.groups), dtype="float64")
        code, slope = self._code_and_slope()
        ops.norm.group_norm_forward(x3, self.groups, self.params["gamma"], self.params["beta"],
                                    self.eps, code, slope, out.reshape(x3.shape), xhat, inv_std)
        self._cache_xhat = xhat
        self._cache_inv_std = inv_std
        return out

    def backward(self, grad):
        n = grad.shape[0]
        g3 = grad.reshape(n, self._channels, -1)
        dx = self._buffer("dx", grad.shape)
        code, slope = self._code_and_slope()
        self.backend.norm.group_norm_backward(g3, self._cache_xhat, self._cache_inv_std,
                                              self.params["gamma"], self.params["beta"],
                                              self.groups, code, slope, dx.reshape(g3.shape),
                                              self.grads["gamma"], self.grads["beta"])
        return [dx]


class LayerNorm(GroupNorm):
    """Layer normalization (Ba et al. 2016): each sample over all its features.

    :class:`GroupNorm` with one group, with a scale and shift per channel
    (per feature for flat inputs).

    Parameters
    ----------
    eps : float, default=1e-5
    activation : str, default="identity"
        As for :class:`GroupNorm`.
    """

    def __init__(self, eps=1e-5, activation="identity"):
        super().__init__(groups=1, eps=eps, activation=activation)

    def _describe(self):
        return self._describe_options()
