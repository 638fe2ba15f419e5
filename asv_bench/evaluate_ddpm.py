"""Do DDPM's samples look like digits? An evaluation on scikit-learn's 8x8 digits.

    python asv_bench/evaluate_ddpm.py
    python asv_bench/evaluate_ddpm.py --readme README.md

A DDPM (the default U-Net: 32 channels, 2 levels, T = 200, linear schedule,
Adam 1e-3, batch 64) trains on all 1,797 digits (pixels 0-16) for ``--epochs``
epochs (no stop on a stalled training loss), or fewer if ``--minutes`` of
training run out (a callback stops it at the time limit). It then draws 500
samples. A classifier trained on the real digits (skneuro's MLPClassifier, one
hidden layer of 256 ReLU units, pixels / 16; it is not part of what is
evaluated) judges them:

* confident: the share of samples classified with probability >= 0.9
  (target >= 70%);
* spread: the entropy of the predicted classes over log(10) (target >= 0.95,
  with all ten classes present);
* realism: the Frechet distance between the samples' and the real digits'
  hidden-layer features (the classifier's 256 ReLU units), divided by that of
  samples from a Gaussian fitted to the training pixels (mean and full
  covariance; target <= 0.8).

``--conditional`` also trains a class-conditional model (classifier-free
guidance weight 2) and asks it for 50 samples of each class: the classifier
must agree with the requested class for >= 80% of them.
"""

import argparse
import os
import sys
import time
import warnings

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

TARGETS = dict(confident=0.70, spread=0.95, frechet_ratio=0.80, conditional=0.80)
N_SAMPLES = 500


def _time_limit(minutes):
    from skneuro.nn import Callback

    class TimeLimit(Callback):
        def on_train_begin(self, trainer):
            self.start = time.perf_counter()
            self.epochs = 0

        def on_epoch_end(self, trainer, logs):
            self.epochs += 1
            if time.perf_counter() - self.start > 60 * minutes:
                raise StopIteration

    return TimeLimit()


def judge():
    """A classifier of the real digits, and its hidden features."""
    from sklearn.datasets import load_digits

    from skneuro import MLPClassifier

    X, y = load_digits(return_X_y=True)
    clf = MLPClassifier((256,), max_iter=200, random_state=0, dtype="float64")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.fit(X / 16.0, y)

    def features(samples):
        return np.maximum(samples / 16.0 @ clf.coefs_[0] + clf.intercepts_[0], 0.0)

    return X, y, clf, features


def frechet(a, b):
    """Frechet distance between Gaussians fitted to the rows of ``a`` and ``b``."""
    from scipy import linalg

    mu_a, mu_b = a.mean(axis=0), b.mean(axis=0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root = linalg.sqrtm(cov_a @ cov_b)
    root = root.real if np.iscomplexobj(root) else root
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(cov_a + cov_b - 2.0 * root))


def train(X, y, epochs, minutes, conditional):
    from skneuro import DDPM

    limit = _time_limit(minutes)
    # The whole budget: no stop on a stalled training loss (it is noisy by nature).
    model = DDPM(input_shape=(1, 8, 8), max_iter=epochs, n_iter_no_change=epochs + 1,
                 random_state=0, conditional=conditional, guidance=2.0 if conditional else 0.0,
                 callbacks=[limit])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X[:256], y[:256] if conditional else None)  # compilation
        model.set_params(max_iter=epochs)
        start = time.perf_counter()
        model.fit(X, y if conditional else None)
        fit_time = time.perf_counter() - start
    return model, fit_time, limit.epochs


def evaluate(epochs, minutes, conditional):
    X, y, clf, features = judge()
    model, fit_time, done = train(X, y, epochs, minutes, conditional=False)
    start = time.perf_counter()
    samples = model.sample(N_SAMPLES, random_state=0)
    sample_time = time.perf_counter() - start
    proba = clf.predict_proba(samples / 16.0)
    counts = np.bincount(proba.argmax(axis=1), minlength=10)
    shares = counts / counts.sum()
    entropy = -float((shares[shares > 0] * np.log(shares[shares > 0])).sum()) / np.log(10)
    gaussian = np.random.default_rng(0).multivariate_normal(
        X.mean(axis=0), np.cov(X, rowvar=False), size=N_SAMPLES)
    gaussian = np.clip(gaussian, 0.0, 16.0)
    real = features(X)
    ratio = frechet(features(samples), real) / frechet(features(gaussian), real)
    result = dict(epochs=done, fit_time=fit_time, sample_time=sample_time,
                  confident=float((proba.max(axis=1) >= 0.9).mean()), spread=entropy,
                  classes=int((counts > 0).sum()), counts=counts, frechet_ratio=ratio,
                  params=model.network_.n_parameters())
    if conditional:
        cmodel, cfit_time, cdone = train(X, y, epochs, minutes, conditional=True)
        wanted = np.repeat(np.arange(10), 50)
        got = clf.predict(cmodel.sample(len(wanted), y=wanted, random_state=0) / 16.0)
        result.update(conditional=float((got == wanted).mean()), cond_epochs=cdone,
                      cond_fit_time=cfit_time)
    return result


def report(r, minutes):
    def mark(ok):
        return "met" if ok else "NOT met"

    lines = [
        f"DDPM (U-Net, {r['params']:,} parameters, T = 200) on the 1,797 digits: "
        f"{r['epochs']} epochs in {r['fit_time'] / 60:.1f} min (limit {minutes} min); "
        f"{N_SAMPLES} samples in {r['sample_time']:.0f} s.",
        "",
        "| measure | value | target |",
        "|---|---|---|",
        f"| samples classified with probability >= 0.9 | {r['confident']:.1%} | "
        f">= 70% ({mark(r['confident'] >= TARGETS['confident'])}) |",
        f"| entropy of the predicted classes / log 10 | {r['spread']:.3f} "
        f"({r['classes']} classes) | >= 0.95, all 10 "
        f"({mark(r['spread'] >= TARGETS['spread'] and r['classes'] == 10)}) |",
        f"| Frechet distance in the classifier's features, ratio to a Gaussian's | "
        f"{r['frechet_ratio']:.2f} | <= 0.8 "
        f"({mark(r['frechet_ratio'] <= TARGETS['frechet_ratio'])}) |",
    ]
    if "conditional" in r:
        lines.append(
            f"| conditional model ({r['cond_epochs']} epochs, {r['cond_fit_time'] / 60:.1f} min), "
            f"guidance 2: classifier agrees with the requested class | {r['conditional']:.1%} | "
            f">= 80% ({mark(r['conditional'] >= TARGETS['conditional'])}) |")
    lines += ["", "Predicted classes of the samples: "
              + ", ".join(f"{k}: {c}" for k, c in enumerate(r["counts"])) + "."]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=300)
    parser.add_argument("--minutes", type=float, default=14.0)
    parser.add_argument("--conditional", action="store_true")
    parser.add_argument("--readme", metavar="PATH",
                        help="write the output into this README between its markers")
    args = parser.parse_args(argv)

    from skneuro._demo import machine_description, update_readme

    header = (f"`python asv_bench/evaluate_ddpm.py{' --conditional' if args.conditional else ''}`"
              f", {time.strftime('%Y-%m-%d')}, {machine_description()}:")
    print(header, flush=True)
    body = report(evaluate(args.epochs, args.minutes, args.conditional), args.minutes)
    print()
    print(body)
    if args.readme:
        update_readme(args.readme, body, header, marker="eval-ddpm")
        print(f"\nWritten into {args.readme}.")


if __name__ == "__main__":
    main()
