"""The thread count of a dense fit's steps, chosen by timing them
(:mod:`skneuro.backends.cpu.tuning`)."""

import time
import warnings

import numba
import numpy as np
import pytest
from numpy.testing import assert_array_equal
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning

from skneuro import MLPClassifier
from skneuro.backends.cpu import tuning

pytestmark = pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2,
                                reason="one Numba thread: there is no count to choose")


def _slow_on(slow_count, seconds=2e-3):
    """A step that takes ``seconds`` longer on ``slow_count`` threads, and records
    the count it ran on."""
    seen = []

    def step():
        seen.append(numba.get_num_threads())
        if seen[-1] == slow_count:
            time.sleep(seconds)
        return len(seen)

    return step, seen


@pytest.mark.parametrize("slow_count", [1, 2])
def test_the_faster_count_is_kept_until_the_next_timing(slow_count, monkeypatch):
    monkeypatch.setattr(tuning, "PERIOD", 10)
    before = numba.get_num_threads()
    numba.set_num_threads(2)
    try:
        tuner = tuning.StepThreads(2)
        step, seen = _slow_on(slow_count)
        results = [tuner.run(step) for _ in range(2 * (2 * tuning.PROBE + 10))]
        assert numba.get_num_threads() == 2  # restored after every step
    finally:
        numba.set_num_threads(before)
    fast = 3 - slow_count
    assert results == list(range(1, len(results) + 1))  # each step ran once, in order
    probe = 2 * tuning.PROBE
    assert seen[:probe] == [2] * tuning.PROBE + [1] * tuning.PROBE
    assert seen[probe:probe + 10] == [fast] * 10
    assert seen[probe + 10:2 * probe + 10] == seen[:probe]  # timed again
    assert [count for _, count in tuner.history] == [fast, fast]


def test_one_thread_has_nothing_to_choose():
    tuner = tuning.StepThreads(1)
    step, seen = _slow_on(1)
    for _ in range(10):
        tuner.run(step)
    assert tuner.history == [] and len(seen) == 10


def test_a_fit_times_its_steps_and_its_model_does_not_depend_on_the_choice(monkeypatch):
    """Whatever count the timing picks, step by step, the model is the one
    n_jobs=1 gives (the products and updates are the same on any count)."""
    X, y = load_digits(return_X_y=True)
    X = (X / 16).astype(np.float32)
    params = dict(hidden_layer_sizes=(64,), batch_size=64, max_iter=3, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        one = MLPClassifier(**params, n_jobs=1).fit(X, y)
        chosen = []
        original = tuning.StepThreads.run

        def record(self, step):
            chosen.append(self)
            return original(self, step)

        monkeypatch.setattr(tuning, "PERIOD", 3)
        monkeypatch.setattr(tuning.StepThreads, "run", record)
        two = MLPClassifier(**params, n_jobs=2).fit(X, y)
    assert chosen and len(chosen[0].history) >= 5  # timed again and again
    for a, b in zip(one.network_.get_weights(), two.network_.get_weights()):
        assert_array_equal(a, b)
