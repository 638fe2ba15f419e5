"""skneuro: neural networks as scikit-learn estimators, computed by Numba kernels.

Estimators
----------
Perceptron
    Rosenblatt's perceptron, as in the course.
MLPClassifier, MLPRegressor
    Multi-layer perceptrons with scikit-learn's parameter names.
CNNClassifier, CNNRegressor
    Convolutional networks over 1-D signals and 2-D images.
AutoEncoder
    Dense or convolutional autoencoders (plain, denoising, variational) as
    transformers.
DDPM
    A denoising diffusion probabilistic model with a U-Net, which learns to
    generate samples.

The engine (layers, network graph, optimizers, training loop) is in
:mod:`skneuro.nn`; the compiled kernels are in :mod:`skneuro.kernels`.
"""

__version__ = "0.1.0.dev0"

__all__ = ["AutoEncoder", "CNNClassifier", "CNNRegressor", "DDPM", "MLPClassifier",
           "MLPRegressor", "Perceptron"]


def __getattr__(name):
    # Estimators import scikit-learn and Numba; loading them on first use
    # keeps `import skneuro` (and `python -m skneuro --help`) fast.
    if name in ("MLPClassifier", "MLPRegressor"):
        from skneuro import mlp

        return getattr(mlp, name)
    if name in ("CNNClassifier", "CNNRegressor"):
        from skneuro import cnn

        return getattr(cnn, name)
    if name == "AutoEncoder":
        from skneuro.autoencoder import AutoEncoder

        return AutoEncoder
    if name == "DDPM":
        from skneuro.ddpm import DDPM

        return DDPM
    if name == "Perceptron":
        from skneuro.perceptron import Perceptron

        return Perceptron
    raise AttributeError(f"module 'skneuro' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + __all__)
