"""The size guard: a network too large for the memory at hand is refused before
anything of it is allocated.

:meth:`Network.build <skneuro.nn.Network.build>` first runs every layer's
construction on shapes alone (:func:`footprint`: the weights are never drawn,
the arrays never allocated), then compares what training would hold with the
memory its backend has free (:func:`check_fits`): host memory on the CPU (the
kernel's ``MemAvailable``, within the process's address-space limit), free
device memory on the GPU. Training and prediction check again for their
number of rows (:meth:`Network.check_rows <skneuro.nn.Network.check_rows>`).

The estimate, per value of the backend's dtype: every parameter as many times
as training keeps it (the weights, their gradients and the optimizer's slots:
two copies at least, four with Adam), and every layer output three times per
row of the first batch (outputs, gradients and the caches kept for the
backward pass); or, if larger, what building needs at its peak (the
parameters, and the float64 draw of the largest weight matrix). It is meant
as a lower bound of what the kernels use, so that a network refused here
could not have run.
"""

import contextvars
import os

import numpy as np

#: Copies of each parameter while training, at least: weights and gradients
#: (the optimizer's slots come on top: see ``training_bytes``).
PARAMETER_COPIES = 2
#: Copies of each layer output per row while training: outputs, gradients, caches.
TRAINING_VALUE_COPIES = 3

# Set while Network.build measures a network: nn.init.initialize draws nothing.
SHAPES_ONLY = contextvars.ContextVar("skneuro_shapes_only", default=False)


class NetworkTooLargeError(MemoryError, ValueError):
    """A network, or a batch of rows through it, would not fit in the memory at hand.

    Raised before anything is allocated. A ``MemoryError`` (what numpy raises
    when an allocation fails) and a ``ValueError`` (what scikit-learn raises for
    a parameter that cannot work), so code written for either catches it.
    """


class ShapeOnly:
    """Stands for an array during a measurement: a shape, nothing allocated."""

    def __init__(self, shape, dtype=np.float64):
        self.shape = tuple(int(d) for d in shape)
        self.dtype = np.dtype(dtype)

    @property
    def size(self):
        return int(np.prod(self.shape, dtype=np.float64))

    @property
    def ndim(self):
        return len(self.shape)

    def reshape(self, *shape):
        shape = shape[0] if len(shape) == 1 and not isinstance(shape[0], int) else shape
        shape = tuple(shape)
        if -1 in shape:
            known = int(np.prod([d for d in shape if d != -1], dtype=np.float64))
            shape = tuple(self.size // known if d == -1 else d for d in shape)
        return ShapeOnly(shape, self.dtype)


class _ShapesBackend:
    """The arrays of ``backend`` as shapes only: layers build on it without allocating."""

    def __init__(self, backend):
        self.name = backend.name
        self.dtype = backend.dtype

    def asarray(self, x, dtype=None):
        if isinstance(x, ShapeOnly):
            return x
        return np.asarray(x, dtype=self.dtype if dtype is None else dtype)

    def empty(self, shape, dtype=None):
        shape = (shape,) if np.isscalar(shape) else shape
        return ShapeOnly(shape, self.dtype if dtype is None else dtype)

    zeros = empty

    def scalar(self, value):
        return self.dtype.type(value)


def footprint(network, backend):
    """Parameters and per-sample output values of ``network``, measured on shapes.

    The layers are built as copies on a backend of shapes, with a throwaway
    random generator, so neither ``network`` nor the caller's generator changes.

    Returns
    -------
    n_parameters : int
    values_per_row : int
        Values of every node's output for one sample.
    largest : tuple (str, int)
        The node with the most parameters, and how many.
    """
    from skneuro.nn.layers import _shallow_copy
    from skneuro.nn.network import INPUT

    shapes_backend = _ShapesBackend(backend)
    rng = np.random.default_rng(0)
    shapes = {INPUT: network.input_shape}
    n_parameters, values, largest = 0, 0, ("", 0)
    token = SHAPES_ONLY.set(True)
    try:
        for node in network.nodes:
            layer = _shallow_copy(node.layer)
            shape = layer.build([shapes[src] for src in node.inputs], shapes_backend, rng)
            shapes[node.name] = tuple(shape)
            count = sum(int(np.prod(p.shape, dtype=np.float64)) for p in layer.params.values())
            n_parameters += count
            values += int(np.prod(shape, dtype=np.float64))
            if count > largest[1]:
                largest = (node.name, count)
    finally:
        SHAPES_ONLY.reset(token)
    return n_parameters, values, largest


def host_available_bytes():
    """Bytes this process can still allocate on the host.

    The kernel's ``MemAvailable`` (free memory plus what it can reclaim),
    within the address-space limit set on the process (``ulimit -v``), if
    any. Where neither can be read (not Linux), None: nothing is refused.
    """
    available = None
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    available = int(line.split()[1]) * 1024
                    break
    except OSError:
        pass
    try:
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_AS)
        if soft != resource.RLIM_INFINITY:
            with open("/proc/self/statm") as f:
                in_use = int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
            room = max(soft - in_use, 0)
            available = room if available is None else min(available, room)
    except (ImportError, OSError, ValueError):
        pass
    return available


def available_bytes(backend):
    """Free memory where ``backend`` allocates (None: unknown, nothing is refused)."""
    if backend.name == "cuda":
        from numba import cuda

        try:
            free, _ = cuda.current_context().get_memory_info()
        except Exception:  # a context that cannot say: refuse nothing
            return None
        # The simulator reports infinite memory.
        return int(free) if np.isfinite(free) else None
    return host_available_bytes()


def describe_bytes(n):
    """``n`` bytes for a reader: ``"3.4 GiB"``."""
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


def training_bytes(n_parameters, values_per_row, rows, itemsize, largest_parameter,
                   parameter_copies=PARAMETER_COPIES):
    """Bytes that training ``rows`` rows at a time holds at least (module docstring)."""
    training = (parameter_copies * n_parameters * itemsize
                + TRAINING_VALUE_COPIES * values_per_row * rows * itemsize)
    building = n_parameters * itemsize + 8 * largest_parameter
    return max(training, building)


def check_fits(needed, backend, what, advice):
    """Raise :class:`NetworkTooLargeError` if ``needed`` bytes exceed what is free."""
    available = available_bytes(backend)
    if available is not None and needed > available:
        where = "the GPU" if backend.name == "cuda" else "this machine"
        raise NetworkTooLargeError(
            f"{what} would need at least {describe_bytes(needed)}, and {where} has "
            f"{describe_bytes(available)} free; nothing was allocated. {advice}")
