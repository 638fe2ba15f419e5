"""Weight initialization."""

import numpy as np

from skneuro.nn.memory import SHAPES_ONLY, ShapeOnly

_RELU_LIKE = {"relu", "leaky_relu"}


def initialize_weights(shape, activation, method, rng):
    """Draw a weight matrix of ``shape = (fan_in, fan_out)``.

    Parameters
    ----------
    shape : tuple of int
        ``(fan_in, fan_out)``; for convolutions ``fan_in`` includes the kernel size.
    activation : str
        Activation that follows the weights; chooses the "auto" method.
    method : {"auto", "glorot_uniform", "he_uniform", "small"}
        "glorot_uniform": U(-s, s) with s = sqrt(6 / (fan_in + fan_out))
        (Glorot & Bengio 2010); "he_uniform": s = sqrt(6 / fan_in) (He et al.
        2015), suited to ReLU; "small": U(-0.1, 0.1), the course's small random
        values; "auto": He for ReLU and leaky ReLU, Glorot otherwise.
    rng : numpy.random.Generator

    Returns
    -------
    weights : ndarray of float64
    """
    fan_in, fan_out = shape[0], int(np.prod(shape[1:]))
    if method == "auto":
        method = "he_uniform" if activation in _RELU_LIKE else "glorot_uniform"
    if method == "glorot_uniform":
        bound = np.sqrt(6.0 / (fan_in + fan_out))
    elif method == "he_uniform":
        bound = np.sqrt(6.0 / fan_in)
    elif method == "small":
        bound = 0.1
    else:
        raise ValueError(f"Unknown initialization {method!r}; expected 'auto', "
                         "'glorot_uniform', 'he_uniform' or 'small'.")
    if SHAPES_ONLY.get():  # Network.build measuring the network: draw nothing
        return ShapeOnly(shape)
    return rng.uniform(-bound, bound, size=shape)
