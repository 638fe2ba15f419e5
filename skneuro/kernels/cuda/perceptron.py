"""CUDA sibling of :mod:`skneuro.kernels.cpu.perceptron`.

The rule is sequential over examples but independent across output neurons:
one block, one thread per neuron, examples in the given order. A shared flag
records whether any neuron got an example wrong; each neuron's loss is its
own thread's sum, in example order, as on the CPU.
"""

from numba import cuda, int32

from skneuro.kernels.cuda._launch import check_device, kernel


@cuda.jit(device=True)
def _penalize(weights, c, n_features, shrink, l1):
    if shrink != 1.0:
        for f in range(n_features):
            weights[c, f] *= shrink
    if l1 > 0.0:
        for f in range(n_features):
            w = weights[c, f]
            if w > l1:
                weights[c, f] = w - l1
            elif w < -l1:
                weights[c, f] = w + l1
            else:
                weights[c, f] = 0.0


@cuda.jit(device=True)
def _judge(weights, c, n_features, h, target, eta, weight, fit_intercept, shrink, loss):
    """As the CPU's: loss, L2 scaling and bias for neuron ``c``; returns the error."""
    sign = 2.0 * target - 1.0
    if sign * h < 0:
        loss[c] -= sign * h
    _penalize(weights, c, n_features, shrink, 0.0)
    err = (1.0 if h > 0 else 0.0) - target
    if err != 0 and fit_intercept:
        weights[c, n_features] += eta * weight * err  # the bias input is -1
    return err


@kernel
def _epoch(X, targets, weights, order, eta, sample_weight, fit_intercept, shrink, l1, loss,
           n_errors):
    c = cuda.threadIdx.x
    n_neurons, n_weights = weights.shape
    n_features = n_weights - 1
    wrong = cuda.shared.array(1, int32)
    if c == 0:
        n_errors[0] = 0
    if c < n_neurons:
        loss[c] = 0.0
    for k in range(order.shape[0]):
        i = order[k]
        if c == 0:
            wrong[0] = 0
        cuda.syncthreads()
        if c < n_neurons:
            h = -weights[c, n_features]  # the bias input is -1
            for f in range(n_features):
                h += weights[c, f] * X[i, f]
            err = _judge(weights, c, n_features, h, targets[i, c], eta, sample_weight[i],
                         fit_intercept, shrink, loss)
            if err != 0:
                wrong[0] = 1
                step = eta * sample_weight[i] * err
                for f in range(n_features):
                    weights[c, f] -= step * X[i, f]
            _penalize(weights, c, n_features, 1.0, l1)
        cuda.syncthreads()
        if c == 0 and wrong[0] == 1:
            n_errors[0] += 1
        cuda.syncthreads()


@kernel
def _epoch_sparse(data, indices, indptr, targets, weights, order, eta, sample_weight,
                  fit_intercept, shrink, l1, loss, n_errors):
    c = cuda.threadIdx.x
    n_neurons, n_weights = weights.shape
    n_features = n_weights - 1
    wrong = cuda.shared.array(1, int32)
    if c == 0:
        n_errors[0] = 0
    if c < n_neurons:
        loss[c] = 0.0
    for k in range(order.shape[0]):
        i = order[k]
        start, stop = indptr[i], indptr[i + 1]
        if c == 0:
            wrong[0] = 0
        cuda.syncthreads()
        if c < n_neurons:
            h = -weights[c, n_features]
            for p in range(start, stop):
                h += weights[c, indices[p]] * data[p]
            err = _judge(weights, c, n_features, h, targets[i, c], eta, sample_weight[i],
                         fit_intercept, shrink, loss)
            if err != 0:
                wrong[0] = 1
                step = eta * sample_weight[i] * err
                for p in range(start, stop):
                    weights[c, indices[p]] -= step * data[p]
            _penalize(weights, c, n_features, 1.0, l1)
        cuda.syncthreads()
        if c == 0 and wrong[0] == 1:
            n_errors[0] += 1
        cuda.syncthreads()


def perceptron_epoch(X, targets, weights, order, eta, sample_weight, fit_intercept, shrink,
                     l1, loss, n_errors):
    """Present every example once, in ``order``, and apply the perceptron rule."""
    check_device(X, targets, weights, order, sample_weight, loss, n_errors)
    threads = max(1, weights.shape[0])
    _epoch[1, threads](X, targets, weights, order, eta, sample_weight, fit_intercept,
                       shrink, l1, loss, n_errors)


def perceptron_epoch_sparse(data, indices, indptr, targets, weights, order, eta,
                            sample_weight, fit_intercept, shrink, l1, loss, n_errors):
    """:func:`perceptron_epoch` over CSR rows ``(data, indices, indptr)``."""
    check_device(data, indices, indptr, targets, weights, order, sample_weight, loss,
                 n_errors)
    threads = max(1, weights.shape[0])
    _epoch_sparse[1, threads](data, indices, indptr, targets, weights, order, eta,
                              sample_weight, fit_intercept, shrink, l1, loss, n_errors)
