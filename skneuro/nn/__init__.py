"""The engine: layers, the network graph, losses, optimizers, schedules and training.

The engine knows arrays and a backend; it never imports scikit-learn.
"""

from skneuro.nn.augment import Augment
from skneuro.nn.backend import CPUBackend, CUDABackend, get_backend
from skneuro.nn.callbacks import Callback, ProgressPrinter
from skneuro.nn.conv import AvgPool, Conv, Flatten, MaxPool
from skneuro.nn.conv_transpose import ConvTranspose
from skneuro.nn.embedding import ChannelAdd, OneHot, SinusoidalEmbedding
from skneuro.nn.gaussian import GaussianNoise, GaussianSampling
from skneuro.nn.layers import Activation, Add, Concatenate, Dense, Dropout, Layer, Slice
from skneuro.nn.losses import (
    PoissonDeviance,
    SigmoidBinaryCrossEntropy,
    SoftmaxCrossEntropy,
    SquaredError,
    VAELoss,
)
from skneuro.nn.memory import NetworkTooLargeError
from skneuro.nn.network import Network
from skneuro.nn.norm import GroupNorm, LayerNorm
from skneuro.nn.optimizers import SGD, Adagrad, Adam, RMSprop, make_optimizer
from skneuro.nn.resample import Crop, Reshape, Upsample
from skneuro.nn.schedules import make_schedule
from skneuro.nn.trainer import DivergenceError, Trainer

__all__ = [
    "CPUBackend", "CUDABackend", "get_backend",
    "Callback", "ProgressPrinter",
    "Activation", "Add", "Concatenate", "Dense", "Dropout", "Layer", "Slice",
    "ChannelAdd", "OneHot", "SinusoidalEmbedding",
    "Augment", "AvgPool", "Conv", "ConvTranspose", "Crop", "Flatten", "GaussianNoise",
    "GaussianSampling", "MaxPool", "Reshape", "Upsample",
    "PoissonDeviance", "SigmoidBinaryCrossEntropy", "SoftmaxCrossEntropy", "SquaredError",
    "VAELoss",
    "GroupNorm", "LayerNorm",
    "Network", "SGD", "Adagrad", "Adam", "RMSprop", "make_optimizer", "make_schedule",
    "DivergenceError", "NetworkTooLargeError", "Trainer",
]
