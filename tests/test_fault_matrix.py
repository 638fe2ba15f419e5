"""The fault matrix: every estimator and method against hostile input, a real
SIGINT, and the memory of a large prediction. Each row can fail.

The other rows of the matrix live with what they test: divergence and
extreme scales (test_drop_in.py, test_mlp.py), failed refits
(test_perceptron.py, test_memory_guard.py), threads, forks and loky
(test_concurrency.py, test_runtime.py, test_mlp.py), persistence
(test_persistence.py), read-only caches (test_runtime.py), memory refusals
(test_memory_guard.py); doc/reliability.rst lists them all.
"""

import pickle
import signal
import subprocess
import sys
import textwrap
import time
import tracemalloc
import warnings

import numpy as np
import pytest

from skneuro import (
    DDPM,
    AutoEncoder,
    CNNClassifier,
    CNNRegressor,
    MLPClassifier,
    MLPRegressor,
    Perceptron,
)

RNG = np.random.default_rng(0)
X = RNG.normal(size=(40, 16))
Y_CLASS = np.arange(40) % 2
Y_REG = RNG.normal(size=40)

# (estimator, y for fit, prediction methods)
ESTIMATORS = {
    "Perceptron": (lambda: Perceptron(max_iter=3), Y_CLASS, ["predict", "decision_function"]),
    "MLPClassifier": (lambda: MLPClassifier((4,), max_iter=2), Y_CLASS,
                      ["predict", "predict_proba", "predict_log_proba"]),
    "MLPRegressor": (lambda: MLPRegressor(hidden_layer_sizes=(4,), max_iter=2), Y_REG,
                     ["predict"]),
    "CNNClassifier": (lambda: CNNClassifier("C-2.3, D-4", input_shape=(1, 4, 4), max_iter=1),
                      Y_CLASS, ["predict", "predict_proba"]),
    "CNNRegressor": (lambda: CNNRegressor("C-2.3, D-4", input_shape=(1, 4, 4), max_iter=1),
                     Y_REG, ["predict"]),
    "AutoEncoder": (lambda: AutoEncoder(2, (4,), max_iter=1), None, ["transform", "score"]),
    "DDPM": (lambda: DDPM(input_shape=(1, 4, 4), n_steps=5, channels=4, max_iter=1),
             None, ["score"]),
}

BAD_INPUTS = {
    "nan": (lambda x: np.where(np.arange(x.size).reshape(x.shape) == 3, np.nan, x),
            "NaN"),
    "inf": (lambda x: np.where(np.arange(x.size).reshape(x.shape) == 3, np.inf, x),
            "infinity"),
    "complex": (lambda x: x + 1j, "[Cc]omplex"),
    "strings": (lambda x: np.full(x.shape, "a"), "convert|could not|string"),
    "empty": (lambda x: x[:0], "0 sample"),
    "one_dimensional": (lambda x: x[0], "2D array|Expected 2D|dimension"),
    "wrong_width": (lambda x: x[:, :5], "features"),
}


