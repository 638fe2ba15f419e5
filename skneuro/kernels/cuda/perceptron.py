"""CUDA sibling of :mod:`skneuro.kernels.cpu.perceptron`.

The rule is sequential over examples but independent across output neurons:
one block, one thread per neuron, examples in the given order. A shared flag
records whether any neuron got an example wrong.
"""

from numba import cuda, int32

from skneuro.kernels.cuda._launch import check_device


@cuda.jit
def _epoch(X, targets, weights, order, eta, sample_weight, n_errors):
    c = cuda.threadIdx.x
    n_neurons, n_weights = weights.shape
    n_features = n_weights - 1
    wrong = cuda.shared.array(1, int32)
    if c == 0:
        n_errors[0] = 0
    for k in range(order.shape[0]):
        i = order[k]
        if c == 0:
            wrong[0] = 0
        cuda.syncthreads()
        if c < n_neurons:
            h = -weights[c, n_features]  # the bias input is -1
            for f in range(n_features):
                h += weights[c, f] * X[i, f]
            a = 1.0 if h > 0 else 0.0
            err = a - targets[i, c]
            if err != 0:
                wrong[0] = 1
                step = eta * sample_weight[i] * err
                for f in range(n_features):
                    weights[c, f] -= step * X[i, f]
                weights[c, n_features] += step
        cuda.syncthreads()
        if c == 0 and wrong[0] == 1:
            n_errors[0] += 1
        cuda.syncthreads()


def perceptron_epoch(X, targets, weights, order, eta, sample_weight, n_errors):
    """Present every example once, in ``order``, and apply the perceptron rule."""
    check_device(X, targets, weights, order, sample_weight, n_errors)
    threads = max(1, weights.shape[0])
    _epoch[1, threads](X, targets, weights, order, eta, sample_weight, n_errors)
