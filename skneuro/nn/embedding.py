"""Conditioning a network on a number: the diffusion step's sinusoidal embedding,
and the layer that adds a per-sample vector to every position of feature maps."""

from skneuro.nn.layers import Layer


class SinusoidalEmbedding(Layer):
    """Embed one number per sample (a diffusion step) as sines and cosines.

    Input: per-sample shape ``(1,)``; output ``(dim,)``: ``sin(t * f_k)`` then
    ``cos(t * f_k)`` for ``dim // 2`` frequencies ``f_k`` spaced geometrically
    from 1 down to ``1 / max_period``. No parameters; its input is data (the
    step), so it returns no input gradient.

    Parameters
    ----------
    dim : int
        Width of the embedding (>= 2).
    max_period : float, default=10000.0
    """

    def __init__(self, dim, max_period=10000.0):
        super().__init__()
        if int(dim) < 2:
            raise ValueError(f"dim must be >= 2, got {dim!r}.")
        if not max_period > 1:
            raise ValueError(f"max_period must be > 1, got {max_period!r}.")
        self.dim = int(dim)
        self.max_period = float(max_period)

    def _describe(self):
        return f"{self.dim}, max_period={self.max_period!r}"

    def _build(self, input_shapes, rng):
        if tuple(input_shapes[0]) != (1,):
            raise ValueError(f"SinusoidalEmbedding takes one number per sample, got "
                             f"per-sample shape {tuple(input_shapes[0])}.")
        return (self.dim,)

    def forward(self, inputs, training=False):
        t = inputs[0]
        n = t.shape[0]
        out = self._buffer("out", (n, self.dim))
        self.backend.embedding.sinusoidal_embedding(t.reshape(n), self.max_period, out)
        return out

    def backward(self, grad):
        return [None]


class ChannelAdd(Layer):
    """``x + e`` with ``e`` of one value per channel, added at every position.

    Inputs: feature maps ``(C, ...)`` and a vector ``(C,)`` per sample (e.g.
    a projected time embedding, as in a diffusion U-Net's residual blocks).
    """

    op = "channel_add"

    n_inputs = 2

    def _build(self, input_shapes, rng):
        maps, vector = (tuple(s) for s in input_shapes)
        if vector != (maps[0],):
            raise ValueError(f"ChannelAdd needs a vector of one value per channel: maps "
                             f"{maps} take a vector of shape ({maps[0]},), got {vector}.")
        return maps

    def forward(self, inputs, training=False):
        x, e = inputs
        n = x.shape[0]
        c = self.output_shape[0]
        out = self._buffer("out", x.shape)
        self.backend.embedding.add_channel_vector(x.reshape(n, c, -1), e,
                                                  out.reshape(n, c, -1))
        return out

    def backward(self, grad):
        n = grad.shape[0]
        c = self.output_shape[0]
        de = self._buffer("de", (n, c))
        self.backend.embedding.channel_sums(grad.reshape(n, c, -1), de)
        return [grad, de]


class OneHot(Layer):
    """One number per sample (a class index, stored as a float) as a one-hot row.

    Followed by a :class:`~skneuro.nn.Dense` layer it is a learned class
    embedding. Its input is data, so it returns no input gradient.

    Parameters
    ----------
    n_values : int
        Width of the one-hot rows (class indices 0 to ``n_values - 1``).
    """

    def __init__(self, n_values):
        super().__init__()
        if int(n_values) < 1:
            raise ValueError(f"n_values must be >= 1, got {n_values!r}.")
        self.n_values = int(n_values)

    def _describe(self):
        return repr(self.n_values)

    def _build(self, input_shapes, rng):
        if tuple(input_shapes[0]) != (1,):
            raise ValueError(f"OneHot takes one number per sample, got per-sample shape "
                             f"{tuple(input_shapes[0])}.")
        return (self.n_values,)

    def forward(self, inputs, training=False):
        labels = inputs[0]
        n = labels.shape[0]
        out = self._buffer("out", (n, self.n_values))
        self.backend.embedding.one_hot(labels.reshape(n), out)
        return out

    def backward(self, grad):
        return [None]