def _fit(name):
    make, y, _ = ESTIMATORS[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return make().fit(X, y) if y is not None else make().fit(X)


@pytest.fixture(scope="module")
def fitted():
    return {name: _fit(name) for name in ESTIMATORS}


# fit learns the width, so a "wrong width" is the methods' fault only.
@pytest.mark.parametrize("bad", [b for b in BAD_INPUTS if b != "wrong_width"])
@pytest.mark.parametrize("name", ESTIMATORS)
def test_fit_refuses_bad_input_clearly_and_leaves_it_unchanged(name, bad):
    make, y, _ = ESTIMATORS[name]
    spoil, message = BAD_INPUTS[bad]
    X_bad = spoil(X.copy())
    before = X_bad.copy()
    y_used = None if y is None else (y[:len(X_bad)] if X_bad.ndim == 2 else y)
    with pytest.raises(ValueError, match=message), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        make().fit(X_bad, y_used) if y is not None else make().fit(X_bad)
    np.testing.assert_array_equal(X_bad, before)


@pytest.mark.parametrize("bad", BAD_INPUTS)
@pytest.mark.parametrize("name", ESTIMATORS)
def test_every_method_refuses_bad_input_clearly(fitted, name, bad):
    model = fitted[name]
    spoil, message = BAD_INPUTS[bad]
    before = pickle.dumps(model)  # weights, curves, optimizer state: the whole model
    for method in ESTIMATORS[name][2]:
        X_bad = spoil(X.copy())
        with pytest.raises(ValueError, match=message):
            getattr(model, method)(X_bad)
    assert pickle.dumps(model) == before


def _interrupt(proc, line):
    """Wait for ``line`` from the script, then press Ctrl-C (a real SIGINT)."""
    assert proc.stdout.readline().strip() == line
    time.sleep(0.2)  # well inside the work that printed the line
    proc.send_signal(signal.SIGINT)


def test_a_real_sigint_during_fit_keeps_a_fitted_model_and_stops_the_script():
    code = textwrap.dedent("""
        import numpy as np
        from skneuro import MLPClassifier
        from skneuro.nn import Callback

        class Announce(Callback):
            def on_epoch_end(self, trainer, logs):
                if trainer.epoch == 2:
                    print("training", flush=True)

        rng = np.random.default_rng(0)
        X = rng.normal(size=(4000, 50)); y = (X[:, 0] > 0).astype(int)
        # Nothing but the signal ends this fit (no stopping on a stalled loss).
        clf = MLPClassifier((256, 256), max_iter=100000, n_iter_no_change=np.inf,
                            callbacks=[Announce()], random_state=0)
        try:
            clf.fit(X, y)
        except KeyboardInterrupt as exc:
            print(type(exc).__name__, clf.n_iter_, flush=True)
            print("accuracy", clf.score(X, y), flush=True)
            raise  # as if uncaught: the script must stop here
        print("the script went on")
    """)
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        _interrupt(proc, "training")
        out, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    # Python ends on an uncaught KeyboardInterrupt by the signal itself.
    assert proc.returncode == -signal.SIGINT, err
    assert "KeyboardInterrupt: Training interrupted by the user; MLPClassifier is fitted" in err
    lines = out.strip().splitlines()
    assert len(lines) == 2, out  # "the script went on" never printed
    name, epochs = lines[0].split()
    assert name == "KeyboardInterrupt" and 2 <= int(epochs) < 100000
    assert float(lines[1].split()[1]) > 0.8  # a usable model


def test_a_real_sigint_stops_a_ddpm_fit_and_then_its_sampling_between_steps():
    """The issue's case: Ctrl-C during the fit of a diffusion model must not
    run on into sampling, and Ctrl-C during sampling stops it at once."""
    code = textwrap.dedent("""
        import time
        import numpy as np
        from skneuro import DDPM
        from skneuro.nn import Callback

        class Announce(Callback):
            def on_epoch_end(self, trainer, logs):
                if trainer.epoch == 1:
                    print("training", flush=True)

        X = np.random.default_rng(0).normal(size=(256, 64))
        model = DDPM(input_shape=(1, 8, 8), n_steps=400, channels=8, time_embedding=16,
                     max_iter=100000, n_iter_no_change=np.inf, callbacks=[Announce()],
                     random_state=0)
        try:
            model.fit(X)
        except KeyboardInterrupt as exc:
            print("fit", type(exc).__name__, model.n_iter_, flush=True)

        steps = []
        predict = model._guided_noise
        def counted(*args):
            steps.append(time.perf_counter())
            if len(steps) == 3:
                print("sampling", flush=True)
            return predict(*args)
        model._guided_noise = counted
        try:
            model.sample(512, random_state=0)
        except KeyboardInterrupt as exc:
            late = time.perf_counter() - steps[-1]
            print("sample", type(exc).__name__, len(steps), f"{late:.3f}", flush=True)
        del model._guided_noise
        again = model.sample(2, random_state=0)  # still usable
        print("again", again.shape, bool(np.isfinite(again).all()), flush=True)
    """)
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        _interrupt(proc, "training")
        fit = proc.stdout.readline().split()
        _interrupt(proc, "sampling")
        out, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert fit[:2] == ["fit", "KeyboardInterrupt"] and int(fit[2]) >= 1, (fit, err)
    sample, again = out.strip().splitlines()
    name, steps, late = sample.split()[1:]
    # Stopped within the step the signal came in (not at the chain's end, 400).
    assert name == "KeyboardInterrupt" and 3 <= int(steps) < 100, sample
    assert float(late) < 5.0, sample
    assert again == "again (2, 64) True"


def test_a_large_prediction_stays_within_its_chunks_memory():
    """20,000 images through a CNN: the extra memory is bounded by the
    prediction chunk, not by the request (the output aside)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cnn = CNNClassifier("C-8.3, P-2, D-16", input_shape=(1, 8, 8), max_iter=1,
                            random_state=0).fit(RNG.normal(size=(64, 64)), np.arange(64) % 3)
    images = RNG.normal(size=(20000, 64)).astype(np.float32)
    cnn.predict_proba(images[:512])  # buffers of one chunk, allocated once
    tracemalloc.start()
    try:
        proba = cnn.predict_proba(images)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert proba.shape == (20000, 3)
    output = 20000 * 3 * 8 * 2  # the compute-dtype result and its float copies
    assert peak - output < 10 * 2**20, peak
