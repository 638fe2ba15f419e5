"""skneuro on Ray: a search under Ray's joblib backend scores as the local search.

A local Ray with 2 CPUs, started once for the module. See doc/scaling.rst.
"""

import os

import numpy as np
import pytest

ray = pytest.importorskip("ray", reason="needs ray (pip install .[scale])")

import joblib  # noqa: E402
from ray.util.joblib import register_ray  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from skneuro import MLPClassifier  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def ray_local():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    register_ray()
    try:
        yield
    finally:
        ray.shutdown()


def test_grid_search_on_ray_scores_as_local(ray_local):
    X, y = load_digits(return_X_y=True)
    pipeline = make_pipeline(StandardScaler(),
                             MLPClassifier((16,), max_iter=5, batch_size=64, random_state=0))
    grid = {"mlpclassifier__alpha": [1e-4, 1e-1]}
    local = GridSearchCV(pipeline, grid, cv=3).fit(X, y)
    with joblib.parallel_backend("ray"):
        remote = GridSearchCV(pipeline, grid, cv=3, n_jobs=-1).fit(X, y)
        pids = joblib.Parallel(n_jobs=-1)(joblib.delayed(os.getpid)() for _ in range(4))
    assert os.getpid() not in pids  # the backend runs tasks in Ray's worker processes
    np.testing.assert_array_equal(remote.cv_results_["mean_test_score"],
                                  local.cv_results_["mean_test_score"])
    assert remote.best_params_ == local.best_params_
