"""Every parameter and gradient of a network as views of two flat buffers.

An optimizer's update is elementwise, so over flat buffers it is one call for
all the parameters (the penalized ones first, up to the ``decay_stop`` the
updates take), instead of one per parameter array: a diffusion U-Net has ~150
of them, and on a GPU each call is a launch (~25 us from Python), on the CPU
a dispatch (~2 us; there, one per part). Both backends pack a
network's parameters this way when it is built or bound
(``backend.arrange_parameters``). The layers see nothing of it: their
``params`` and ``grads`` hold views of the buffers, with the shapes they had,
and pickling copies each view to the host as before.
"""

#: Each parameter starts on a multiple of this many elements (128 bytes in
#: float32): aligned operands for the device's products.
ALIGN = 32


def _padded(size):
    return -(-size // ALIGN) * ALIGN


class FlatParameters:
    """The parameters of ``network`` packed into one buffer, its gradients into another.

    The parameters that take the L2 penalty (their layer's ``decay``) come
    first, up to :attr:`split`; the rest after it.

    Parameters
    ----------
    network : Network
        Built and bound to ``backend``; its parameters and gradients are
        replaced by views (the values are kept).
    backend : backend
    """

    def __init__(self, network, backend):
        entries = list(network.parameters())
        decayed = [(layer, name) for layer, name in entries if name in layer.decay]
        others = [(layer, name) for layer, name in entries if name not in layer.decay]
        self.split = sum(_padded(layer.params[name].size) for layer, name in decayed)
        total = self.split + sum(_padded(layer.params[name].size) for layer, name in others)
        self.params = backend.zeros((total,))
        self.grads = backend.zeros((total,))
        self.offsets = {}
        offset = 0
        for layer, name in decayed + others:
            value = layer.params[name]
            size = value.size
            view = self.params[offset:offset + size].reshape(value.shape)
            if size:
                # 1-D, the one signature of the copy kernel a fit compiles.
                backend.dense.copy(view.reshape(-1), value.reshape(-1))
            layer.params[name] = view
            layer.grads[name] = self.grads[offset:offset + size].reshape(value.shape)
            self.offsets[id(layer), name] = (offset, size)
            offset += _padded(size)
        self._views = [(layer, name, layer.params[name], layer.grads[name])
                       for layer, name in entries]

    def is_current(self, network):
        """Whether ``network``'s parameters and gradients are still these views."""
        entries = list(network.parameters())
        return len(entries) == len(self._views) and all(
            layer is a and name == b and layer.params[name] is p and layer.grads[name] is g
            for (layer, name), (a, b, p, g) in zip(entries, self._views))

    def views(self, flat, network):
        """One view of ``flat`` (shaped as this buffer) per parameter, in
        ``network.parameters()`` order."""
        views = []
        for layer, name in network.parameters():
            offset, size = self.offsets[id(layer), name]
            views.append(flat[offset:offset + size].reshape(layer.params[name].shape))
        return views

    def group(self, slots):
        """``(params, grads, slots, decay_stop)``: the whole buffers, the
        optimizer's ``slots`` (shaped as :attr:`params`), and where the
        parameters that take the L2 penalty end (:attr:`split`)."""
        return self.params, self.grads, slots, self.split

    def replica_gradients(self, network, replica, backend):
        """Make ``replica``'s gradients (a :meth:`~skneuro.nn.Network.replicate` of
        ``network``) views of a flat buffer laid out as :attr:`grads`, so that
        the replicas' gradients add up in a few calls; return the buffer."""
        grads = backend.zeros(self.grads.shape)
        for (layer, name), (copy, _) in zip(network.parameters(), replica.parameters()):
            offset, size = self.offsets[id(layer), name]
            copy.grads[name] = grads[offset:offset + size].reshape(layer.params[name].shape)
        return grads
