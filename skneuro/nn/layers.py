"""Layers: the nodes of a network graph.

A layer is built once for a per-sample input shape, owns its parameters and
their gradients, and owns the buffers it writes its outputs and input
gradients into. Buffers are allocated per batch shape and reused, so the
training loop allocates nothing once the first two batch sizes (full and last)
have been seen.

Contract, for every layer:

* ``forward(inputs, training)`` takes a list of arrays (one per graph input)
  and returns an array owned by the layer, valid until its next ``forward``;
* ``backward(grad)`` must not modify ``grad``; it fills ``self.grads`` and
  returns one input gradient per input (``None`` where not needed).
"""

import numpy as np

from skneuro.kernels.codes import CODES as ACTIVATION_CODES
from skneuro.kernels.codes import IDENTITY, INPUT_DERIVATIVE


def _shallow_copy(obj):
    """A new object sharing ``obj``'s attribute values. Not ``copy.copy``: that goes
    through ``__getstate__``, which moves parameters to the host for pickling."""
    clone = object.__new__(type(obj))
    clone.__dict__.update(obj.__dict__)
    return clone


def _is_sparse(x):
    return hasattr(x, "tocsr")


class Layer:
    """Base class of all layers.

    Attributes
    ----------
    params : dict of str to ndarray
        Trainable arrays.
    grads : dict of str to ndarray
        Gradient of the loss with respect to each of ``params``.
    decay : set of str
        Names of the parameters the L2 penalty applies to (weights, not biases).
    output_shape : tuple of int
        Per-sample shape of the output, known after :meth:`build`.
    """

    n_inputs = 1

    #: What the layer computes, for a backend that runs some kinds of layer
    #: its own way (the CPU backend's lanes regions and dense chains): a
    #: name such as "dense" or "conv", or None.
    op = None

    #: Whether :meth:`forward` returns its input unchanged when not training
    #: (dropout, noise, augmentation): prediction passes can run through it
    #: (see :mod:`skneuro.backends.cpu.dense_chain`). Counted only where a class
    #: declares it itself, not inherited by subclasses.
    identity_at_prediction = False

    #: Per-sample shapes of the inputs, set by :meth:`build` (None in layers
    #: pickled before it was kept: they run in the samples layout).
    input_shapes = None

    def __init__(self):
        self.params = {}
        self.grads = {}
        self.decay = set()
        self.output_shape = None
        self.need_input_grad = True
        self.backend = None
        self._buffers = {}

    # -- construction -------------------------------------------------------
    def build(self, input_shapes, backend, rng):
        """Create parameters for per-sample ``input_shapes``; set ``output_shape``."""
        self.bind(backend)
        self.input_shapes = tuple(tuple(int(d) for d in shape) for shape in input_shapes)
        self.output_shape = self._build(input_shapes, rng)
        for name, value in self.params.items():
            self.grads[name] = backend.zeros(value.shape)
        return self.output_shape

    def _build(self, input_shapes, rng):
        return tuple(input_shapes[0])

    def bind(self, backend):
        """Attach a backend: move parameters to its arrays and dtype."""
        self.backend = backend
        self.params = {k: backend.asarray(v) for k, v in self.params.items()}
        self.grads = {k: backend.zeros(v.shape) for k, v in self.params.items()}
        self._buffers = {}

    def _buffer(self, name, shape, dtype=None):
        """A reusable array called ``name`` of ``shape`` (the backend's dtype by default)."""
        cache = self._buffers.setdefault(name, {})
        buf = cache.get(shape)
        if buf is None:
            if len(cache) >= 4:  # a few batch shapes at most: train, last, predict
                cache.clear()
            buf = cache[shape] = self.backend.empty(shape, dtype)
        return buf

    def replicate(self):
        """A copy sharing this layer's parameters, with its own gradients and buffers.

        Replicas run shards of a batch side by side (see
        :mod:`skneuro.backends.cpu.shards`). The ``params`` dict itself is shared, so an
        update or a replaced array is seen by every replica.
        """
        clone = _shallow_copy(self)
        clone.grads = {k: self.backend.zeros(v.shape) for k, v in self.params.items()}
        clone._buffers = {}
        for key in list(vars(clone)):
            if key.startswith("_cache_"):
                setattr(clone, key, None)
        return clone

    def start_shard(self, original, first_row):
        """Prepare a replica to run rows from ``first_row`` of the batch ``original`` runs.

        Layers that draw random numbers take the original's stream position
        and draw for their rows, so a sharded batch sees the same numbers as
        the whole batch. Other layers need nothing.
        """

    # -- activations fused into a layer's output pass ------------------------
    @staticmethod
    def _fused_code(code):
        """The code to fuse into the output pass: the identity for activations
        whose derivative needs the pre-activation (SiLU, GELU), applied after."""
        return IDENTITY if code in INPUT_DERIVATIVE else code

    def _finish_activation(self, out, code, slope):
        """Apply a SiLU/GELU to ``out`` (holding the pre-activation) in place.

        Returns what the backward pass gives ``activation_backward``: the
        output for the other activations, a kept copy of the pre-activation
        for these.
        """
        if code not in INPUT_DERIVATIVE:
            return out
        ops = self.backend
        pre = self._buffer("pre", out.shape)
        ops.dense.copy(pre, out)
        n = out.shape[0]
        ops.activations.activation_forward(pre.reshape(n, -1), code, slope, out.reshape(n, -1))
        return pre

    # -- computation --------------------------------------------------------
    def forward(self, inputs, training=False):
        raise NotImplementedError

    def backward(self, grad):
        raise NotImplementedError

    # -- pickling: keep parameters, drop buffers and the backend's modules --
    def __getstate__(self):
        state = self.__dict__.copy()
        state["backend"] = None
        state["_buffers"] = {}
        state["grads"] = {}
        state["params"] = {k: np.array(self.backend.to_host(v)) if self.backend
                           else v for k, v in self.params.items()}
        for key in list(state):
            if key.startswith("_cache_"):
                state[key] = None
        return state

    def __repr__(self):
        return f"{type(self).__name__}({self._describe()})"

    def _describe(self):
        return ""


