"""Do DDPM's samples look like digits? The judging shared by ``python -m skneuro``
(its diffusion section) and ``asv_bench/evaluate_ddpm.py``.

A DDPM trains on scikit-learn's 1,797 8x8 digits (pixels 0-16) and draws
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

A class-conditional model asked for each class must get the classifier's
agreement for >= 80% of its samples.
"""

import time
import warnings
from dataclasses import dataclass

import numpy as np

#: The issue's targets for the full evaluation.
TARGETS = dict(confident=0.70, spread=0.95, frechet_ratio=0.80, conditional=0.80)
N_SAMPLES = 500


@dataclass
class Judge:
    """The real digits and a classifier of them, with its hidden features."""

    X: np.ndarray
    y: np.ndarray
    clf: object

    def features(self, samples):
        """The classifier's 256 hidden ReLU units for samples in pixels 0-16."""
        return np.maximum(samples / 16.0 @ self.clf.coefs_[0] + self.clf.intercepts_[0], 0.0)

    def predict_proba(self, samples):
        return self.clf.predict_proba(samples / 16.0)

    def predict(self, samples):
        return self.clf.predict(samples / 16.0)


def make_judge():
    """Train the classifier of the real digits (about a second)."""
    from sklearn.datasets import load_digits

    from skneuro import MLPClassifier

    X, y = load_digits(return_X_y=True)
    clf = MLPClassifier((256,), max_iter=200, random_state=0, dtype="float64")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.fit(X / 16.0, y)
    return Judge(X, y, clf)


def frechet(a, b):
    """Frechet distance between Gaussians fitted to the rows of ``a`` and ``b``."""
    from scipy import linalg

    mu_a, mu_b = a.mean(axis=0), b.mean(axis=0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    with warnings.catch_warnings():
        # ReLU units that never fire make the covariances singular, which sqrtm
        # warns about; its root is still the one the distance needs.
        warnings.simplefilter("ignore", linalg.LinAlgWarning)
        root = linalg.sqrtm(cov_a @ cov_b)
    root = root.real if np.iscomplexobj(root) else root
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(cov_a + cov_b - 2.0 * root))


def gaussian_baseline(X, n_samples, random_state=0):
    """Samples of a Gaussian fitted to the pixels of X (mean, full covariance), clipped to 0-16."""
    rng = np.random.default_rng(random_state)
    draws = rng.multivariate_normal(X.mean(axis=0), np.cov(X, rowvar=False), size=n_samples)
    return np.clip(draws, 0.0, 16.0)


def measure(samples, judge):
    """The three measures of unconditional samples (rows of 64 pixels, 0-16)."""
    proba = judge.predict_proba(samples)
    counts = np.bincount(proba.argmax(axis=1), minlength=10)
    shares = counts / counts.sum()
    seen = shares[shares > 0]
    spread = float(-(seen * np.log(seen)).sum() / np.log(10))
    real = judge.features(judge.X)
    baseline = gaussian_baseline(judge.X, len(samples))
    ratio = (frechet(judge.features(samples), real)
             / frechet(judge.features(baseline), real))
    return dict(confident=float((proba.max(axis=1) >= 0.9).mean()), spread=spread,
                classes=int((counts > 0).sum()), counts=counts, frechet_ratio=ratio)


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


def train(X, y, epochs, minutes, conditional):
    """A DDPM (default U-Net, T = 200) on all of X for ``epochs`` epochs or ``minutes``.

    Returns the model, the fit time (after a one-epoch warm-up fit on 256 rows
    that compiles the kernels) and the number of epochs run.
    """
    from skneuro import DDPM

    limit = _time_limit(minutes)
    # The whole budget: no stop on a stalled training loss (it is noisy by nature).
    model = DDPM(input_shape=(1, 8, 8), max_iter=1, n_iter_no_change=epochs + 1,
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


def evaluate(epochs=300, minutes=14.0, conditional=False, sampling_steps=None,
             n_samples=N_SAMPLES, judge=None):
    """Train, sample and judge; a dict of the measures and the run's numbers.

    ``sampling_steps`` None draws by the ancestral sampler over all 200 steps,
    a number by the strided DDIM sampler.
    """
    judge = make_judge() if judge is None else judge
    X, y = judge.X, judge.y
    model, fit_time, done = train(X, y, epochs, minutes, conditional=False)
    model.set_params(sampling_steps=sampling_steps)
    start = time.perf_counter()
    samples = model.sample(n_samples, random_state=0)
    sample_time = time.perf_counter() - start
    result = dict(measure(samples, judge), epochs=done, max_epochs=epochs, minutes=minutes,
                  fit_time=fit_time, sample_time=sample_time, n_samples=n_samples,
                  sampling_steps=sampling_steps, params=model.network_.n_parameters())
    if conditional:
        cmodel, cfit_time, cdone = train(X, y, epochs, minutes, conditional=True)
        cmodel.set_params(sampling_steps=sampling_steps)
        wanted = np.repeat(np.arange(10), 50)
        got = judge.predict(cmodel.sample(len(wanted), y=wanted, random_state=0))
        result.update(conditional=float((got == wanted).mean()), cond_epochs=cdone,
                      cond_fit_time=cfit_time)
    return result


def _mark(ok):
    return "met" if ok else "NOT met"


def sampler_name(r):
    steps = r.get("sampling_steps")
    return "the 200-step ancestral sampler" if steps is None else f"{steps}-step DDIM"


def measures_table(r):
    """The measures next to their targets, as Markdown table lines."""
    lines = [
        "| measure | value | target |",
        "|---|---|---|",
        f"| samples classified with probability >= 0.9 | {r['confident']:.1%} | "
        f">= 70% ({_mark(r['confident'] >= TARGETS['confident'])}) |",
        f"| entropy of the predicted classes / log 10 | {r['spread']:.3f} "
        f"({r['classes']} classes) | >= 0.95, all 10 "
        f"({_mark(r['spread'] >= TARGETS['spread'] and r['classes'] == 10)}) |",
        f"| Frechet distance in the classifier's features, ratio to a Gaussian's | "
        f"{r['frechet_ratio']:.2f} | <= 0.8 "
        f"({_mark(r['frechet_ratio'] <= TARGETS['frechet_ratio'])}) |",
    ]
    if "conditional" in r:
        lines.append(
            f"| conditional model ({r['cond_epochs']} epochs, {r['cond_fit_time'] / 60:.1f} min), "
            f"guidance 2: classifier agrees with the requested class | {r['conditional']:.1%} | "
            f">= 80% ({_mark(r['conditional'] >= TARGETS['conditional'])}) |")
    return lines


def class_counts(r):
    return ("Predicted classes of the samples: "
            + ", ".join(f"{k}: {c}" for k, c in enumerate(r["counts"])) + ".")


def _duration(seconds):
    return f"{seconds / 60:.1f} min" if seconds >= 60 else f"{seconds:.0f} s"


def report(r):
    """The run, the measures against their targets and the predicted classes, in Markdown."""
    return "\n".join([
        f"DDPM (U-Net, {r['params']:,} parameters, T = 200) on the 1,797 digits: "
        f"{r['epochs']} epochs in {_duration(r['fit_time'])} (limit {r['minutes']:g} min); "
        f"{r['n_samples']} samples by {sampler_name(r)} in {r['sample_time']:.0f} s.",
        "",
        *measures_table(r),
        "",
        class_counts(r),
    ])
