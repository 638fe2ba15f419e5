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
import pandas as pd  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402

from skneuro import AutoEncoder, CNNClassifier, MLPClassifier  # noqa: E402
from skneuro._threads import dask_worker_threads  # noqa: E402
from skneuro.nn import Callback  # noqa: E402
from tests._searches import SEARCHES  # noqa: E402

pytestmark = [pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning"),
              # chunks smaller than batch_size: the batch is the chunk
              pytest.mark.filterwarnings("ignore:Got `batch_size`")]


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
        if before == 1:
            pytest.skip("Numba runs one thread on this machine: no budget to check")
        assert seen == [1, 1]  # inside the fit: the worker's share
        assert after == before  # outside it: the worker's own setting, unchanged
    # The client's process is no worker: its fits keep Numba's setting.
    assert dask_worker_threads() is None


@pytest.mark.parametrize("kind", ["grid", "randomized", "halving"])
def test_search_on_dask_scores_as_local(client, digits, kind):
    X, y = digits
    make = SEARCHES[kind]
    local = make().fit(X, y)
    with distributed.get_task_stream(client) as tasks, joblib.parallel_backend("dask"):
        remote = make().set_params(n_jobs=-1).fit(X, y)
    assert len(tasks.data) > 0  # the fits ran on the cluster
    assert [str(p) for p in remote.cv_results_["params"]] == \
        [str(p) for p in local.cv_results_["params"]]
    np.testing.assert_array_equal(remote.cv_results_["mean_test_score"],
                                  local.cv_results_["mean_test_score"])
    assert remote.best_params_ == local.best_params_


# Out of core: dask-ml's Incremental calls partial_fit once per block, in
# order when shuffle_blocks=False, passing the model from task to task (it is
# pickled between workers); ParallelPostFit predicts block by block.
# Uneven chunks, the last smaller than a batch (as a Dask array's last block often
# is); 1797 digits in all.
_SIZES = (500, 300, 400, 590, 7)


def _chunked(X, y):
    return (da.from_array(X, chunks=(_SIZES, X.shape[1])),
            None if y is None else da.from_array(y, chunks=(_SIZES,)))


def _in_memory_partial_fits(model, X, y, **kwargs):
    start = 0
    for size in _SIZES:
        part = slice(start, start + size)
        model.partial_fit(X[part], None if y is None else y[part], **kwargs)
        start += size
    return model


def _mlp():
    return MLPClassifier((32,), batch_size=50, learning_rate_init=1e-2, random_state=0)


def _cnn():
    return CNNClassifier("C-4.3, P-2, D-16", input_shape=(1, 8, 8), batch_size=50,
                         learning_rate_init=1e-2, random_state=0)


def _autoencoder():
    return AutoEncoder(n_components=4, hidden_layer_sizes=(16,), batch_size=50, random_state=0)


_MODELS = {"mlp": _mlp, "cnn": _cnn, "autoencoder": _autoencoder}


def _compiled_signatures():
    """How many specializations skneuro's Numba kernels hold in this process."""
    import sys

    from numba.core.dispatcher import Dispatcher

    return sum(len(obj.signatures) for name, module in list(sys.modules.items())
               if name.startswith("skneuro") and module is not None
               for obj in list(vars(module).values()) if isinstance(obj, Dispatcher))


@pytest.mark.parametrize("kind", list(_MODELS))
def test_partial_fit_chunks_of_any_size_compile_nothing_new(digits, kind):
    """After the first chunk, chunks of other sizes (down to one row) and predictions
    add no kernel specialization: Incremental's later blocks cost no compilation."""
    X, y = digits
    X = X / 16
    supervised = kind != "autoencoder"
    first = {"classes": np.unique(y)} if supervised else {}
    model = _MODELS[kind]().partial_fit(X[:_SIZES[0]], y[:_SIZES[0]] if supervised else None,
                                       **first)
    (model.predict if supervised else model.transform)(X[:_SIZES[0]])
    compiled = _compiled_signatures()
    assert compiled > 0
    start = _SIZES[0]
    for size in _SIZES[1:] + (1, 7):
        part = slice(start, start + size)
        model.partial_fit(X[part], y[part] if supervised else None)
        (model.predict if supervised else model.transform)(X[part])
        start = (start + size) % (len(X) - 10)
    assert _compiled_signatures() == compiled


