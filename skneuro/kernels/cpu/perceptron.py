"""Rosenblatt's perceptron rule, one epoch over the data.

The rule is sequential by nature (each example sees the weights left by the
previous one), so this kernel is serial.
"""

from skneuro.kernels._jit import serial_kernel


@serial_kernel
def perceptron_epoch(X, targets, weights, order, eta, sample_weight, n_errors):
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
    n_errors : ndarray of shape (1,), int64
        Receives the number of examples for which at least one neuron was wrong.
    """
    n_neurons, n_weights = weights.shape
    n_features = n_weights - 1
    zero = weights.dtype.type(0.0)
    one = weights.dtype.type(1.0)
    bias_input = -one
    errors = 0
    for k in range(order.shape[0]):
        i = order[k]
        wrong = False
        for c in range(n_neurons):
            h = weights[c, n_features] * bias_input
            for f in range(n_features):
                h += weights[c, f] * X[i, f]
            a = one if h > zero else zero
            err = a - targets[i, c]
            if err != zero:
                wrong = True
                step = eta * sample_weight[i] * err
                for f in range(n_features):
                    weights[c, f] -= step * X[i, f]
                weights[c, n_features] -= step * bias_input
        if wrong:
            errors += 1
    n_errors[0] = errors
