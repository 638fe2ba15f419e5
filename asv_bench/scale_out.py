"""The same search on 1 and 2 Dask workers, and out-of-core training against in-memory.

    python asv_bench/scale_out.py            # prints a Markdown table
    python asv_bench/scale_out.py --quick    # smaller sizes: a smoke test

Search: ``GridSearchCV`` over ``StandardScaler`` + ``MLPClassifier((128,))`` on
scikit-learn's digits (1,797 rows), 4 values of ``alpha``, ``cv=3`` (12 fits of
``max_iter`` epochs each: ``n_iter_no_change=max_iter`` stops none early), under
``joblib.parallel_backend("dask")`` on a ``LocalCluster`` of 1 and then 2
worker processes with one thread each. Each cluster first runs an untimed
search (kernels compile or load from the cache once per worker process); the
timed searches alternate between the clusters, and the median and the fastest
wall time of 5 are reported, each with the ratio 1 worker / 2 workers (on a
machine shared with other work, the fastest is the less disturbed). Scores are
checked equal across the two.

Out of core: one pass of ``partial_fit`` over the digits tiled to 10 x
1,797 rows in blocks of 2,000 rows, by dask-ml's ``Incremental`` over a
Dask array (``shuffle_blocks=False``, Dask's default threaded scheduler, no
cluster) and by a loop over the same blocks of the in-memory array; samples per
second, the median of 5 after an untimed pass of each. Requires the
``scale`` extra (``pip install -e ".[scale]"``).
"""

import argparse
import logging
import os
import platform
import statistics
import time
import warnings

import numpy as np


def machine():
    from readme_sections import cpu_model

    model = cpu_model()
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"{model}, {cores} cores available to this process, {platform.system()}"


def _digits():
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    return X.astype(np.float32), y


def _search(max_iter):
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from skneuro import MLPClassifier

    pipeline = make_pipeline(StandardScaler(),
                             MLPClassifier((128,), max_iter=max_iter, n_iter_no_change=max_iter,
                                           random_state=0))
    grid = {"mlpclassifier__alpha": [1e-5, 1e-4, 1e-3, 1e-2]}
    return GridSearchCV(pipeline, grid, cv=3, n_jobs=-1)


def time_searches(repeats, max_iter):
    import joblib
    from distributed import Client, LocalCluster

    X, y = _digits()
    clusters = {n: LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                                dashboard_address=None, silence_logs=logging.ERROR)
                for n in (1, 2)}
    clients = {n: Client(cluster, set_as_default=False) for n, cluster in clusters.items()}
    times = {1: [], 2: []}
    scores = {}
    try:
        for n, client in clients.items():  # untimed: compilation or cache loads
            with joblib.parallel_backend("dask", client=client):
                scores[n] = _search(max_iter).fit(X, y).cv_results_["mean_test_score"]
        for _ in range(repeats):
            for n, client in clients.items():
                with joblib.parallel_backend("dask", client=client):
                    start = time.perf_counter()
                    _search(max_iter).fit(X, y)
                    times[n].append(time.perf_counter() - start)
    finally:
        for n in clients:
            clients[n].close()
            clusters[n].close()
    return ({n: (statistics.median(t), min(t)) for n, t in times.items()},
            bool(np.array_equal(scores[1], scores[2])))


def time_out_of_core(repeats, tiles, block):
    import dask.array as da
    from dask_ml.wrappers import Incremental

    from skneuro import MLPClassifier

    X, y = _digits()
    X = np.tile(X / 16, (tiles, 1)).astype(np.float32)
    y = np.tile(y, tiles)
    classes = np.unique(y)
    X_chunks, y_chunks = da.from_array(X, chunks=(block, 64)), da.from_array(y, chunks=block)

    def make():
        return MLPClassifier((64,), batch_size=64, random_state=0)

    def incremental():
        Incremental(make(), shuffle_blocks=False).fit(X_chunks, y_chunks, classes=classes)

    def in_memory():
        model = make()
        for start in range(0, len(X), block):
            model.partial_fit(X[start:start + block], y[start:start + block], classes=classes)

    rates = {}
    for name, run in (("Incremental over a Dask array", incremental),
                      ("partial_fit over in-memory blocks", in_memory)):
        run()  # untimed
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            run()
            times.append(time.perf_counter() - start)
        rates[name] = len(X) / statistics.median(times)
    return rates, len(X)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke test")
    args = parser.parse_args(argv)
    repeats, max_iter, tiles, block = (1, 3, 2, 500) if args.quick else (5, 100, 10, 2000)
    warnings.filterwarnings("ignore", message=".*Maximum iterations")

    import dask
    import dask_ml
    import distributed

    import skneuro

    searches, equal = time_searches(repeats, max_iter)
    rates, rows = time_out_of_core(repeats, tiles, block)
    print(f"Machine: {machine()}; skneuro {skneuro.__version__}, dask {dask.__version__}, "
          f"distributed {distributed.__version__}, dask-ml {dask_ml.__version__}.")
    print()
    print(f"GridSearchCV on digits, 12 fits of MLPClassifier((128,)), {max_iter} epochs each, "
          f"median of {repeats}:")
    print()
    print("| Dask LocalCluster | median wall time (s) | speed-up | fastest (s) | speed-up |")
    print("|---|---|---|---|---|")
    for n in (1, 2):
        (median, fastest), (median_1, fastest_1) = searches[n], searches[1]
        print(f"| {n} worker{'s' if n > 1 else ''} x 1 thread | {median:.2f} "
              f"| {median_1 / median:.2f} | {fastest:.2f} | {fastest_1 / fastest:.2f} |")
    print()
    print(f"Scores equal on 1 and 2 workers: {equal}.")
    print()
    print(f"One pass of partial_fit over {rows} rows in blocks of {block}, median of "
          f"{repeats}:")
    print()
    print("| training | samples/s | ratio to in-memory |")
    print("|---|---|---|")
    reference = rates["partial_fit over in-memory blocks"]
    for name, rate in rates.items():
        print(f"| {name} | {rate:,.0f} | {rate / reference:.2f} |")


if __name__ == "__main__":
    main()
