"""A training step and an evaluation pass over a whole batch (both backends)."""


def train_step(network, loss, optimizer, x, y, weight, learning_rate, l2):
    """Forward, loss, backward and update on one batch; returns what holds the
    batch's per-row losses (``loss``: its ``accumulate`` adds them up)."""
    out = network.forward(x, training=True)
    grad = loss(out, y, weight)
    network.backward(grad)
    optimizer.step(network, learning_rate, l2)
    return loss


def evaluate(network, x):
    """The network's output for ``x`` (no dropout), owned by its last layer."""
    return network.forward(x, training=False)
