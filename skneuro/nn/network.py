"""The network: a directed acyclic graph of layers.

Nodes are kept in a topological order (each node after its inputs), so the
forward pass is one loop over nodes and the backward pass the same loop
reversed. A plain stack of layers is the special case where each node reads
the one before; skip and residual connections are nodes with several inputs
(:class:`~skneuro.nn.layers.Concatenate`, :class:`~skneuro.nn.layers.Add`).
"""

import numpy as np

from skneuro._locks import lock_of
from skneuro.backends._plan import INPUT
from skneuro.nn import _timing, memory
from skneuro.nn.layers import _shallow_copy


class Node:
    """One layer of the graph and the names of the nodes it reads."""

    def __init__(self, name, layer, inputs):
        self.name = name
        self.layer = layer
        self.inputs = tuple(inputs)


class Network:
    """A graph of layers with one input and one output.

    Parameters
    ----------
    input_shape : tuple of int
        Per-sample shape of the input.

    Examples
    --------
    >>> import numpy as np
    >>> from skneuro.nn import Network, Dense, Add, CPUBackend
    >>> net = Network((4,))
    >>> h = net.add(Dense(8, "relu"))
    >>> r = net.add(Dense(8, "relu"), h)
    >>> s = net.add(Add(), [h, r])
    >>> out = net.add(Dense(2), s)
    >>> net = net.build(CPUBackend(), np.random.default_rng(0))
    >>> net.forward(np.ones((3, 4), np.float32)).shape
    (3, 2)
    """

    def __init__(self, input_shape):
        self.input_shape = tuple(int(s) for s in input_shape)
        self.nodes = []
        self.output = INPUT
        self.backend = None

    @classmethod
    def sequential(cls, input_shape, layers):
        """A chain of ``layers``, each reading the previous one."""
        net = cls(input_shape)
        for layer in layers:
            net.add(layer)
        return net

    def add(self, layer, inputs=None, name=None):
        """Append ``layer`` reading ``inputs`` (default: the current output).

        Returns the new node's name, which becomes the network's output.
        """
        if inputs is None:
            inputs = [self.output]
        elif isinstance(inputs, str):
            inputs = [inputs]
        known = {INPUT} | {n.name for n in self.nodes}
        for src in inputs:
            if src not in known:
                raise ValueError(f"Unknown input node {src!r}; known nodes: {sorted(known)}.")
        if name is None:
            name = f"{type(layer).__name__.lower()}_{len(self.nodes)}"
        if name in known:
            raise ValueError(f"Node name {name!r} is already used.")
        self.nodes.append(Node(name, layer, inputs))
        self.output = name
        self._forget_plans()
        return name

    @property
    def layers(self):
        """The layers in execution order."""
        return [node.layer for node in self.nodes]

    def build(self, backend, rng, rows=1, parameter_copies=memory.PARAMETER_COPIES):
        """Create every layer's parameters, in order, from ``rng``.

        Parameters
        ----------
        backend : backend
        rng : numpy.random.Generator
        rows : int, default=1
            Rows of the first training batch, for the memory check.
        parameter_copies : int, default=2
            Copies of each parameter training will keep (weights, gradients
            and the optimizer's slots), for the memory check.

        Raises
        ------
        NetworkTooLargeError
            If training the network would not fit in the memory ``backend``
            has free; measured on shapes, before anything is allocated (see
            :mod:`skneuro.nn.memory`).
        """
        n_parameters, values, largest = memory.footprint(self, backend)
        memory.check_fits(
            memory.training_bytes(n_parameters, values, rows, backend.dtype.itemsize,
                                  largest[1], parameter_copies),
            backend,
            f"Training this network ({n_parameters:.3g} parameters, {values:.3g} values per "
            "sample in its layers' outputs)",
            f"Use fewer or smaller layers (the largest, {largest[0]!r}, has "
            f"{largest[1]:.3g} parameters).")
        self._forget_plans()
        self.backend = backend
        shapes = {INPUT: self.input_shape}
        for node in self.nodes:
            in_shapes = [shapes[src] for src in node.inputs]
            shapes[node.name] = node.layer.build(in_shapes, backend, rng)
            # The data needs no gradient: layers reading only the input skip
            # their largest product (dX = delta @ W.T).
            node.layer.need_input_grad = any(src != INPUT for src in node.inputs)
        self.output_shape = shapes[self.output]
        backend.arrange_parameters(self)
        return self

    def check_rows(self, rows, training):
        """Refuse a batch of ``rows`` rows whose layer outputs would not fit in memory.

        Checked once per new, larger number of rows (the layers' buffers are
        reused for the sizes already run), before anything is allocated.

        Raises
        ------
        NetworkTooLargeError
        """
        key = "_rows_checked_training" if training else "_rows_checked"
        if rows <= self.__dict__.get(key, 0):
            return
        values = sum(int(np.prod(node.layer.output_shape, dtype=np.float64))
                     for node in self.nodes)
        copies = memory.TRAINING_VALUE_COPIES if training else 1
        what = "Training on batches" if training else "Predicting in chunks"
        memory.check_fits(
            copies * values * rows * self.backend.dtype.itemsize, self.backend,
            f"{what} of {rows} rows ({values:.3g} values per row in the layers' outputs)",
            "Lower batch_size (training) or predict on fewer rows at a time.")
        self.__dict__[key] = rows

    def bind(self, backend):
        """Attach ``backend`` (after unpickling, or to move to another device)."""
        if self.backend is backend:
            return self
        for layer in self.layers:
            layer.bind(backend)
        self.backend = backend
        self._grad_buffers = {}
        self._forget_plans()
        self.__dict__.pop("_shards", None)  # replicas hold the old backend's arrays
        backend.arrange_parameters(self)
        for key in ("_rows_checked", "_rows_checked_training"):  # another device's memory
            self.__dict__.pop(key, None)
        return self

    def _forget_plans(self):
        """Drop the plans: their layout changes hold arrays and another graph's layers."""
        self._plans = {}
        self._last_plan = None

    @property
    def flat_parameters(self):
        """The flat buffers the backend packed the parameters into, or None.

        See :mod:`skneuro.backends._flat`: set by the backend's
        ``arrange_parameters``, and None where a parameter or gradient has
        been replaced since.
        """
        flat = self.__dict__.get("_flat")
        return flat if flat is not None and flat.is_current(self) else None

    @property
    def lock(self):
        """A re-entrant lock over the network's buffers (one per network, not pickled).

        Layers keep their outputs in buffers reused from call to call, so two
        threads running one network at once would overwrite each other's
        values: code running a network from several threads holds this lock
        (the estimators hold their own, :func:`skneuro._locks.lock_of`, which
        also keeps predictions out of a running fit).
        """
        return lock_of(self)

    def replicate(self):
        """The same graph over replicas of its layers (shared parameters, own buffers)."""
        clone = _shallow_copy(self)
        clone.nodes = [Node(n.name, n.layer.replicate(), n.inputs) for n in self.nodes]
        clone._grad_buffers = {}
        clone._forget_plans()
        clone.__dict__.pop("_shards", None)
        clone.__dict__.pop("_flat", None)  # the replicas' gradients are their own
        flat = self.flat_parameters
        # Laid out as the original's, where it is packed (see Shards.update).
        clone._flat_grads = (flat.replica_gradients(self, clone, self.backend)
                             if flat is not None else None)
        return clone

    def forward(self, x, training=False):
        """Run the graph on a batch; returns the output node's array (owned by its layer)."""
        plan = self.plan(x.shape[0])
        values = {INPUT: x}
        timers = _timing.ACTIVE
        for step in plan.steps:
            inputs = [values[s] for s in step.inputs]
            if timers:
                values[step.name] = _timing.run_timed(timers, step, "forward", step.forward,
                                                      inputs, training)
            else:
                values[step.name] = step.forward(inputs, training)
        self._last_plan = plan
        return values[plan.output]

    def plan(self, n):
        """The steps that run a batch of ``n`` samples, as the backend plans them.

        The plan is the backend's (:mod:`skneuro.backends._plan`): one step per
        node on the GPU; on the CPU, regions of the graph in its lanes layout
        and runs of dense layers as one step
        (:mod:`skneuro.backends.cpu.planning`). Plans are cached per ``n`` and
        dropped when the graph or its backend changes.
        """
        return self.backend.plan(self, n)

    def forward_between(self, x, source=INPUT, target=None, training=False):
        """Run the part of the graph from node ``source`` to node ``target``.

        ``x`` stands for ``source``'s output; a node runs once every node it
        reads has a value, so nodes that need the network's input (or any
        other node not reached from ``source``) are skipped. This runs an
        autoencoder's encoder (input to code) or decoder (code to
        reconstruction) with the network's own layers.

        Parameters
        ----------
        x : array
            A batch of ``source``'s output.
        source : str, default="input"
            Name of the node ``x`` stands for.
        target : str, default=None
            Name of the node to compute; None is the network's output.
        training : bool, default=False
            Passed to every layer (dropout, noise and sampling act only then).

        Returns
        -------
        out : array
            ``target``'s output, owned by its layer.
        """
        target = self.output if target is None else target
        known = {INPUT} | {n.name for n in self.nodes}
        for name in (source, target):
            if name not in known:
                raise ValueError(f"Unknown node {name!r}; known nodes: {sorted(known)}.")
        if target == source:
            return x
        values = {source: x}
        for node in self.nodes:
            if node.name != source and all(src in values for src in node.inputs):
                values[node.name] = node.layer.forward([values[s] for s in node.inputs],
                                                       training)
                if node.name == target:
                    return values[target]
        raise ValueError(f"Node {target!r} cannot be computed from node {source!r} alone.")

    def backward(self, grad_output):
        """Propagate ``grad_output`` back through the last forward pass's plan;
        fills every layer's ``grads``."""
        plan = self._last_plan
        grads = {plan.output: grad_output}
        owned = set()  # values whose gradient buffer is ours to add into
        add_into = self.backend.dense.add_into
        for step in reversed(plan.steps):
            grad = grads.pop(step.name, None)
            if grad is None:  # a branch that does not reach the output
                continue
            timers = _timing.ACTIVE
            if timers:
                input_grads = _timing.run_timed(timers, step, "backward", step.backward, grad)
            else:
                input_grads = step.backward(grad)
            for src, g in zip(step.inputs, input_grads):
                if src == INPUT or g is None:
                    continue
                if src not in grads:
                    grads[src] = g
                else:
                    if src not in owned:
                        buf = self._grad_buffer(src, g.shape)
                        self.backend.dense.copy(buf, grads[src])
                        grads[src] = buf
                        owned.add(src)
                    add_into(grads[src], g)

    def _grad_buffer(self, name, shape):
        """A reusable buffer where gradients from several consumers of ``name`` add up."""
        key = (name, shape)
        buffers = self.__dict__.setdefault("_grad_buffers", {})
        if key not in buffers:
            buffers[key] = self.backend.empty(shape)
        return buffers[key]

    def parameters(self):
        """Yield ``(layer, name)`` for every trainable array, in a fixed order."""
        for layer in self.layers:
            for name in sorted(layer.params):
                yield layer, name

    def get_weights(self):
        """Copies of every trainable array, as host numpy arrays."""
        return [np.array(self.backend.to_host(layer.params[name]))
                for layer, name in self.parameters()]

    def set_weights(self, weights):
        """Write arrays from :meth:`get_weights` back (in place)."""
        for (layer, name), value in zip(self.parameters(), weights):
            self.backend.dense.copy(layer.params[name], self.backend.asarray(value))

    def n_parameters(self):
        """Total number of trainable scalars."""
        return sum(layer.params[name].size for layer, name in self.parameters())

    def __getstate__(self):
        state = self.__dict__.copy()
        state["backend"] = None
        state["_grad_buffers"] = {}
        state["_plans"] = {}
        state["_last_plan"] = None
        state.pop("_shards", None)  # replicas and threads: rebuilt when needed
        state.pop("_flat", None)  # device buffers: packed again when bound
        for key in ("_rows_checked", "_rows_checked_training"):  # another machine's memory
            state.pop(key, None)
        return state

    def __repr__(self):
        lines = [f"Network(input_shape={self.input_shape})"]
        for node in self.nodes:
            lines.append(f"  {node.name}: {node.layer!r} <- {', '.join(node.inputs)}")
        return "\n".join(lines)
