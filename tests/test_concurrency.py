"""Threads and forks around running fits and predictions.

Each test reproduces a hole that was found by probing: a fork while another
thread held a lock hung the child; a prediction during a warm-start refit
corrupted the training; interleaved thread limits left BLAS at one thread.
"""

import os
import pickle
import signal
import threading
import time
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits
from threadpoolctl import threadpool_info

from skneuro import MLPClassifier
from skneuro._locks import lock_of
from skneuro._threads import blas_threads, limit_threads
from skneuro.nn import Callback

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="fork is POSIX-only")


def _blas_threads():
    return [info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas"]


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return (X / 16).astype(np.float32), y


def _fitted(digits, **params):
    X, y = digits
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return MLPClassifier((32,), max_iter=2, random_state=0, **params).fit(X, y)


class _Pause(Callback):
    """Signals the first epoch's end, then holds the fit there for ``seconds``."""

    def __init__(self, seconds):
        self.seconds = seconds
        self.reached = threading.Event()

    def on_epoch_end(self, trainer, logs):
        if not self.reached.is_set():
            self.reached.set()
            time.sleep(self.seconds)


def _fork_and_wait(child, timeout=60):
    """Fork; the child runs ``child()`` and exits 0 if it returns; the parent
    returns the child's exit code, or fails if the child hangs."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        code = 1
        try:
            child()
            code = 0
        finally:
            os._exit(code)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.02)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    pytest.fail(f"the forked child hung for {timeout} s")


def test_fork_while_another_thread_fits_gives_a_working_child(digits):
    X, y = digits
    est = _fitted(digits, warm_start=True)
    pause = _Pause(0.5)
    est.set_params(callbacks=[pause], max_iter=3)

    def refit():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est.fit(X, y)

    worker = threading.Thread(target=refit)
    worker.start()
    assert pause.reached.wait(60)
    # The fit holds the estimator's lock now: the fork waits for it to end,
    # and the child's copy of the model is the refitted one, usable.
    code = _fork_and_wait(lambda: est.predict(X[:5]))
    worker.join()
    assert code == 0


def test_fork_while_another_thread_compiles_gives_a_working_child():
    from numba import njit
    from numba.core.compiler_lock import global_compiler_lock

    held = threading.Event()

    def compile_for_a_while():
        with global_compiler_lock:
            held.set()
            time.sleep(0.3)

    worker = threading.Thread(target=compile_for_a_while)
    worker.start()
    assert held.wait(10)

    def child():
        @njit
        def plus_one(x):
            return x + 1

        assert plus_one(1) == 2

    code = _fork_and_wait(child)
    worker.join()
    assert code == 0


def test_fork_from_a_thread_holding_the_lock_releases_it_in_the_child(digits):
    est = _fitted(digits)

    def child():
        with lock_of(est):
            est.predict(digits[0][:3])

    with lock_of(est):
        assert _fork_and_wait(child) == 0
    # and the parent's lock is still usable, by another thread too
    t = threading.Thread(target=lambda: est.predict(digits[0][:3]))
    t.start()
    t.join(30)
    assert not t.is_alive()


def test_the_child_replaces_locks_the_fork_did_not_take():
    # A lock created after the fork hook listed the locks, and held by a
    # thread that does not exist in the child, must not block the child.
    # The child's side of the hook, run here on a throwaway object.
    from skneuro import _locks

    class Thing:
        pass

    thing = Thing()
    taken, done = threading.Event(), threading.Event()

    def hold():
        with lock_of(thing):
            taken.set()
            done.wait(30)

    worker = threading.Thread(target=hold)
    worker.start()
    assert taken.wait(10)
    old = lock_of(thing)
    _locks._after_fork_in_child()
    try:
        assert lock_of(thing) is not old
        assert lock_of(thing).acquire(timeout=5)
        lock_of(thing).release()
    finally:
        done.set()
        worker.join()


def test_prediction_during_a_warm_start_refit_waits_and_changes_nothing(digits):
    X, y = digits
    first = _fitted(digits, warm_start=True)
    undisturbed = pickle.loads(pickle.dumps(first))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        undisturbed.set_params(max_iter=4).fit(X, y)

    before = first.predict_proba(X)
    pause = _Pause(0.3)
    first.set_params(max_iter=4, callbacks=[pause])
    seen = []
    fit_ended = []

    def predict_during_fit():
        assert pause.reached.wait(60)
        for _ in range(5):
            seen.append((first.predict_proba(X), bool(fit_ended)))

    worker = threading.Thread(target=predict_during_fit)
    worker.start()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        first.fit(X, y)
        fit_ended.append(True)
    worker.join()

    after = first.predict_proba(X)
    assert first.loss_curve_ == undisturbed.loss_curve_
    for a, b in zip(first.coefs_, undisturbed.coefs_):
        np.testing.assert_array_equal(a, b)
    # Each prediction saw the model before or after the refit, never a mix,
    # and the first one waited for the fit to end.
    assert len(seen) == 5
    assert all(np.array_equal(p, before) or np.array_equal(p, after) for p, _ in seen)
    assert np.array_equal(seen[0][0], after)


def test_interleaved_thread_limits_leave_blas_as_it_was(digits):
    before = _blas_threads()
    if not before or max(before) < 2:
        pytest.skip("needs a BLAS with 2 threads or more to see a leak")
    X, y = digits
    models = [_fitted(digits, n_jobs=1) for _ in range(2)]
    barrier = threading.Barrier(4)

    def predict(model):
        barrier.wait()
        for _ in range(200):
            model.predict_proba(X[:50])

    threads = [threading.Thread(target=predict, args=(models[i % 2],)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert _blas_threads() == before


def test_blas_runs_with_the_lowest_limit_of_the_calls_in_progress():
    before = _blas_threads()
    if not before or max(before) < 2:
        pytest.skip("needs a BLAS with 2 threads or more to see the limits")
    inner_entered, outer_may_leave = threading.Event(), threading.Event()
    seen = {}

    def other_call():
        with blas_threads(1):
            inner_entered.set()
            outer_may_leave.wait(10)
            seen["inner"] = _blas_threads()

    with blas_threads(2):
        worker = threading.Thread(target=other_call)
        worker.start()
        assert inner_entered.wait(10)
        seen["both"] = _blas_threads()
    seen["after_outer"] = _blas_threads()
    outer_may_leave.set()
    worker.join()
    assert all(n == 1 for n in seen["both"])
    assert all(n == 1 for n in seen["after_outer"])  # the other call still runs
    assert _blas_threads() == before


def test_limit_threads_from_many_threads_restores_numba_per_thread():
    import numba

    before = numba.get_num_threads()
    errors = []

    def work():
        try:
            for _ in range(50):
                with limit_threads(1):
                    assert numba.get_num_threads() == 1
            assert numba.get_num_threads() == numba.config.NUMBA_NUM_THREADS
        except AssertionError as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert numba.get_num_threads() == before


class _Holding(Callback):
    """A callback holding what cannot be copied (a lock and an open file)."""

    def __init__(self, path):
        self.lock = threading.Lock()
        self.file = open(path, "w")  # noqa: SIM115 - closed by the test
        self.epochs = 0

    def on_epoch_end(self, trainer, logs):
        with self.lock:
            self.epochs += 1
            self.file.write(f"{logs}\n")


def test_a_callback_holding_a_lock_and_a_file_is_kept_not_copied(digits, tmp_path):
    # The fit's transaction copies the fitted state only: it once deep-copied
    # the parameters too, and a callback like this one failed the fit.
    X, y = digits
    callback = _Holding(tmp_path / "log.txt")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est = MLPClassifier((8,), max_iter=2, random_state=0, callbacks=[callback]).fit(X, y)
    finally:
        callback.file.close()
    assert est.callbacks[0] is callback and callback.epochs == 2


def test_a_fork_from_inside_skneuro_does_not_wait_forever(digits):
    # The main thread holds A and forks; another thread holds B and waits
    # for A. Waiting for B would deadlock: the fork waits FORK_PATIENCE at
    # most, and the child gets B new.
    from skneuro import _locks

    class Thing:
        pass

    a, b = Thing(), Thing()
    holding_b = threading.Event()

    def hold_b_then_want_a():
        with lock_of(b):
            holding_b.set()
            with lock_of(a):
                pass

    with lock_of(a):
        worker = threading.Thread(target=hold_b_then_want_a)
        worker.start()
        assert holding_b.wait(10)
        started = time.monotonic()

        def child():
            assert lock_of(b).acquire(timeout=5)  # re-made: free in the child

        assert _fork_and_wait(child, timeout=30) == 0
        assert time.monotonic() - started < _locks.FORK_PATIENCE + 10
    worker.join(10)
    assert not worker.is_alive()


def test_a_second_fit_with_an_uncopyable_callback_works(digits, tmp_path):
    # The trainer keeps the callbacks: the transaction of the next fit and of
    # partial_fit must not copy them either.
    X, y = digits
    callback = _Holding(tmp_path / "log.txt")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est = MLPClassifier((8,), max_iter=2, random_state=0, warm_start=True,
                                callbacks=[callback])
            est.fit(X, y)
            est.fit(X, y)
            est.partial_fit(X, y)
    finally:
        callback.file.close()
    assert callback.epochs == 5
