"""Learning-rate schedules.

A schedule gives the learning rate for the coming epoch from the number of
epochs it has run and the number of samples seen, and may react at the end of an epoch
(``"adaptive"`` divides the rate when training stalls).
"""

import math


class Schedule:
    """Constant learning rate ``eta0``."""

    def __init__(self, eta0):
        self.eta0 = float(eta0)
        self.current = self.eta0

    def rate(self, epoch, samples_seen):
        """Learning rate for the next epoch."""
        return self.current

    def stalled(self, verbose=False):
        """Training stopped improving. Return True to stop, False to go on."""
        return True


class InvScaling(Schedule):
    """scikit-learn's ``invscaling``: ``eta0 / (samples_seen + 1) ** power_t``."""

    def __init__(self, eta0, power_t=0.5):
        super().__init__(eta0)
        self.power_t = power_t

    def rate(self, epoch, samples_seen):
        self.current = self.eta0 / (samples_seen + 1) ** self.power_t
        return self.current


class Adaptive(Schedule):
    """scikit-learn's ``adaptive``: divide by 5 each time training stalls, until 1e-6."""

    def stalled(self, verbose=False):
        if self.current <= 1e-6:
            return True
        self.current /= 5.0
        if verbose:
            print(f"Setting learning rate to {self.current:f}")
        return False


class LinearDecay(Schedule):
    """Linear decay from ``eta0`` to ``eta0 / 100`` over ``max_iter`` epochs, then constant.

    The floor keeps training going when more epochs follow (``partial_fit``).
    """

    def __init__(self, eta0, max_iter):
        super().__init__(eta0)
        self.max_iter = max_iter

    def rate(self, epoch, samples_seen):
        progress = min(epoch / self.max_iter, 1.0)
        self.current = self.eta0 * (1.0 - 0.99 * progress)
        return self.current


class ExponentialDecay(Schedule):
    """``eta0 * decay ** epoch``: the course's learning-rate decay."""

    def __init__(self, eta0, decay):
        super().__init__(eta0)
        self.decay = decay

    def rate(self, epoch, samples_seen):
        self.current = self.eta0 * math.pow(self.decay, epoch)
        return self.current


def make_schedule(name, eta0, power_t=0.5, max_iter=200, decay=0.95):
    """Build the schedule called ``name``.

    Parameters
    ----------
    name : {"constant", "invscaling", "adaptive", "linear", "exponential"}
    eta0 : float
        Initial learning rate.
    power_t : float, default=0.5
        Exponent of "invscaling".
    max_iter : int, default=200
        Epoch at which "linear" reaches its floor, ``eta0 / 100``.
    decay : float, default=0.95
        Per-epoch factor of "exponential".
    """
    if name == "constant":
        return Schedule(eta0)
    if name == "invscaling":
        return InvScaling(eta0, power_t)
    if name == "adaptive":
        return Adaptive(eta0)
    if name == "linear":
        return LinearDecay(eta0, max_iter)
    if name == "exponential":
        return ExponentialDecay(eta0, decay)
    raise ValueError(f"Unknown learning-rate schedule {name!r}.")