class Dense(Layer):
    """Fully connected layer with a fused activation: ``a = g(x @ W + b)``.

    Parameters
    ----------
    units : int
        Number of neurons.
    activation : str, default="identity"
        One of "identity", "step", "sigmoid" (alias "logistic"), "tanh",
        "relu", "leaky_relu", "silu" (alias "swish"), "gelu" (tanh
        approximation).
    slope : float, default=1.0
        For "sigmoid", the slope beta of ``1 / (1 + exp(-beta * h))``
        (default 1); for "leaky_relu", the slope on negative inputs
        (default 0.01). Ignored by the other activations.
    init : {"auto", "glorot_uniform", "he_uniform", "small", "scikit-learn"}, \
default="auto"
        Weight initialization; "auto" is He for ReLU-like activations and
        Glorot otherwise; "small" is uniform in [-0.1, 0.1] as in the course;
        "scikit-learn" is scikit-learn's MLP scheme (see
        :func:`skneuro.nn.init.initialize`).
    """

    op = "dense"

    #: Set by :class:`~skneuro.backends.cpu.shards.Shards` while a sharded step runs:
    #: ``backward`` then leaves ``grads["W"]`` to the shards (dense input only).
    defer_weight_grad = False

    def __init__(self, units, activation="identity", slope=None, init="auto"):
        super().__init__()
        if activation not in ACTIVATION_CODES:
            raise ValueError(f"Unknown activation {activation!r}; "
                             f"expected one of {sorted(ACTIVATION_CODES)}.")
        self.units = int(units)
        self.activation = activation
        self.slope = _default_slope(activation) if slope is None else float(slope)
        self.init = init
        self.decay = {"W"}

    def _describe(self):
        return f"{self.units}, activation={self.activation!r}"

    def _build(self, input_shapes, rng):
        from skneuro.nn.init import initialize

        (fan_in,) = input_shapes[0]
        W, b = initialize((fan_in, self.units), self.activation, self.init, rng)
        self.params = {"W": self.backend.asarray(W), "b": self.backend.asarray(b)}
        return (self.units,)

    def forward(self, inputs, training=False):
        x = inputs[0]
        ops = self.backend
        out = self._buffer("out", (x.shape[0], self.units))
        code = ACTIVATION_CODES[self.activation]
        slope = ops.scalar(self.slope)
        if _is_sparse(x):
            out[...] = x @ self.params["W"]
            ops.activations.bias_activation_forward(out, self.params["b"],
                                                    self._fused_code(code), slope)
        else:  # one launch on a GPU
            ops.dense.matmul_bias_activation(x, self.params["W"], self.params["b"],
                                             self._fused_code(code), slope, out,
                                             exact_rows=not training)
        self.keep_for_backward(x, self._finish_activation(out, code, slope))
        return out

    def keep_for_backward(self, x, derivative_arg):
        """Keep what :meth:`backward` needs: the input, and the output (the
        pre-activation for SiLU and GELU; see :meth:`_finish_activation`)."""
        self._cache_input = x
        self._cache_derivative_arg = derivative_arg

    def backward(self, grad):
        ops = self.backend
        code = ACTIVATION_CODES[self.activation]
        if code == ACTIVATION_CODES["identity"]:
            delta = grad
            ops.dense.column_sum(delta, self.grads["b"])
        else:
            # The delta and the bias gradient in one call (one launch on a GPU).
            delta = self._buffer("delta", grad.shape)
            ops.dense.bias_activation_backward(
                grad, self._cache_derivative_arg, code, ops.scalar(self.slope), delta,
                self.grads["b"])
        x = self._cache_input
        if _is_sparse(x):
            self.grads["W"][...] = x.T @ delta
        elif self.defer_weight_grad:
            # The shards compute W's gradient together, over the whole batch
            # (see skneuro.backends.cpu.shards): keep what they need.
            self._cache_delta = delta
        else:
            ops.dense.matmul_tn(x, delta, self.grads["W"])
        if not self.need_input_grad:
            return [None]
        dx = self._buffer("dx", x.shape)
        ops.dense.matmul_nt(delta, self.params["W"], dx)
        return [dx]


