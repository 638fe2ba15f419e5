"""The CPU backend's plans: lanes regions and dense chains.

:func:`plan` turns a network's graph into the steps that run a batch of
``n`` samples on the CPU (see :mod:`skneuro.backends._plan`):

* Layers that can take their inputs in lanes (:mod:`skneuro.backends.cpu.lanes`)
  run in lanes when they are connected to a convolution that does: a
  convolution runs in lanes when it reads or feeds another lanes layer, and
  any other lanes-capable layer when one of its lane inputs comes from a
  layer in lanes. A layout change is inserted, once per value, where a value
  is read in the other layout. A convolution alone among samples-layout
  layers (a CNN's, between poolings) keeps its own path, which fuses the
  layout changes with the padding, the bias and the activation.
* For at most ``SMALL_ROWS`` samples (a prediction request), each run of
  consecutive dense layers is one step
  (:class:`~skneuro.backends.cpu.dense_chain.DenseChain`).
"""

from skneuro.backends._plan import INPUT, Plan, Step, cached_plan
from skneuro.backends.cpu.dense_chain import fuse as fuse_dense_chains
from skneuro.backends.cpu.lanes import FromLanes, ToLanes, lanes_run
from skneuro.kernels.cpu.dense import SMALL_ROWS

#: Whether plans run regions of lanes-capable layers in the lanes layout;
#: False runs every layer in the samples layout, each convolution changing
#: layout on its own (tests compare the two).
LANES_REGIONS = True

#: Whether plans for small requests run consecutive dense layers as one step;
#: False runs them one by one (tests compare the two).
DENSE_CHAINS = True


class LanesStep(Step):
    """A layer run in lanes, by its :class:`~skneuro.backends.cpu.lanes.LanesRun`."""

    def __init__(self, name, inputs, layer, n, run):
        super().__init__(name, inputs, layer)
        self.lanes_n = n
        self._run = run

    def forward(self, inputs, training):
        return self._run.forward(self.layer, inputs, self.lanes_n, training)

    def backward(self, grad):
        return self._run.backward(self.layer, grad)


def plan(network, n):
    """The steps that run a batch of ``n`` samples through ``network`` (cached)."""
    key = (n, LANES_REGIONS, DENSE_CHAINS)
    return cached_plan(network, key, lambda: _make_plan(network, n))


def _make_plan(network, n):
    runs = {node.name: lanes_run(node.layer) if LANES_REGIONS else None
            for node in network.nodes}
    wants = {name: run.inputs(node.layer, n) if run is not None else None
             for (name, run), node in zip(runs.items(), network.nodes)}
    lanes = {INPUT: False}
    readers = {}
    for node in network.nodes:
        want = wants[node.name]
        for k, src in enumerate(node.inputs):
            readers.setdefault(src, []).append((node.name, k))
        if want is None:
            lanes[node.name] = False
        else:
            lanes[node.name] = runs[node.name].seed or any(
                lanes[src] for src, w in zip(node.inputs, want) if w)
    for node in network.nodes:
        if wants[node.name] is not None and runs[node.name].seed and lanes[node.name]:
            want = wants[node.name]
            reads = any(lanes[src] for src, w in zip(node.inputs, want) if w)
            read = any(lanes[name] and wants[name][k]
                       for name, k in readers.get(node.name, []))
            lanes[node.name] = reads or read
    shapes = {INPUT: network.input_shape}
    shapes.update((node.name, tuple(node.layer.output_shape)) for node in network.nodes)
    steps = []
    changed = {}

    def source(src, in_lanes):
        if lanes[src] == in_lanes:
            return src
        if (src, in_lanes) not in changed:
            change = ToLanes if in_lanes else FromLanes
            name = f"{src}@{'lanes' if in_lanes else 'samples'}"
            layer = change(shapes[src], n, network.backend, need_input_grad=src != INPUT)
            steps.append(Step(name, (src,), layer))
            changed[src, in_lanes] = name
        return changed[src, in_lanes]

    for node in network.nodes:
        if lanes[node.name]:
            want = wants[node.name]
            inputs = [source(src, w) for src, w in zip(node.inputs, want)]
            steps.append(LanesStep(node.name, inputs, node.layer, n, runs[node.name]))
        else:
            inputs = [source(src, False) for src in node.inputs]
            steps.append(Step(node.name, inputs, node.layer))
    output = source(network.output, False)
    if DENSE_CHAINS and n <= SMALL_ROWS:
        steps = fuse_dense_chains(steps, output)
    return Plan(steps, output)
