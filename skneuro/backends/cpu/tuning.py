"""How many threads a dense fit's steps run on: measured, and measured again.

A dense network's step is our product kernels on every core
(:mod:`skneuro.kernels.cpu.dense`) between short serial kernels, and its
model is the same on any number of threads. So the count can follow what
is fastest now rather than a rule: another process keeping a core busy, a
network too small for two threads to pay, or the shared virtual machines we
measure on, which have spells in which two threads run slower than one
(an MNIST epoch ~39 ms on two threads and ~27 ms on one, against ~21 ms on
two otherwise: both threads busy throughout, as if the host had put them on
one physical core).

:class:`StepThreads` times a few steps on each candidate count (every core,
and one), keeps the faster for the next :data:`PERIOD` steps, then times
again. Only the speed changes with the choice, never a result.
"""

import time

import numba

from skneuro.kernels._jit import thread_count

#: Steps timed on each candidate; the first is not counted (a new batch
#: size, a kernel's first call), the fastest of the others is.
PROBE = 4

#: Steps run on the chosen count before the candidates are timed again.
PERIOD = 200


class StepThreads:
    """The thread count of a fit's steps, chosen by timing them.

    Parameters
    ----------
    most : int
        The fit's thread count (``n_jobs``'s); the candidates are ``most`` and 1.
    """

    def __init__(self, most):
        self.candidates = (most, 1) if most > 1 else (most,)
        self.chosen = most
        self.history = []  # (step, chosen count), for the tests and the curious
        self._step = 0
        self._probe = None  # {count: [seconds, ...]} while timing the candidates
        self._until = 0

    def run(self, step):
        """Run ``step()`` (one training step) on the thread count of the moment."""
        if len(self.candidates) == 1:
            return step()
        if self._probe is None and self._step >= self._until:
            self._probe = {count: [] for count in self.candidates}
        if self._probe is None:
            result = self._on(self.chosen, step)
        else:
            count = next(c for c in self.candidates if len(self._probe[c]) < PROBE)
            start = time.perf_counter()
            result = self._on(count, step)
            self._probe[count].append(time.perf_counter() - start)
            if all(len(t) == PROBE for t in self._probe.values()):
                self.chosen = min(self.candidates, key=lambda c: min(self._probe[c][1:]))
                self.history.append((self._step, self.chosen))
                self._probe = None
                self._until = self._step + 1 + PERIOD
        self._step += 1
        return result

    @staticmethod
    def _on(count, step):
        previous = thread_count.read()
        if count == previous:
            return step()
        numba.set_num_threads(count)
        try:
            return step()
        finally:
            numba.set_num_threads(previous)