class Activation(Layer):
    """Element-wise activation as a layer of its own (e.g. after an :class:`Add`).

    Parameters
    ----------
    activation : str
        As for :class:`Dense`.
    slope : float, default=None
        As for :class:`Dense`.
    """

    def __init__(self, activation, slope=None):
        super().__init__()
        if activation not in ACTIVATION_CODES:
            raise ValueError(f"Unknown activation {activation!r}; "
                             f"expected one of {sorted(ACTIVATION_CODES)}.")
        self.activation = activation
        self.slope = _default_slope(activation) if slope is None else float(slope)

    def _describe(self):
        return repr(self.activation)

    def forward(self, inputs, training=False):
        x = inputs[0]
        ops = self.backend
        n = x.shape[0]
        out = self._buffer("out", x.shape)
        code = ACTIVATION_CODES[self.activation]
        ops.activations.activation_forward(
            x.reshape(n, -1), code, ops.scalar(self.slope), out.reshape(n, -1),
        )
        # The derivative is written with the output, or the input for SiLU/GELU.
        self._cache_derivative_arg = x if code in INPUT_DERIVATIVE else out
        return out

    def backward(self, grad):
        ops = self.backend
        dx = self._buffer("dx", grad.shape)
        n = grad.shape[0]
        ops.activations.activation_backward(
            grad.reshape(n, -1), self._cache_derivative_arg.reshape(n, -1),
            ACTIVATION_CODES[self.activation], ops.scalar(self.slope), dx.reshape(n, -1),
        )
        return [dx]


