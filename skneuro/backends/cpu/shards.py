"""Data parallelism on the CPU: each batch split into fixed shards, run by replicas.

A strategy of the CPU backend (``train_step``, ``evaluate`` and ``predict``
with ``n_shards > 1``); the CUDA backend runs whole batches.

Why: the matrix products run in BLAS, with BLAS's threads, but every other
kernel runs serially, because a parallel Numba region started between two
BLAS calls fights BLAS's still-spinning threads for the cores. In a
convolutional network those other kernels (the convolutions in lanes and
their layout changes, pooling, activations) take most of the time. Splitting each batch into
shards, each run forward and backward by a replica of the network in its own
Python thread (the kernels and numpy's products release the GIL) with BLAS
limited to one thread, puts all of them on every core.

Reproducibility: the shards are fixed by the batch size, not by the number
of threads. With one thread they run one after another in the calling
thread; the shards' gradients are added in shard order; layers that draw
random numbers draw for their rows of the whole batch (see
:meth:`~skneuro.nn.layers.Layer.start_shard`). The model is therefore the
same for any number of threads, and the masks are those of the unsharded
batch.

Large dense layers (a CNN's head: 2352 x 1024 weights in the course's
network) compute their weight gradient once for the whole batch instead of
once per shard: each shard's rows of the layer's input and output gradient
are copied into batch-wide arrays, and the product ``X.T @ delta`` is split
by rows of the gradient between the threads. One product over all rows (K =
64) runs about 1.5x faster than two over half of them (K = 32), and the sum
of the shards' copies of that gradient (a pass over megabytes) disappears.
The split is fixed, so the result is still the same for any number of
threads.
"""

import concurrent.futures
import os

import numba
import numpy as np

from skneuro._threads import blas_threads

#: Fewest rows worth a shard of their own: below, the shards' overhead
#: (a thread hand-off, the gradient sums) outweighs the parallel kernels.
MIN_SHARD_ROWS = 8

#: Dense layers with at least this many weights get their weight gradient
#: from one product over the whole batch (see the module docstring); below
#: it, a shard's own product is as fast.
FUSED_WEIGHT_GRAD_MIN = 2**18

def single_threaded_blas():
    """A context limiting BLAS to one thread."""
    return blas_threads(1)


