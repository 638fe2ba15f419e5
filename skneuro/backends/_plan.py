"""Plans: how a network runs a batch of one size, as a list of steps.

The network (:class:`skneuro.nn.Network`) asks its backend for a plan
(``backend.plan(network, n)``) and runs it: the forward pass is one loop over
the steps, the backward pass the same loop reversed. A step computes one
named value from named values. The plain plan has one step per node of the
graph; a backend may plan otherwise (the CPU backend runs regions of the
graph in its lanes layout, and runs of dense layers as one step), and the
network does not know.
"""

#: Name of the network's input value in a plan.
INPUT = "input"


class Step:
    """One node's layer, run as the layer runs itself.

    Attributes
    ----------
    name : str
        Name of the value it computes.
    inputs : tuple of str
        Names of the values it reads.
    layer : Layer or None
    lanes_n : None
        Set by the CPU backend's steps that run in its lanes layout (the
        batch size); None here.
    """

    lanes_n = None

    def __init__(self, name, inputs, layer):
        self.name = name
        self.inputs = tuple(inputs)
        self.layer = layer

    def forward(self, inputs, training):
        return self.layer.forward(inputs, training)

    def backward(self, grad):
        return self.layer.backward(grad)


class Plan:
    """How a network runs a batch of one size: its steps and the name of the output."""

    def __init__(self, steps, output):
        self.steps = steps
        self.output = output

    @property
    def in_lanes(self):
        """Names of the nodes that run in the CPU backend's lanes layout."""
        return [s.name for s in self.steps if s.lanes_n is not None]


def plain_plan(network):
    """One step per node, each layer run as it runs itself."""
    return Plan([Step(node.name, node.inputs, node.layer) for node in network.nodes],
                network.output)


def cached_plan(network, key, make):
    """The plan cached in ``network`` under ``key``, made by ``make()`` the first time.

    The cache lives in the network (it holds the network's layers) and is
    dropped when the graph or its backend changes.
    """
    plans = network.__dict__.setdefault("_plans", {})
    if key not in plans:
        plans[key] = make()
    return plans[key]


class Workspace:
    """Reusable arrays by name and shape, on one backend (for steps that are not layers)."""

    def __init__(self, backend):
        self.backend = backend
        self._buffers = {}

    def buffer(self, name, shape, dtype=None):
        """The array called ``name`` of ``shape``, made on first use and reused."""
        key = (name, tuple(shape))
        if key not in self._buffers:
            self._buffers[key] = self.backend.empty(shape, dtype)
        return self._buffers[key]
