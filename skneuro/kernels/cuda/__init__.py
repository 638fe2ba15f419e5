"""numba.cuda kernels: the siblings of :mod:`skneuro.kernels.cpu`.

Same module names, function names and argument order as the CPU kernels, over
device arrays. Each public function launches a kernel (declared with
:func:`skneuro.kernels.cuda._launch.kernel`, numba-cuda's ``cuda.jit`` typed
once per kind of arguments) with a grid-stride loop; reductions run in a
fixed order, so results do not depend on the launch configuration.
Importing this package imports ``numba.cuda``; nothing else in skneuro does
until ``device="cuda"`` is asked for.

Every public function refuses host (numpy) arrays: a host array handed to a
CUDA kernel would be copied silently, and the device-resident training loop
promises no copies per batch.
"""

from skneuro._cuda_target import prepare_target

# numba-cuda's CUDA target loads here, inside skneuro's numpy compatibility
# window (skneuro._cuda_target.numpy_compat), before any kernel compiles.
prepare_target()
