"""Consecutive dense layers as one step of a plan.

When a network predicts a small request (at most ``dense.SMALL_ROWS`` rows
of :mod:`skneuro.kernels.cpu.dense`), the overhead of running its layers one by one is
a large part of the time: two kernel calls per dense layer, each with its
Python dispatch and, on the CPU, its own parallel region. :func:`fuse` puts
each run of dense layers (with the layers that are the identity at
prediction between them, such as dropout) into one :class:`DenseChain`
step (planned by :mod:`skneuro.backends.cpu.planning`), whose prediction
pass is one call of :func:`skneuro.kernels.cpu.dense_chain.forward_chain`,
with results bit-identical to the layers run one by one. While training,
and for sparse inputs, the step runs its layers one by one.
"""

import numpy as np

from skneuro.kernels.codes import CODES as ACTIVATION_CODES
from skneuro.kernels.codes import INPUT_DERIVATIVE


def _is_dense(layer):
    # Declared by the layer's own class: a subclass of Dense computes
    # something else, which the chain's kernel would skip.
    return type(layer).__dict__.get("op") == "dense"


def _is_sparse(x):
    return hasattr(x, "tocsr")


class DenseChain:
    """Plan steps of dense layers, each reading the one before, run as one.

    Parameters
    ----------
    steps : list of Step
        The steps, in order: dense layers whose activation is fused into
        their output pass (not SiLU or GELU), and layers that are the
        identity at prediction (:attr:`~skneuro.nn.layers.Layer.identity_at_prediction`).
    """

    lanes_n = None

    def __init__(self, steps):
        self.steps = list(steps)
        self.name = self.steps[-1].name
        self.inputs = self.steps[0].inputs
        self.layer = None
        self.dense = [step.layer for step in self.steps if _is_dense(step.layer)]
        backend = self.dense[0].backend
        self._codes = np.array([ACTIVATION_CODES[layer.activation] for layer in self.dense],
                               np.int64)
        self._params = np.array([layer.slope for layer in self.dense], backend.dtype)

    def forward(self, inputs, training):
        """The last layer's output for ``inputs[0]``: one kernel call when not
        training, for dense input; the layers one by one otherwise."""
        x = inputs[0]
        if training or _is_sparse(x):
            for step in self.steps:
                inputs = [step.forward(inputs, training)]
            return inputs[0]
        n = x.shape[0]
        weights, biases, outs = [], [], []
        for layer in self.dense:
            weights.append(layer.params["W"])
            biases.append(layer.params["b"])
            outs.append(layer._buffer("out", (n, layer.units)))
        self.dense[0].backend.dense_chain.forward_chain(
            x, tuple(weights), tuple(biases), self._codes, self._params, tuple(outs))
        # What each layer keeps for a backward pass (L-BFGS runs one after a
        # prediction pass), as if it had run on its own.
        h = x
        k = 0
        for step in self.steps:
            if _is_dense(step.layer):
                step.layer.keep_for_backward(h, outs[k])
                h = outs[k]
                k += 1
            else:  # the identity at prediction: its forward keeps its state
                step.layer.forward([h], training)
        return h

    def backward(self, grad):
        """The layers' backward passes, last to first; returns ``[input gradient]``."""
        for step in reversed(self.steps):
            grad = step.backward(grad)[0]
            if grad is None:  # the first layer reads the network's input
                break
        return [grad]


def _chainable(step):
    layer = step.layer
    if step.lanes_n is not None or len(step.inputs) != 1:
        return False
    if _is_dense(layer):
        return ACTIVATION_CODES[layer.activation] not in INPUT_DERIVATIVE
    # Declared by the layer's own class: a subclass of Dropout that does
    # something at prediction must not be skipped for its parent's flag.
    return layer is not None and type(layer).__dict__.get("identity_at_prediction", False)


#: Fewest weights in a run of dense layers for it to become a chain: a
#: smaller network predicts in microseconds layer by layer, with the product
#: kernel its fit compiled, and does not compile the chain's (~0.5 s on a
#: new machine, a tenth of a first small fit's start-up).
CHAIN_MIN_WEIGHTS = 1 << 14


def fuse(steps, output):
    """``steps`` with each run of two or more chainable dense layers of at least
    :data:`CHAIN_MIN_WEIGHTS` weights as one :class:`DenseChain` (a run ends
    where a value is also read elsewhere or is the plan's ``output``)."""
    readers = {}
    for step in steps:
        for src in step.inputs:
            readers[src] = readers.get(src, 0) + 1
    fused = []
    run = []

    def close():
        dense = [step.layer for step in run if _is_dense(step.layer)]
        if len(dense) >= 2 and sum(layer.params["W"].size for layer in dense) >= \
                CHAIN_MIN_WEIGHTS:
            fused.append(DenseChain(run))
        else:
            fused.extend(run)
        run.clear()

    for step in steps:
        if not _chainable(step):
            close()
            fused.append(step)
            continue
        if run and not (step.inputs == (run[-1].name,) and readers[run[-1].name] == 1
                        and run[-1].name != output):
            close()
        run.append(step)
    close()
    return fused