@pytest.mark.parametrize("kind", ["mlp", "cnn"])
def test_incremental_on_dask_array_equals_in_memory_partial_fit(client, digits, kind):
    X, y = digits
    X = X / 16
    classes = np.unique(y)
    Xd, yd = _chunked(X, y)
    make = _MODELS[kind]
    with distributed.get_task_stream(client) as tasks:
        incremental = dask_ml_wrappers.Incremental(make(), shuffle_blocks=False)
        incremental.fit(Xd, yd, classes=classes)
    assert len(tasks.data) > 0  # the partial fits ran on the cluster
    reference = _in_memory_partial_fits(make(), X, y, classes=classes)
    np.testing.assert_allclose(incremental.estimator_.predict_proba(X),
                               reference.predict_proba(X), rtol=0, atol=1e-6)
    np.testing.assert_array_equal(incremental.predict(Xd).compute(), reference.predict(X))
    assert incremental.score(Xd, yd) == reference.score(X, y) > 0.5


def test_incremental_autoencoder_equals_in_memory_partial_fit(client, digits):
    X, _ = digits
    X = X / 16
    with distributed.get_task_stream(client) as tasks:
        incremental = dask_ml_wrappers.Incremental(_autoencoder(), shuffle_blocks=False)
        incremental.fit(_chunked(X, None)[0])
    assert len(tasks.data) > 0
    reference = _in_memory_partial_fits(_autoencoder(), X, None)
    np.testing.assert_allclose(incremental.transform(_chunked(X, None)[0]).compute(),
                               reference.transform(X), rtol=0, atol=1e-5)


def test_parallel_post_fit_predicts_dask_array_and_dataframe(client, digits):
    X, y = digits
    X = X / 16
    columns = [f"pixel{i}" for i in range(X.shape[1])]
    frame = pd.DataFrame(X, columns=columns)
    model = dask_ml_wrappers.ParallelPostFit(_mlp().set_params(max_iter=20)).fit(frame, y)
    fitted = model.estimator  # ParallelPostFit.fit fits its estimator in place
    expected, expected_proba = fitted.predict(frame), fitted.predict_proba(frame)

    chunks = dd.from_pandas(frame, npartitions=3)
    np.testing.assert_array_equal(np.asarray(model.predict(chunks).compute()), expected)
    np.testing.assert_allclose(np.asarray(model.predict_proba(chunks).compute()),
                               expected_proba, rtol=0, atol=1e-6)

    array_model = dask_ml_wrappers.ParallelPostFit(fitted)
    Xd, _ = _chunked(X, None)
    with pytest.warns(UserWarning, match="feature names"):  # fitted on a frame, given arrays
        np.testing.assert_array_equal(array_model.predict(Xd).compute(), expected)


def test_parallel_post_fit_transforms_dask_array_and_dataframe(client, digits):
    """An AutoEncoder fitted in memory encodes a Dask array and a Dask DataFrame
    block by block, on the cluster, as it encodes them in memory."""
    X, _ = digits
    X = X / 16
    frame = pd.DataFrame(X, columns=[f"pixel{i}" for i in range(X.shape[1])])
    on_frame = dask_ml_wrappers.ParallelPostFit(_autoencoder().set_params(max_iter=20))
    on_frame.fit(frame)
    expected = on_frame.estimator.transform(frame)
    with distributed.get_task_stream(client) as tasks:
        encoded = on_frame.transform(dd.from_pandas(frame, npartitions=3)).compute()
    assert len(tasks.data) > 0
    assert encoded.shape == (len(X), 4)
    np.testing.assert_allclose(np.asarray(encoded), expected, rtol=0, atol=1e-6)

    on_array = dask_ml_wrappers.ParallelPostFit(_autoencoder().set_params(max_iter=20)).fit(X)
    Xd, _ = _chunked(X, None)
    encoded = on_array.transform(Xd)
    assert isinstance(encoded, da.Array) and encoded.numblocks == (len(_SIZES), 1)
    np.testing.assert_allclose(encoded.compute(), on_array.estimator.transform(X),
                               rtol=0, atol=1e-6)
    assert np.abs(expected).max() > 0  # the codes are not all zero


