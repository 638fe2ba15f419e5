"""The course's compact notation for networks, parsed into layers.

    "I-28.28, C-6.5, P-2, C-16.5, P-2, C-48.3, D-1024_d0.5, D-256_d0.2, D10"

Tokens are separated by commas (spaces are ignored). Each names a layer and
its main number after a dash; options follow, each after an underscore:

===========  ==================================================================
``I-H.W``    input of one channel, H x W (``I-L`` for a 1-D signal of length
             L); ``_cN`` gives N channels. Optional, and only first.
``C-F.K``    convolution with F filters of size K (``K.K`` or ``KH.KW`` also
             accepted); options ``_sS`` stride, ``_pN`` zero padding (or
             ``_psame`` / ``_pvalid``; default same).
``P-K``      max pooling of size K (``KH.KW`` accepted); ``_sS`` stride
             (default K).
``A-K``      average pooling, as ``P``.
``D-N``      dense layer of N neurons. ``DN`` without a dash, last, is the
             output layer (its size must agree with the targets).
===========  ==================================================================

Every layer but the input takes ``_dR`` (dropout of rate R after it), and
convolutions and dense layers an activation option: ``_relu``, ``_lrelu`` (or
``_lreluS`` with slope S), ``_tanh``, ``_sig`` (or ``_sigB`` with slope B),
``_silu``, ``_gelu``, ``_lin``. Without one, the estimator's ``activation``
applies. A flattening layer is inserted before the
first dense layer (the input, and what convolutions and pooling make, have
spatial axes). An option may appear once per token.
"""

import re

from skneuro.nn.conv import AvgPool, Conv, Flatten, MaxPool
from skneuro.nn.layers import Dense, Dropout

_ACTIVATIONS = {"relu": "relu", "lrelu": "leaky_relu", "tanh": "tanh", "sig": "sigmoid",
                "silu": "silu", "gelu": "gelu", "lin": "identity"}
_NUMBER = r"\d+(?:\.\d+)*"


class SpecError(ValueError):
    """A malformed network specification; the message points at the token."""


def _dims(text, token, spec):
    try:
        return tuple(int(v) for v in text.split("."))
    except ValueError:
        raise SpecError(_where(f"expected integers separated by dots, got {text!r}",
                               token, spec)) from None


def _number(text, token, spec):
    try:
        return float(text)
    except ValueError:
        raise SpecError(_where(f"expected a number, got {text!r}", token, spec)) from None


def _positive(text, token, spec, allow_zero=False):
    value = _number(text, token, spec)
    if value < 0 or (value == 0 and not allow_zero):
        raise SpecError(_where(f"a slope must be {'>= 0' if allow_zero else '> 0'}, "
                               f"got {text}", token, spec))
    return value


def _where(message, token, spec):
    return f"In {spec!r}, token {token!r}: {message}."


