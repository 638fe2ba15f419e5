"""What both kernel families share: activation codes and shape arithmetic.

The CPU kernels (:mod:`skneuro.kernels.cpu`) and the CUDA kernels
(:mod:`skneuro.kernels.cuda`) take an activation as a small integer code
(a compiled kernel cannot take a Python callable cheaply); the engine names
activations by string. Both sides read the codes from here, so neither
kernel family imports the other and the engine imports neither.
"""

IDENTITY = 0
STEP = 1
SIGMOID = 2
TANH = 3
RELU = 4
LEAKY_RELU = 5
SILU = 6
GELU = 7

#: Codes whose backward kernels take the pre-activation instead of the output
#: (the derivative of SiLU and GELU is not a function of their output).
INPUT_DERIVATIVE = frozenset({SILU, GELU})

#: Constants of GELU's tanh approximation: sqrt(2 / pi) and the cubic term.
GELU_C = 0.7978845608028654
GELU_A = 0.044715

#: Smallest first uniform of Box-Muller (the Gaussian layers' draws): log(0)
#: would be -inf. It bounds a draw at sqrt(-2 log 1e-7) = 5.7 standard
#: deviations.
U_MIN = 1e-7

#: Activation names (with their aliases) to codes.
CODES = {
    "identity": IDENTITY,
    "step": STEP,
    "sigmoid": SIGMOID,
    "logistic": SIGMOID,
    "tanh": TANH,
    "relu": RELU,
    "leaky_relu": LEAKY_RELU,
    "silu": SILU,
    "swish": SILU,
    "gelu": GELU,
}


def pooled_size(size, k, s):
    """Output length of a clipped pooling window ``k`` with stride ``s`` over ``size``.

    Windows start at 0, s, 2s, ... while the last full window has not reached
    the end; every window starts inside the input, also when ``s > k``.
    """
    if size <= k:
        return 1
    return min(-(-(size - k) // s) + 1, (size - 1) // s + 1)


def check_layer_counts(weights, biases, codes, params, outs):
    """Raise ValueError unless there is one of each argument per layer (both backends)."""
    if not len(weights) == len(biases) == len(codes) == len(params) == len(outs):
        raise ValueError("forward_chain: one weight matrix, bias, code, parameter and "
                         "output per layer")
