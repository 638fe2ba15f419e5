"""Rosenblatt's perceptron rule, one epoch over the data, dense or CSR rows.

The rule is sequential by nature (each example sees the weights left by the
previous one), so these kernels are serial. Around the course's rule they
apply scikit-learn's options: no intercept, and an L2 and/or L1 penalty per
example (``shrink``, ``l1``), as scikit-learn's SGD does for its Perceptron.
"""

from skneuro.kernels._jit import serial_kernel


@serial_kernel
def _penalize(weights, c, n_features, shrink, l1):
    """Weight decay of neuron ``c`` (not its bias): L2 scaling then L1 truncation."""
    zero = weights.dtype.type(0.0)
    one = weights.dtype.type(1.0)
    if shrink != one:
        for f in range(n_features):
            weights[c, f] *= shrink
    if l1 > zero:
        for f in range(n_features):
            w = weights[c, f]
            if w > l1:
                weights[c, f] = w - l1
            elif w < -l1:
                weights[c, f] = w + l1
            else:
                weights[c, f] = zero


@serial_kernel
def _judge(weights, c, n_features, h, target, eta, weight, fit_intercept, shrink, loss):
    """The rule for neuron ``c`` at activation ``h``, up to its input weights.

    Adds the example's perceptron loss, applies the L2 scaling, moves the
    bias weight, and returns the error ``a - t`` (0 when the neuron was
    right); the caller moves the input weights by ``eta * weight * error``.
    """
    zero = weights.dtype.type(0.0)
    one = weights.dtype.type(1.0)
    sign = 2 * target - one
    if sign * h < zero:
        loss[c] -= sign * h
    _penalize(weights, c, n_features, shrink, zero)
    err = (one if h > zero else zero) - target
    if err != zero and fit_intercept:
        weights[c, n_features] += eta * weight * err  # the bias input is -1
    return err


@serial_kernel
def perceptron_epoch(X, targets, weights, order, eta, sample_weight, fit_intercept, shrink,
                     l1, loss, n_errors):
    """Present every example once, in ``order``, and apply the perceptron rule.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    targets : ndarray of shape (n_samples, n_neurons)
        0/1 target of every output neuron.
    weights : ndarray of shape (n_neurons, n_features + 1)
        Updated in place. The last column is the weight of the bias input,
        whose value is fixed at -1 as in the course.
    order : ndarray of int
        Indices of the examples, in presentation order.
    eta : float
        Learning rate.
    sample_weight : ndarray of shape (n_samples,)
        Scales each example's update.
    fit_intercept : bool
        Whether the bias weight learns (False: it stays as it is).
    shrink : float
        Factor applied to the input weights before each example (an L2
        penalty: ``1 - eta * alpha * (1 - l1_ratio)``; 1 for none).
    l1 : float
        Amount by which the input weights shrink towards 0 after each example
        (an L1 penalty: ``eta * alpha * l1_ratio``; 0 for none).
    loss : ndarray of shape (n_neurons,), float64
        Receives each neuron's perceptron loss over the epoch, ``max(0, -s * h)``
        with ``s = 2 t - 1``, summed over the examples unweighted (each before
        its update), as scikit-learn's stopping rule sums it.
    n_errors : ndarray of shape (1,), int64
        Receives the number of examples for which at least one neuron was wrong.
    """
    n_neurons, n_weights = weights.shape
    n_features = n_weights - 1
    zero = weights.dtype.type(0.0)
    one = weights.dtype.type(1.0)
    bias_input = -one
    errors = 0
    for c in range(n_neurons):
        loss[c] = 0.0
    for k in range(order.shape[0]):
        i = order[k]
        wrong = False
        for c in range(n_neurons):
            h = weights[c, n_features] * bias_input
            for f in range(n_features):
                h += weights[c, f] * X[i, f]
            err = _judge(weights, c, n_features, h, targets[i, c], eta, sample_weight[i],
                         fit_intercept, shrink, loss)
            if err != zero:
                wrong = True
                step = eta * sample_weight[i] * err
                for f in range(n_features):
                    weights[c, f] -= step * X[i, f]
            _penalize(weights, c, n_features, one, l1)
        if wrong:
            errors += 1
    n_errors[0] = errors


@serial_kernel
def perceptron_epoch_sparse(data, indices, indptr, targets, weights, order, eta,
                            sample_weight, fit_intercept, shrink, l1, loss, n_errors):
    """:func:`perceptron_epoch` over CSR rows ``(data, indices, indptr)``."""
    n_neurons, n_weights = weights.shape
    n_features = n_weights - 1
    zero = weights.dtype.type(0.0)
    one = weights.dtype.type(1.0)
    bias_input = -one
    errors = 0
    for c in range(n_neurons):
        loss[c] = 0.0
    for k in range(order.shape[0]):
        i = order[k]
        start, stop = indptr[i], indptr[i + 1]
        wrong = False
        for c in range(n_neurons):
            h = weights[c, n_features] * bias_input
            for p in range(start, stop):
                h += weights[c, indices[p]] * data[p]
            err = _judge(weights, c, n_features, h, targets[i, c], eta, sample_weight[i],
                         fit_intercept, shrink, loss)
            if err != zero:
                wrong = True
                step = eta * sample_weight[i] * err
                for p in range(start, stop):
                    weights[c, indices[p]] -= step * data[p]
            _penalize(weights, c, n_features, one, l1)
        if wrong:
            errors += 1
    n_errors[0] = errors
