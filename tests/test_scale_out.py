"""skneuro on Dask: searches on a LocalCluster, thread budget in workers, out-of-core training.

The cluster is real (2 worker processes, one thread each, started once for the
module). Searches run there with ``joblib.parallel_backend("dask")`` and must
score as the same search run locally; dask-ml's ``Incremental`` and
``ParallelPostFit`` must train and predict as the in-memory calls on the same
chunks. See doc/scaling.rst.
"""

import numba
import numpy as np
import pytest

distributed = pytest.importorskip("distributed", reason="needs distributed (pip install .[scale])")
da = pytest.importorskip("dask.array", reason="needs dask[array] (pip install .[scale])")
dd = pytest.importorskip("dask.dataframe", reason="needs dask[dataframe] (pip install .[scale])")
dask_ml_wrappers = pytest.importorskip("dask_ml.wrappers",
                                       reason="needs dask-ml (pip install .[scale])")

import joblib  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.experimental import enable_halving_search_cv  # noqa: E402, F401
from sklearn.model_selection import (  # noqa: E402
    GridSearchCV,
    HalvingGridSearchCV,
    RandomizedSearchCV,
)
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from skneuro import MLPClassifier  # noqa: E402
from skneuro.nn import Callback  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=None)
    client = distributed.Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X.astype(np.float32), y


class _RecordThreads(Callback):
    """Numba's thread count seen by the training loop, once per epoch."""

    def __init__(self):
        self.seen = []

    def on_epoch_end(self, trainer, logs):
        self.seen.append(numba.get_num_threads())


def _fit_and_report_threads():
    X, y = load_digits(return_X_y=True)
    record = _RecordThreads()
    before = numba.get_num_threads()
    MLPClassifier((8,), max_iter=2, random_state=0, callbacks=[record]).fit(X[:200], y[:200])
    return before, record.seen, numba.get_num_threads(), distributed.get_worker().state.nthreads


def test_numba_threads_in_worker_are_its_share(client):
    workers = list(client.scheduler_info()["workers"])
    assert len(workers) == 2
    futures = [client.submit(_fit_and_report_threads, pure=False, workers=[w]) for w in workers]
    for before, seen, after, nthreads in client.gather(futures):
        assert nthreads == 1
        assert seen == [1, 1]  # inside the fit: the worker's share
        assert after == before  # outside it: the worker's own setting, unchanged
    # The client's process is no worker: its fits keep Numba's setting.
    assert skneuro_threads().dask_worker_threads() is None


def skneuro_threads():
    import skneuro._threads

    return skneuro._threads


def _pipeline():
    return make_pipeline(StandardScaler(),
                         MLPClassifier((16,), max_iter=5, batch_size=64, random_state=0))


def _searches():
    grid = {"mlpclassifier__alpha": [1e-4, 1e-1], "mlpclassifier__learning_rate_init": [1e-3]}
    return {
        "grid": lambda: GridSearchCV(_pipeline(), grid, cv=3),
        "randomized": lambda: RandomizedSearchCV(
            _pipeline(), {"mlpclassifier__alpha": np.logspace(-5, 0, 20)}, n_iter=2, cv=3,
            random_state=0),
        "halving": lambda: HalvingGridSearchCV(
            _pipeline(), {"mlpclassifier__alpha": [1e-5, 1e-3, 1e-1]}, cv=3, factor=3,
            min_resources=300, random_state=0),
    }


@pytest.mark.parametrize("kind", ["grid", "randomized", "halving"])
def test_search_on_dask_scores_as_local(client, digits, kind):
    X, y = digits
    make = _searches()[kind]
    local = make().fit(X, y)
    with distributed.get_task_stream(client) as tasks, joblib.parallel_backend("dask"):
        remote = make().set_params(n_jobs=-1).fit(X, y)
    assert len(tasks.data) > 0  # the fits ran on the cluster
    assert [str(p) for p in remote.cv_results_["params"]] == \
        [str(p) for p in local.cv_results_["params"]]
    np.testing.assert_array_equal(remote.cv_results_["mean_test_score"],
                                  local.cv_results_["mean_test_score"])
    assert remote.best_params_ == local.best_params_
