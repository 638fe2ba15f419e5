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
    if getattr(step, "steps", None):
        return f"{type(step).__name__} of " + ", ".join(map(repr, _layers(step)))
    return type(step).__name__


def run_timed(timers, step, which, function, *args):
    """``function(*args)`` for ``step``'s ``which`` pass, its time added to every timer."""
    start = time.perf_counter()
    result = function(*args)
    layer = next(iter(_layers(step)), None)
    if getattr(layer, "backend", None) is not None and layer.backend.name == "cuda":
        from numba import cuda

        cuda.synchronize()
    seconds = time.perf_counter() - start
    for timer in timers:
        timer._add(step, which, seconds)
    return result


def _layers(step):
    """The layers a plan step runs: its own, or those of the steps it groups."""
    layer = getattr(step, "layer", None)
    if layer is not None:
        return [layer]
    return [s.layer for s in getattr(step, "steps", None) or ()
            if getattr(s, "layer", None) is not None]
