"""Weight initialization."""

import numpy as np

from skneuro.nn.memory import SHAPES_ONLY, ShapeOnly

_RELU_LIKE = {"relu", "leaky_relu"}


#: The ``init`` methods every layer with weights accepts.
INIT_METHODS = ("auto", "glorot_uniform", "he_uniform", "small", "scikit-learn")


def initialize(shape, activation, method, rng):
    """Draw a weight matrix of ``shape = (fan_in, fan_out)`` and its biases.

    Parameters
    ----------
    shape : tuple of int
        ``(fan_in, fan_out)``; for convolutions ``fan_in`` includes the kernel size.
    activation : str
        Activation that follows the weights; chooses the "auto" method.
    method : {"auto", "glorot_uniform", "he_uniform", "small", "scikit-learn"}
        "glorot_uniform": U(-s, s) with s = sqrt(6 / (fan_in + fan_out))
        (Glorot & Bengio 2010); "he_uniform": s = sqrt(6 / fan_in) (He et al.
        2015), suited to ReLU; "small": U(-0.1, 0.1), the course's small random
        values; "auto": He for ReLU and leaky ReLU, Glorot otherwise;
        "scikit-learn": scikit-learn's MLP scheme, s = sqrt(2 / (fan_in +
        fan_out)) before a sigmoid and sqrt(6 / (fan_in + fan_out)) otherwise,
        the biases drawn from the same U(-s, s). The other methods start the
        biases at zero.
    rng : numpy.random.Generator

    Returns
    -------
    weights : ndarray of float64, shape ``shape``
    biases : ndarray of float64, shape ``(fan_out,)``
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
    elif method == "scikit-learn":
        factor = 2.0 if activation in ("sigmoid", "logistic") else 6.0
        bound = np.sqrt(factor / (fan_in + fan_out))
    else:
        raise ValueError(f"Unknown initialization {method!r}; expected one of "
                         f"{', '.join(repr(m) for m in INIT_METHODS)}.")
    if SHAPES_ONLY.get():  # Network.build measuring the network: draw nothing
        return ShapeOnly(shape), ShapeOnly((fan_out,))
    weights = rng.uniform(-bound, bound, size=shape)
    if method == "scikit-learn":
        return weights, rng.uniform(-bound, bound, size=fan_out)
    return weights, np.zeros(fan_out)
