"""Shaped input: flat rows or images and signals, for every convolutional estimator.

CNNClassifier, CNNRegressor, the convolutional AutoEncoder and DDPM take X
as flat rows reshaped by ``input_shape`` (or the spec's ``I-`` token), or as
shaped samples ``(n, C, L)`` / ``(n, C, H, W)``; a fitted model takes either
layout. :class:`ShapedInputMixin` is that one component: the estimators
inherit it, so the rules and their error messages are written once.
"""

import numpy as np

from skneuro.nn.spec import parse_spec

#: Rows per prediction chunk for networks with convolutions: a convolution
#: unfolds each sample into (positions x window) values; 256 samples of the
#: course's MNIST network keep ~100 MB of buffers, 16384 would keep gigabytes.
CONVOLUTIONAL_PREDICT_CHUNK = 256

#: Shards per batch on the CPU for networks with convolutions (see
#: :mod:`skneuro.backends.cpu.shards`): their kernels outside BLAS use both cores.
CONVOLUTIONAL_SHARDS = 2


class ShapedInputMixin:
    """X as flat rows or shaped samples, reshaped to the network's per-sample shape.

    The estimator provides ``input_shape`` (a parameter, may be None) and,
    optionally, ``layers`` in the course's notation whose ``I-`` token
    declares the shape. Fitting sets ``input_shape_``.
    """

    def _declared_input_shape(self):
        """``input_shape`` from the parameter or from the spec's ``I-`` token."""
        shape = self.input_shape
        layers = getattr(self, "layers", None)  # DDPM has no spec
        if shape is None and isinstance(layers, str):
            shape = parse_spec(layers)[0]
        if shape is None:
            return None
        shape = tuple(int(s) for s in shape)
        if len(shape) not in (2, 3) or any(s < 1 for s in shape):
            raise ValueError("input_shape must be (C, L) or (C, H, W) with positive sizes, "
                             f"got {shape!r}.")
        return shape

    def _align_layout(self, X):
        """Flat rows or shaped samples, in the layout the model was fitted on.

        A fitted model takes either layout (to predict, or to continue
        training): X is reshaped first, so that validate_data's feature count
        agrees.
        """
        if hasattr(self, "input_shape_") and isinstance(X, np.ndarray):
            size = int(np.prod(self.input_shape_))
            fitted_flat = self.n_features_in_ == size
            if X.ndim > 4:
                raise ValueError(f"X must have 2 to 4 dimensions, got {X.ndim}.")
            if X.ndim > 2 and int(np.prod(X.shape[1:])) != size:
                raise ValueError(
                    f"X has samples of shape {X.shape[1:]}, but {type(self).__name__} was "
                    f"fitted on samples of shape {self.input_shape_} ({size} features per "
                    "row when flat).")
            if X.ndim > 2 and fitted_flat and int(np.prod(X.shape[1:])) == size:
                return X.reshape(X.shape[0], size)
            if X.ndim == 2 and not fitted_flat and X.shape[1] == size:
                return X.reshape((X.shape[0],) + self.input_shape_)
        return X

    def _to_network_input(self, X, reset):
        """Flat rows -> (n, C, L) or (n, C, H, W); shaped arrays are checked."""
        if reset:
            declared = self._declared_input_shape()
            if X.ndim == 2:
                shape = declared if declared is not None else (1, X.shape[1])
                if int(np.prod(shape)) != X.shape[1]:
                    raise ValueError(f"input_shape {shape} has {int(np.prod(shape))} "
                                     f"values per sample but X has {X.shape[1]} features.")
            else:
                # Shaped samples are (C, L) or (C, H, W), as input_shape; with an
                # input_shape, any array of the same size per sample is reshaped.
                if X.ndim > 4:
                    raise ValueError(f"X must have 2 to 4 dimensions, got {X.ndim}.")
                shape = tuple(X.shape[1:])
                if declared is not None:
                    if int(np.prod(declared)) != int(np.prod(shape)):
                        raise ValueError(f"X has samples of shape {shape} but input_shape "
                                         f"is {declared}.")
                    shape = declared
            self.input_shape_ = tuple(int(s) for s in shape)
        shape = self.input_shape_
        if X.ndim == 2 and X.shape[1] != int(np.prod(shape)):
            raise ValueError(f"X has {X.shape[1]} features, but {type(self).__name__} is "
                             f"expecting {int(np.prod(shape))} features as input.")
        if X.ndim > 2 and int(np.prod(X.shape[1:])) != int(np.prod(shape)):
            raise ValueError(f"X has samples of shape {X.shape[1:]}, but "
                             f"{type(self).__name__} was fitted on {shape}.")
        return np.ascontiguousarray(X).reshape((X.shape[0],) + shape)