def shard_bounds(n_rows, n_shards):
    """Row ranges ``[(start, stop), ...]`` of the shards of an ``n_rows`` batch.

    At most ``n_shards``, each of at least ``MIN_SHARD_ROWS`` rows (one shard
    for small batches), as equal as possible; fixed by ``n_rows`` alone.
    """
    count = max(1, min(n_shards, n_rows // MIN_SHARD_ROWS))
    return [(k * n_rows // count, (k + 1) * n_rows // count) for k in range(count)]


def _part(size, part, n_parts):
    """``[lo, hi)`` of part ``part`` of ``n_parts`` near-equal parts of ``size`` elements."""
    return part * size // n_parts, (part + 1) * size // n_parts


def _outside(lo, hi, ranges):
    """The pieces of ``[lo, hi)`` outside the sorted, disjoint ``(start, size)`` ranges."""
    for start, size in ranges:
        if start >= hi:
            break
        if start > lo:
            yield lo, start
        lo = max(lo, start + size)
    if lo < hi:
        yield lo, hi


def _wait_for_all(futures):
    """Wait for every future, even through Ctrl-C, then raise what came.

    A KeyboardInterrupt reaches the waiting thread only: a worker goes on
    with its shard (a compiled kernel cannot be stopped) and writes into the
    replicas' buffers, or into the parameters during an update. Leaving it
    running would let it write while the interrupted fit restores its best
    weights, or while the next call reuses the same buffers. The wait is one
    shard's work at most.
    """
    interrupt = None
    for future in futures:
        while True:
            try:
                future.result()
                break
            except KeyboardInterrupt as exc:  # the signal came during the wait
                interrupt = exc
    if interrupt is not None:
        raise interrupt


class Shards:
    """Replicas of a network (and its loss) that run the shards of a batch.

    Parameters
    ----------
    network : Network
        The original: shard 0 runs on it, and the shards' gradients are
        summed into its ``grads``.
    loss : Loss or None
        Needed for training steps only.
    n_shards : int
        Shards per batch (fewer for small batches, see :func:`shard_bounds`).
    """

    def __init__(self, network, loss, n_shards):
        self.network = network
        self.loss = loss
        self.n_shards = int(n_shards)
        self.replicas = [network] + [network.replicate() for _ in range(self.n_shards - 1)]
        self.losses = ([loss] + [loss.replicate() for _ in range(self.n_shards - 1)]
                       if loss is not None else None)
        self._pool = None
        self._pool_pid = None
        self._bounds = []
        #: Indices of the layers whose weight gradient the shards compute together:
        #: large dense layers of Dense's own class (its backward honours
        #: defer_weight_grad).
        self._fused = [i for i, layer in enumerate(network.layers)
                       if type(layer).__dict__.get("op") == "dense"
                       and layer.params["W"].size >= FUSED_WEIGHT_GRAD_MIN]
        self._stacks = {}
        self._pending = []

    def is_current(self, network, loss):
        """Whether the replicas still share ``network``'s parameters (same arrays)."""
        if self.network is not network or (loss is not None and self.loss is not loss):
            return False
        originals = network.layers
        return all(a.params is b.params for replica in self.replicas[1:]
                   for a, b in zip(replica.layers, originals))

    def _run(self, tasks):
        """Run callables, the first in this thread; in parallel if Numba allows threads."""
        n_threads = min(len(tasks), numba.get_num_threads())
        if n_threads <= 1:
            for task in tasks:
                task()
            return
        if self._pool is None or self._pool_pid != os.getpid():
            # A forked child inherits the pool object but not its threads.
            self._pool = concurrent.futures.ThreadPoolExecutor(
                max_workers=self.n_shards - 1, thread_name_prefix="skneuro-shard")
            self._pool_pid = os.getpid()
        settings = np.geterr()  # numpy's error state is per thread: carry the caller's

        def in_caller_state(task):
            def run():
                with np.errstate(**settings):
                    task()
            return run

        futures = [self._pool.submit(in_caller_state(task)) for task in tasks[1:]]
        try:
            tasks[0]()
        finally:
            _wait_for_all(futures)

    def _start(self, n_rows):
        self._bounds = shard_bounds(n_rows, self.n_shards)
        originals = self.network.layers
        for replica, (start, _) in zip(self.replicas[1:], self._bounds[1:]):
            for layer, original in zip(replica.layers, originals):
                layer.start_shard(original, start)
        return self._bounds

    def train_step(self, x, y, weight):
        """Forward, loss and backward over the shards (then :meth:`update`).

        ``weight`` is normalized over the whole batch, so the summed gradient
        is the whole batch's.
        """
        bounds = self._start(x.shape[0])
        sparse = hasattr(x, "tocsr")
        fused = self._fused if len(bounds) > 1 and not sparse else []
        stacks = [self._stack(i, x.shape[0]) for i in fused]
        copy = self.network.backend.dense.copy

        def task(k, start, stop):
            def run():
                replica = self.replicas[k]
                out = replica.forward(x[start:stop], training=True)
                grad = self.losses[k](out, y[start:stop], weight[start:stop])
                replica.backward(grad)
                for i, (inputs, deltas) in zip(fused, stacks):
                    layer = replica.layers[i]
                    copy(inputs[start:stop], layer._cache_input)
                    copy(deltas[start:stop], layer._cache_delta)
            return run

        for replica in self.replicas:
            for i in fused:
                replica.layers[i].defer_weight_grad = True
        try:
            self._run([task(k, a, b) for k, (a, b) in enumerate(bounds)])
        finally:
            for replica in self.replicas:
                for i in fused:
                    replica.layers[i].defer_weight_grad = False
        self._pending = list(zip(fused, stacks))

    def _stack(self, index, n_rows):
        """Batch-wide input and output-gradient arrays of fused layer ``index``."""
        key = (index, n_rows)
        if key not in self._stacks:
            if len(self._stacks) >= 4 * max(1, len(self._fused)):
                self._stacks.clear()
            layer = self.network.layers[index]
            fan_in, units = layer.params["W"].shape
            backend = self.network.backend
            self._stacks[key] = (backend.empty((n_rows, fan_in)), backend.empty((n_rows, units)))
        return self._stacks[key]

    def update(self, optimizer, learning_rate, l2):
        """Sum the shards' gradients into the original's and take the optimizer's step.

        Both are elementwise: each thread does a fixed part of every array, so
        the result does not depend on the number of threads.
        """
        optimizer.begin_step(self.network)
        n_parts = self.n_shards
        replicas = self.replicas[1:len(self._bounds)]
        dense = self.network.backend.dense
        add_into = dense.add_into
        pending, self._pending = self._pending, []
        layers = self.network.layers
        complete = {id(layers[i]) for i, _ in pending}  # W's gradient is the batch's

        def fused_task(part):
            def run():
                for i, (inputs, deltas) in pending:
                    dW = layers[i].grads["W"]
                    lo, hi = _part(dW.shape[0], part, n_parts)
                    dense.matmul_tn(inputs[:, lo:hi], deltas, dW[lo:hi])
            return run

        if pending:
            self._run([fused_task(k) for k in range(n_parts)])

        flat = self.network.flat_parameters
        flat_grads = [replica.__dict__.get("_flat_grads") for replica in replicas]
        if flat is not None and all(g is not None for g in flat_grads):
            # Packed: each thread adds up, then updates, its part of the flat
            # buffers (the part the optimizer's update_part gives it), a few
            # calls in all, leaving out the weights whose gradient is the
            # batch's already.
            done = sorted(flat.offsets[id(layers[i]), "W"] for i, _ in pending)
            size = flat.grads.shape[0]

            def task(part):
                def run():
                    for a, b in _outside(*_part(size, part, n_parts), done):
                        for grads in flat_grads:
                            add_into(flat.grads[a:b], grads[a:b])
                    optimizer.update_part(self.network, learning_rate, l2, part, n_parts)
                return run
        else:
            def task(part):
                def run():
                    for replica in replicas:
                        for (layer, name), (copy, _) in zip(self.network.parameters(),
                                                            replica.parameters()):
                            if name == "W" and id(layer) in complete:
                                continue
                            mine = layer.grads[name].reshape(-1)
                            lo, hi = _part(mine.size, part, n_parts)
                            add_into(mine[lo:hi], copy.grads[name].reshape(-1)[lo:hi])
                    optimizer.update_part(self.network, learning_rate, l2, part, n_parts,
                                          flat=False)
                return run

        self._run([task(k) for k in range(n_parts)])

    def accumulate(self, weight, scale, acc):
        """``acc[0] += scale * sum(weight * row_loss)`` over the last step's shards, in order."""
        for loss, (start, stop) in zip(self.losses, self._bounds):
            loss.accumulate(weight[start:stop], scale, acc)

    def forward(self, x, out):
        """Write the network's output for ``x`` into ``out`` (prediction, no dropout)."""
        bounds = self._start(x.shape[0])

        def task(k, start, stop):
            def run():
                out[start:stop] = self.replicas[k].forward(x[start:stop], training=False)
            return run

        self._run([task(k, a, b) for k, (a, b) in enumerate(bounds)])
        return out

    def close(self):
        """Stop the worker threads."""
        if self._pool is not None and self._pool_pid == os.getpid():
            self._pool.shutdown(wait=True)
        self._pool = None


def shards_for(network, loss, n_shards):
    """The :class:`Shards` kept on ``network`` (built, or rebuilt if stale)."""
    shards = network.__dict__.get("_shards")
    if shards is None or shards.n_shards != n_shards or not shards.is_current(network, loss):
        if shards is not None:
            shards.close()
        shards = network.__dict__["_shards"] = Shards(network, loss, n_shards)
    return shards
