"""Per-object locks, and the fork safety of every lock skneuro relies on.

An estimator's fit and its predictions take turns (:func:`lock_of`): a
network keeps its activations in buffers reused from call to call, and a
warm-start refit updates the weights a prediction reads. The locks live in a
weak registry outside the objects, so pickling, copies and ``clone`` need not
know about them.

A ``fork`` copies a process with only the forking thread alive: a lock held by
any other thread at that moment would stay held in the child forever, and the
child would hang at its next prediction (or at Numba's next compilation). So
before a fork, the forking thread takes every registered lock and Numba's
compiler lock, waiting for running fits, predictions and compilations to end;
parent and child release them afterwards. The locks are taken with a timeout
and all released again on a miss (then retried), so a thread holding one lock
while waiting for another cannot deadlock the fork. A fork made from inside
skneuro (a fit's callback) waits at most ``FORK_PATIENCE`` seconds, as the
locks it holds itself may be what the others wait for; the child re-makes any
lock the fork could not take.
"""

import functools
import os
import threading
import time
import weakref

# Per-object re-entrant locks, and the module-level locks registered as fork-safe.
_OBJECT_LOCKS = weakref.WeakKeyDictionary()
_MODULE_LOCKS = []
_GUARD = threading.Lock()

#: Seconds a fork waits for a second lock before releasing all it took and
#: starting again (see module docstring).
_RETRY_AFTER = 0.05

#: Seconds a fork made from inside skneuro (from a callback of a fit, say)
#: waits for the other locks before forking without those still held.
FORK_PATIENCE = 2.0


def lock_of(obj):
    """The re-entrant lock of ``obj`` (created on first use, never pickled).

    Parameters
    ----------
    obj : object
        Any weak-referenceable object (an estimator, a network).

    Returns
    -------
    lock : threading.RLock
    """
    lock = _OBJECT_LOCKS.get(obj)
    if lock is None:
        with _GUARD:
            lock = _OBJECT_LOCKS.get(obj)
            if lock is None:
                lock = _OBJECT_LOCKS[obj] = threading.RLock()
    return lock


def fork_safe_lock():
    """A new ``threading.Lock`` that a fork never leaves held in the child.

    Returns
    -------
    lock : threading.Lock
    """
    lock = threading.Lock()
    with _GUARD:
        _MODULE_LOCKS.append(lock)
    return lock


def synchronized(method):
    """Run ``method`` holding its instance's lock (:func:`lock_of`).

    The public prediction methods use it, so that a prediction from another
    thread waits for a running fit of the same estimator instead of reading
    half-updated weights.
    """

    @functools.wraps(method)
    def locked(self, *args, **kwargs):
        with lock_of(self):
            return method(self, *args, **kwargs)

    return locked


def _numba_compiler_lock():
    try:
        from numba.core.compiler_lock import global_compiler_lock
    except ImportError:  # pragma: no cover - numba is a dependency
        return None
    return getattr(global_compiler_lock, "_lock", None)


def _acquire_all(locks, patience=None):
    """Take every lock in ``locks``; on a timeout release all and start again.

    With ``patience`` (seconds), give up waiting after it and take, without
    waiting, those that are free: the ones left are re-made in the child.
    """
    order = list(locks)
    deadline = None if patience is None else time.monotonic() + patience
    while deadline is None or time.monotonic() < deadline:
        taken = []
        for i, lock in enumerate(order):
            first = not taken and deadline is None
            if lock.acquire(timeout=-1 if first else _RETRY_AFTER):
                taken.append(lock)
                continue
            for held in reversed(taken):
                held.release()
            # Wait on the contended lock first next time.
            order.insert(0, order.pop(i))
            break
        else:
            return taken
    return [lock for lock in order if lock.acquire(blocking=False)]


def _owned_here(lock):
    is_owned = getattr(lock, "_is_owned", None)  # RLocks say whether this thread holds them
    return bool(is_owned and is_owned())


_HELD_ACROSS_FORK = []


def _before_fork():
    with _GUARD:
        locks = list(_OBJECT_LOCKS.values()) + list(_MODULE_LOCKS)
    compiler = _numba_compiler_lock()
    if compiler is not None:
        locks.append(compiler)
    # A thread that forks from inside skneuro (a callback of a fit, say) holds
    # locks that other threads may wait on while holding the ones it wants:
    # waiting for those could deadlock, so it waits a bounded time.
    patience = FORK_PATIENCE if any(_owned_here(lock) for lock in locks) else None
    _HELD_ACROSS_FORK[:] = _acquire_all(locks + [_GUARD], patience)


def _release_after_fork():
    held, _HELD_ACROSS_FORK[:] = list(_HELD_ACROSS_FORK), []
    for lock in reversed(held):
        lock.release()
    return held


def _after_fork_in_child():
    held = {id(lock) for lock in _release_after_fork()}
    # Locks the fork did not take (created after it listed them, or still
    # contended when its patience ran out) may be held by threads that do not
    # exist in the child: they start again unlocked.
    for obj, lock in list(_OBJECT_LOCKS.items()):
        if id(lock) not in held:
            _OBJECT_LOCKS[obj] = threading.RLock()
    compiler = _numba_compiler_lock()
    for lock in [_GUARD] + list(_MODULE_LOCKS) + ([compiler] if compiler is not None else []):
        if id(lock) not in held and hasattr(lock, "_at_fork_reinit"):
            lock._at_fork_reinit()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(before=_before_fork, after_in_parent=_release_after_fork,
                        after_in_child=_after_fork_in_child)

