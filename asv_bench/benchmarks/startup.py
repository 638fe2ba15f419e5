"""Start-up: a fresh process that imports skneuro, fits a small MLP and predicts.

Issue 20's measure: the seconds beyond importing numpy and scikit-learn alone,
with a warm Numba cache (what every GridSearchCV worker process pays) and with
an empty one (a new environment: every kernel the fit uses compiles). Each is
the median of fresh Python processes, timed inside them, so the interpreter's
own start is left out.
"""

import os
import statistics
import subprocess
import sys
import tempfile

SNIPPET = """
import time
import warnings
import numpy as np
import sklearn.base, sklearn.utils.validation  # the baseline: what skneuro builds on
start = time.perf_counter()
from skneuro import MLPClassifier
rng = np.random.default_rng(0)
X = rng.normal(size=(200, 20)).astype(np.float32)
y = (X[:, 0] > 0).astype(int)
with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # ConvergenceWarning: 5 epochs on purpose
    MLPClassifier((32,), max_iter=5, random_state=0).fit(X, y).predict(X)
print(time.perf_counter() - start)
"""


def run_once(cache):
    """Seconds of the snippet in a fresh process with Numba's cache in ``cache``."""
    env = dict(os.environ, NUMBA_CACHE_DIR=cache)
    out = subprocess.run([sys.executable, "-c", SNIPPET], env=env, check=True,
                         capture_output=True, text=True).stdout
    return float(out.strip().splitlines()[-1])


class StartUp:
    """Seconds of ``import skneuro`` + fit + predict in a fresh process."""

    unit = "seconds"
    number = 1
    repeat = 1
    timeout = 300

    def setup(self):
        self._cache = tempfile.TemporaryDirectory()

    def teardown(self):
        self._cache.cleanup()

    def track_warm_cache(self):
        run_once(self._cache.name)  # fills the cache
        return statistics.median(run_once(self._cache.name) for _ in range(3))

    def track_cold_cache(self):
        return run_once(self._cache.name)  # an empty cache: everything compiles
