"""The hook of :class:`skneuro.inspection.LayerTimes` in the network's loops.

:class:`~skneuro.nn.Network` runs each plan step through :func:`run_timed`
when a timer is active (:data:`ACTIVE` not empty), else directly: one global
lookup per step when nothing is timed.
"""

import threading
import time

#: The active timers (usually none). A tuple, replaced whole, so that the
#: network's loops read it without a lock.
ACTIVE = ()

LOCK = threading.Lock()


def start(timer):
    """Make ``timer`` (it has ``_add(step, which, seconds)``) receive the steps' times."""
    global ACTIVE
    with LOCK:
        ACTIVE = (*ACTIVE, timer)


def stop(timer):
    """Stop sending times to ``timer``."""
    global ACTIVE
    with LOCK:
        ACTIVE = tuple(t for t in ACTIVE if t is not timer)


def describe(step):
    """What a plan step runs: its layer, or the kind of step and its layers."""
    layer = getattr(step, "layer", None)
    if layer is not None:
        return repr(layer)
    inner = getattr(step, "steps", None)
    if inner:
        return f"{type(step).__name__} of " + ", ".join(
            repr(s.layer) for s in inner if getattr(s, "layer", None) is not None)
    return type(step).__name__


def run_timed(timers, step, which, function, *args):
    """``function(*args)`` for ``step``'s ``which`` pass, its time added to every timer."""
    start = time.perf_counter()
    result = function(*args)
    backend = _backend_of(step)
    if backend is not None and backend.name == "cuda":
        from numba import cuda

        cuda.synchronize()
    seconds = time.perf_counter() - start
    for timer in timers:
        timer._add(step, which, seconds)
    return result


def _backend_of(step):
    layer = getattr(step, "layer", None)
    if layer is None:
        inner = getattr(step, "steps", None) or ()
        layer = next((s.layer for s in inner if getattr(s, "layer", None) is not None), None)
    return getattr(layer, "backend", None)
