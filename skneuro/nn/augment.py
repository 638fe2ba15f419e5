"""Data augmentation as a layer: active while training, the identity otherwise.

Placed first in a network, it transforms every training batch (never a
prediction, never the validation set, which the trainer runs with
``training=False``). Its draws come from the counter-based generator of
:mod:`skneuro.kernels._random`, seeded when the layer is built, so
augmentation is reproducible from ``random_state`` and the same on every
device.
"""

from skneuro.nn.conv import _as_2d
from skneuro.nn.layers import Layer


class Augment(Layer):
    """Random shifts, flips, Gaussian noise and brightness, per training sample.

    Parameters
    ----------
    shift : int, default=0
        Largest shift, in pixels (samples for 1-D signals), along each spatial
        axis; what comes in is zero.
    flip : bool, default=False
        Mirror left-right with probability 1/2 (off by default: digits must
        not be mirrored).
    noise : float, default=0.0
        Standard deviation of added Gaussian noise.
    brightness : float, default=0.0
        Multiply each sample by a factor drawn in [1 - brightness, 1 + brightness].
    """

    #: Row of the batch where this layer's rows start (see :meth:`start_shard`).
    first_row = 0

    identity_at_prediction = True

    def __init__(self, shift=0, flip=False, noise=0.0, brightness=0.0):
        super().__init__()
        if int(shift) < 0 or noise < 0 or not 0 <= brightness < 1:
            raise ValueError("Augment needs shift >= 0, noise >= 0 and 0 <= brightness < 1; "
                             f"got shift={shift!r}, noise={noise!r}, "
                             f"brightness={brightness!r}.")
        self.shift = int(shift)
        self.flip = bool(flip)
        self.noise = float(noise)
        self.brightness = float(brightness)
        self.seed = 0
        self.step = 0
        self.first_row = 0

    def _describe(self):
        return (f"shift={self.shift}, flip={self.flip}, noise={self.noise}, "
                f"brightness={self.brightness}")

    def _build(self, input_shapes, rng):
        self._shape4 = _as_2d(tuple(input_shapes[0]))
        self.seed = int(rng.integers(2**62))
        self.step = 0
        return tuple(input_shapes[0])

    @property
    def active(self):
        return self.shift > 0 or self.flip or self.noise > 0 or self.brightness > 0

    def forward(self, inputs, training=False):
        x = inputs[0]
        if not (training and self.active):
            return x
        n = x.shape[0]
        out = self._buffer("out", x.shape)
        ops = self.backend
        ops.augment.augment(x.reshape((n,) + self._shape4), self.seed, self.step,
                            self.first_row, self.shift,
                            self.flip, ops.scalar(self.noise), ops.scalar(self.brightness),
                            out.reshape((n,) + self._shape4))
        self.step += 1
        return out

    def start_shard(self, original, first_row):
        self.step = original.step
        self.first_row = first_row

    def backward(self, grad):
        if self.need_input_grad:
            raise NotImplementedError("Augment must be the first layer of a network: it "
                                      "has no gradient with respect to its input.")
        return [None]
