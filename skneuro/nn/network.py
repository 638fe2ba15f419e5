"""The network: a directed acyclic graph of layers.

Nodes are kept in a topological order (each node after its inputs), so the
forward pass is one loop over nodes and the backward pass the same loop
reversed. A plain stack of layers is the special case where each node reads
the one before; skip and residual connections are nodes with several inputs
(:class:`~skneuro.nn.layers.Concatenate`, :class:`~skneuro.nn.layers.Add`).
"""

import numpy as np

from skneuro.nn.layers import _shallow_copy

INPUT = "input"


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
        return name

    @property
    def layers(self):
        """The layers in execution order."""
        return [node.layer for node in self.nodes]

    def build(self, backend, rng):
        """Create every layer's parameters, in order, from ``rng``."""
        self.backend = backend
        shapes = {INPUT: self.input_shape}
        for node in self.nodes:
            in_shapes = [shapes[src] for src in node.inputs]
            shapes[node.name] = node.layer.build(in_shapes, backend, rng)
            # The data needs no gradient: layers reading only the input skip
            # their largest product (dX = delta @ W.T).
            node.layer.need_input_grad = any(src != INPUT for src in node.inputs)
        self.output_shape = shapes[self.output]
        return self

    def bind(self, backend):
        """Attach ``backend`` (after unpickling, or to move to another device)."""
        if self.backend is backend:
            return self
        for layer in self.layers:
            layer.bind(backend)
        self.backend = backend
        self._grad_buffers = {}
        self.__dict__.pop("_shards", None)  # replicas hold the old backend's arrays
        return self

    def replicate(self):
        """The same graph over replicas of its layers (shared parameters, own buffers)."""
        clone = _shallow_copy(self)
        clone.nodes = [Node(n.name, n.layer.replicate(), n.inputs) for n in self.nodes]
        clone._grad_buffers = {}
        clone.__dict__.pop("_shards", None)
        return clone

    def forward(self, x, training=False):
        """Run the graph on a batch; returns the output node's array (owned by its layer)."""
        values = {INPUT: x}
        for node in self.nodes:
            values[node.name] = node.layer.forward([values[s] for s in node.inputs], training)
        return values[self.output]

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
        """Propagate ``grad_output`` back; fills every layer's ``grads``."""
        grads = {self.output: grad_output}
        owned = set()  # nodes whose gradient buffer is ours to add into
        add_into = self.backend.dense.add_into
        for node in reversed(self.nodes):
            grad = grads.pop(node.name, None)
            if grad is None:  # a branch that does not reach the output
                continue
            input_grads = node.layer.backward(grad)
            for src, g in zip(node.inputs, input_grads):
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
        state.pop("_shards", None)  # replicas and threads: rebuilt when needed
        return state

    def __repr__(self):
        lines = [f"Network(input_shape={self.input_shape})"]
        for node in self.nodes:
            lines.append(f"  {node.name}: {node.layer!r} <- {', '.join(node.inputs)}")
        return "\n".join(lines)