def _fit_and_count_compiled(rows):
    X, y = load_digits(return_X_y=True)
    MLPClassifier((8,), max_iter=2, random_state=0).fit(X[:rows], y[:rows])
    return _compiled_signatures()


def test_kernels_compile_once_per_worker_process(client):
    """A second task in the same worker (other data size) adds no specialization."""
    for worker in client.scheduler_info()["workers"]:
        first = client.submit(_fit_and_count_compiled, 300, pure=False, workers=[worker]).result()
        again = client.submit(_fit_and_count_compiled, 500, pure=False, workers=[worker]).result()
        assert first > 0
        assert again == first


def test_cuda_workers_each_run_on_their_own_gpu():
    """Two workers on a machine with two GPUs, started as dask-cuda's LocalCUDACluster
    starts them: worker i with ``CUDA_VISIBLE_DEVICES`` listing GPU i first. A fit with
    ``device="cuda"`` in each must run on that worker's GPU, and leave its
    ``CUDA_VISIBLE_DEVICES`` and current device as they were. The GPUs are a stand-in
    (tests/_gpu_standin.py) over Numba's simulator: no test machine has two.
    """
    from tests._gpu_standin import MACHINE_GPUS, fit_on_cuda_and_report_placement

    visible = {"gpu0": "0,1", "gpu1": "1,0"}  # LocalCUDACluster's rotation for 2 GPUs
    workers = {name: {"cls": distributed.Nanny,
                      "options": {"nthreads": 1, "env": {"CUDA_VISIBLE_DEVICES": devices}}}
               for name, devices in visible.items()}
    # No dashboard, and its HTTP server on any free port (the module's cluster has 8787).
    scheduler = {"cls": distributed.Scheduler,
                 "options": {"dashboard": False, "dashboard_address": ":0"}}
    with distributed.SpecCluster(workers=workers, scheduler=scheduler) as cluster, \
            distributed.Client(cluster) as client:
        client.wait_for_workers(2)
        names = {info["name"]: address
                 for address, info in client.scheduler_info()["workers"].items()}
        futures = {name: client.submit(fit_on_cuda_and_report_placement, pure=False,
                                       workers=[names[name]]) for name in visible}
        reports = {name: future.result() for name, future in futures.items()}
    for name, devices in visible.items():
        report, own = reports[name], MACHINE_GPUS[int(devices[0])]
        assert report["env_before"] == report["env_after"] == devices
        assert report["before"] == report["after"] == {"id": 0, "uuid": own,
                                                       "visible_devices": devices}
        assert report["n_allocations"] > 0
        assert report["allocated_on"] == [own]  # every array of the fit on this worker's GPU
        assert report["device_1"] not in (None, own)  # the stand-in tells the GPUs apart
    assert reports["gpu0"]["before"]["uuid"] != reports["gpu1"]["before"]["uuid"]


def test_current_cuda_device_in_this_process(monkeypatch):
    from skneuro.backends import devices

    # Numba's simulator: one device, numbered 0 (the stand-in above numbers several).
    found = devices.current_cuda_device()
    assert found["id"] == 0 and found["uuid"].startswith("GPU-")
    monkeypatch.setattr(devices, "cuda_unavailable_reason", lambda: "no GPU here")
    with pytest.raises(RuntimeError, match="no GPU here"):
        devices.current_cuda_device()