def parse_spec(spec, activation="relu", slope=None):
    """Parse ``spec`` into layers.

    Parameters
    ----------
    spec : str
        The network in the course's notation.
    activation : str, default="relu"
        Activation of the layers that do not name one.
    slope : float, default=None
        Slope of the default activation (leaky ReLU's or the sigmoid's).

    Returns
    -------
    input_shape : tuple of int or None
        From an ``I-`` token: ``(C, L)`` or ``(C, H, W)``.
    layers : list of Layer
        Hidden layers, in order, with Flatten and Dropout inserted.
    n_outputs : int or None
        From a trailing ``DN`` token.
    """
    if not isinstance(spec, str) or not spec.strip():
        raise SpecError(f"A network specification must be a non-empty string, got {spec!r}.")
    tokens = [t.strip() for t in spec.split(",")]
    input_shape = None
    n_outputs = None
    layers = []
    spatial = True  # a CNN's input has spatial axes: flatten before the first dense layer
    for position, token in enumerate(tokens):
        if not token:
            raise SpecError(f"In {spec!r}: empty token at position {position + 1}.")
        compact = token.replace(" ", "")
        output = re.fullmatch(r"D(\d+)", compact)
        if output:
            if position != len(tokens) - 1:
                raise SpecError(_where("an output layer 'DN' (no dash) must come last",
                                       token, spec))
            n_outputs = int(output.group(1))
            break
        match = re.fullmatch(rf"([ICPAD])-({_NUMBER})((?:_[a-z]+[\d.]*)*)", compact)
        if not match:
            raise SpecError(_where(
                "expected I-, C-, P-, A- or D- followed by numbers and _options "
                "(e.g. C-16.5_s2, P-2, D-256_d0.2)", token, spec))
        kind, numbers, options = match.groups()
        opts = re.findall(r"_([a-z]+)([\d.]*)", options)
        if kind == "I":
            if position != 0:
                raise SpecError(_where("the input 'I-' must come first", token, spec))
            dims = _dims(numbers, token, spec)
            channels = 1
            for name, value in opts:
                if name != "c" or not value:
                    raise SpecError(_where(f"unknown input option _{name}{value}", token, spec))
                channels = int(_number(value, token, spec))
                if channels != float(value) or channels < 1:
                    raise SpecError(_where(f"the number of channels _c must be an integer "
                                           f">= 1, got _c{value}", token, spec))
            if len(dims) not in (1, 2):
                raise SpecError(_where("the input is L or H.W", token, spec))
            if min(dims) < 1:
                raise SpecError(_where("input sizes must be >= 1", token, spec))
            input_shape = (channels,) + dims
            spatial = True
            continue
        layer_activation, layer_slope, dropout, stride, padding = activation, slope, 0.0, None, \
            "same"
        names = [name for name, _ in opts]
        if len(set(names)) != len(names):
            raise SpecError(_where("an option appears twice", token, spec))
        for name, value in opts:
            if name in _ACTIVATIONS and kind in "CD":
                if value and name not in ("lrelu", "sig"):
                    raise SpecError(_where(f"_{name} takes no number", token, spec))
                if name in ("lrelu", "sig") and value:
                    layer_slope = _positive(value, token, spec, allow_zero=name == "lrelu")
                else:
                    layer_slope = None
                layer_activation = _ACTIVATIONS[name]
            elif name == "d" and value:
                dropout = _number(value, token, spec)
            elif name == "s" and value and kind in "CPA":
                stride = _dims(value, token, spec)
            elif name == "p" and value and kind == "C":
                padding = _dims(value, token, spec)
            elif name in ("psame", "pvalid") and not value and kind == "C":
                padding = name[1:]
            else:
                raise SpecError(_where(f"unknown option _{name}{value} for a {kind} layer",
                                       token, spec))
        if not 0.0 <= dropout < 1.0:
            raise SpecError(_where(f"dropout rate {dropout} is not in [0, 1)", token, spec))
        dims = _dims(numbers, token, spec)
        if any(d < 1 for d in dims) or (stride is not None and any(d < 1 for d in stride)):
            raise SpecError(_where("sizes and strides must be >= 1", token, spec))
        if stride is not None and len(stride) > 2:
            raise SpecError(_where("a stride has one or two numbers", token, spec))
        if isinstance(padding, tuple) and len(padding) > 2:
            raise SpecError(_where("a padding has one or two numbers", token, spec))
        if kind == "C":
            if len(dims) not in (2, 3):
                raise SpecError(_where("a convolution is C-filters.size or "
                                       "C-filters.height.width", token, spec))
            filters, kernel = dims[0], dims[1:]
            kernel = kernel[0] if len(kernel) == 1 else kernel
            stride = 1 if stride is None else (stride[0] if len(stride) == 1 else stride)
            if isinstance(padding, tuple):
                padding = padding[0] if len(padding) == 1 else padding
            layers.append(Conv(filters, kernel, stride=stride, padding=padding,
                               activation=layer_activation, slope=layer_slope))
            spatial = True
        elif kind in "PA":
            if len(dims) > 2:
                raise SpecError(_where("a pooling size has one or two numbers", token, spec))
            size = dims[0] if len(dims) == 1 else dims
            pool_stride = None if stride is None else (stride[0] if len(stride) == 1
                                                      else stride)
            layers.append((MaxPool if kind == "P" else AvgPool)(size, pool_stride))
            spatial = True
        else:
            if len(dims) != 1:
                raise SpecError(_where("a dense layer is D-units", token, spec))
            if spatial:
                layers.append(Flatten())
                spatial = False
            layers.append(Dense(dims[0], layer_activation, slope=layer_slope))
        if dropout > 0:
            layers.append(Dropout(dropout))
    return input_shape, layers, n_outputs
