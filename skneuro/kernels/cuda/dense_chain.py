"""CUDA sibling of :mod:`skneuro.kernels.cpu.dense_chain`.

On the GPU a layer's product and activation are already one launch each,
with no Python between the threads of a launch; the chain runs the layers'
kernels one after the other, on the device arrays, with the CPU module's
interface (and the same results as the layers run one by one).
"""

from skneuro.kernels.codes import check_layer_counts
from skneuro.kernels.cuda.activations import bias_activation_forward
from skneuro.kernels.cuda.dense import matmul_rows


def forward_chain(x, weights, biases, codes, params, outs):
    """``outs[l] = g_l(h @ weights[l] + biases[l])``, ``h`` being ``x``, then ``outs[l - 1]``.

    The arguments are those of :func:`skneuro.kernels.cpu.dense_chain.forward_chain`,
    as device arrays (``codes`` and ``params`` stay host arrays).
    """
    check_layer_counts(weights, biases, codes, params, outs)
    h = x
    for w, b, code, param, out in zip(weights, biases, codes, params, outs):
        matmul_rows(h, w, out)
        bias_activation_forward(out, b, int(code), param)
        h = out