class Dropout(Layer):
    """Inverted dropout: active in training only, identity at prediction.

    Parameters
    ----------
    rate : float
        Probability of dropping each unit, in [0, 1).

    Notes
    -----
    The mask of training step ``t`` is drawn by the kernels from
    ``hash_uniform(seed, t, i)``, with ``seed`` taken from the network's
    generator when the layer is built: reproducible from ``random_state`` and
    the same on every device.
    """

    #: Row of the batch where this layer's rows start (see :meth:`start_shard`).
    first_row = 0

    identity_at_prediction = True

    def __init__(self, rate):
        super().__init__()
        if not 0.0 <= rate < 1.0:
            raise ValueError(f"Dropout rate must be in [0, 1), got {rate!r}.")
        self.rate = float(rate)
        self.seed = 0
        self.step = 0
        self.first_row = 0

    def _describe(self):
        return repr(self.rate)

    def _build(self, input_shapes, rng):
        self.seed = int(rng.integers(2**62))
        self.step = 0
        return tuple(input_shapes[0])

    def forward(self, inputs, training=False):
        x = inputs[0]
        self._cache_training = training and self.rate > 0.0
        if not self._cache_training:
            return x
        ops = self.backend
        n = x.shape[0]
        flat_shape = (n, x.size // max(n, 1))
        out = self._buffer("out", x.shape)
        mask = self._buffer("mask", flat_shape)
        ops.dropout.dropout_forward(x.reshape(flat_shape), self.seed, self.step,
                                    self.first_row, ops.scalar(self.rate),
                                    out.reshape(flat_shape), mask)
        self.step += 1
        self._cache_mask = mask
        return out

    def start_shard(self, original, first_row):
        self.step = original.step
        self.first_row = first_row

    def backward(self, grad):
        if not self._cache_training:
            return [grad]
        dx = self._buffer("dx", grad.shape)
        n = grad.shape[0]
        self.backend.dropout.dropout_backward(grad.reshape(n, -1), self._cache_mask,
                                              dx.reshape(n, -1))
        return [dx]


class Add(Layer):
    """Sum of its inputs, all of one shape: the join of a residual connection."""

    n_inputs = 2
    op = "add"

    def _build(self, input_shapes, rng):
        first = tuple(input_shapes[0])
        for shape in input_shapes[1:]:
            if tuple(shape) != first:
                raise ValueError(f"Add needs inputs of one shape, got {input_shapes}.")
        return first

    def forward(self, inputs, training=False):
        out = self._buffer("out", inputs[0].shape)
        add = self.backend.dense.add
        add(out, inputs[0], inputs[1])
        for x in inputs[2:]:
            add(out, out, x)
        self._cache_n_inputs = len(inputs)
        return out

    def backward(self, grad):
        # The same array for every input: safe, because no layer modifies
        # the gradient it receives.
        return [grad] * self._cache_n_inputs



class Concatenate(Layer):
    """Concatenation along the feature (channel) axis: the join of a skip connection."""

    n_inputs = 2
    op = "concatenate"

    def _build(self, input_shapes, rng):
        rest = tuple(input_shapes[0][1:])
        for shape in input_shapes[1:]:
            if tuple(shape[1:]) != rest:
                raise ValueError("Concatenate needs inputs that agree beyond the first "
                                 f"axis, got {input_shapes}.")
        self._sizes = [int(s[0]) for s in input_shapes]
        return (sum(self._sizes),) + rest

    def forward(self, inputs, training=False):
        n = inputs[0].shape[0]
        out = self._buffer("out", (n,) + self.output_shape)
        flat_out = out.reshape(n, -1)
        offset = 0
        for x in inputs:
            flat = x.reshape(n, -1)
            self.backend.dense.put_columns(flat_out, flat, offset)
            offset += flat.shape[1]
        return out

    def backward(self, grad):
        n = grad.shape[0]
        flat_grad = grad.reshape(n, -1)
        grads = []
        offset = 0
        for k, size in enumerate(self._sizes):
            g = self._buffer(f"dx{k}", (n, size) + grad.shape[2:])
            flat = g.reshape(n, -1)
            self.backend.dense.take_columns(flat, flat_grad, offset)
            offset += flat.shape[1]
            grads.append(g)
        return grads


class Slice(Layer):
    """Features ``start:stop`` of a flat input, optionally reshaped per sample.

    Splits a network's one input into parts (a diffusion model's input is the
    noisy image followed by its step); the inverse of :class:`Concatenate`.

    Parameters
    ----------
    start, stop : int
        The range of features taken from the flat per-sample input.
    shape : tuple of int, default=None
        Per-sample shape of the output (default: ``(stop - start,)``).
    """

    def __init__(self, start, stop, shape=None):
        super().__init__()
        if not 0 <= int(start) < int(stop):
            raise ValueError(f"Slice needs 0 <= start < stop, got {start!r}, {stop!r}.")
        self.start = int(start)
        self.stop = int(stop)
        self.shape = None if shape is None else tuple(int(s) for s in shape)

    def _describe(self):
        return f"{self.start}, {self.stop}, shape={self.shape!r}"

    def _build(self, input_shapes, rng):
        size = int(np.prod(input_shapes[0]))
        if self.stop > size:
            raise ValueError(f"Slice({self.start}, {self.stop}) reaches past the "
                             f"{size} features of its input.")
        self._input_shape = tuple(input_shapes[0])
        width = self.stop - self.start
        shape = self.shape or (width,)
        if int(np.prod(shape)) != width:
            raise ValueError(f"Slice of {width} features cannot take the shape {shape}.")
        return shape

    def forward(self, inputs, training=False):
        x = inputs[0]
        n = x.shape[0]
        out = self._buffer("out", (n,) + tuple(self.output_shape))
        self.backend.dense.take_columns(out.reshape(n, -1), x.reshape(n, -1), self.start)
        return out

    def backward(self, grad):
        if not self.need_input_grad:
            return [None]
        n = grad.shape[0]
        dx = self._buffer("dx", (n,) + self._input_shape)
        flat = dx.reshape(n, -1)
        self.backend.dense.fill(flat, 0.0)
        self.backend.dense.put_columns(flat, grad.reshape(n, -1), self.start)
        return [dx]


def _default_slope(activation):
    return 0.01 if activation == "leaky_relu" else 1.0
