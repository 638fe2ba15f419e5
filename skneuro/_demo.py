"""The main job, ``python -m skneuro``: every estimator, cross-validated, next to
scikit-learn's closest equivalent, on data that ships with scikit-learn."""

import gc
import sys
import time
import warnings
from dataclasses import dataclass

import numpy as np


@dataclass
class Task:
    """One row of the table: a dataset, our estimator and scikit-learn's."""

    name: str
    dataset: str
    metric: str
    load: object
    ours: object
    theirs: object
    theirs_name: str
    #: ``scorer(estimator, X, y) -> float`` where the estimators' own ``score``
    #: differ (an autoencoder and PCA): None uses ``estimator.score``.
    scorer: object = None


def _load(name):
    from sklearn import datasets

    if name == "iris":
        return datasets.load_iris(return_X_y=True)
    if name == "digits":
        X, y = datasets.load_digits(return_X_y=True)
        return X / 16.0, y
    if name == "breast_cancer":
        return datasets.load_breast_cancer(return_X_y=True)
    if name == "diabetes":
        X, y = datasets.load_diabetes(return_X_y=True)
        return X, y / 100.0
    raise ValueError(name)


def make_tasks(full=False):
    """The rows of the table; ``full`` trains longer and larger networks."""
    from sklearn.decomposition import PCA
    from sklearn.linear_model import Perceptron as SkPerceptron
    from sklearn.neural_network import MLPClassifier as SkMLPClassifier
    from sklearn.neural_network import MLPRegressor as SkMLPRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from skneuro import AutoEncoder, CNNClassifier, MLPClassifier, MLPRegressor, Perceptron

    hidden = (256, 128)
    epochs = 300 if full else 100

    def pipe(est):
        return lambda: make_pipeline(StandardScaler(), est)

    shared = dict(hidden_layer_sizes=hidden, max_iter=epochs, random_state=0)
    return [
        Task("Perceptron", "iris", "accuracy",
             lambda: _load("iris"),
             pipe(Perceptron(eta0=0.1, max_iter=200 if full else 50, random_state=0)),
             pipe(SkPerceptron(eta0=0.1, max_iter=200 if full else 50, tol=None,
                               random_state=0)),
             "linear_model.Perceptron"),
        Task("MLPClassifier", "digits", "accuracy",
             lambda: _load("digits"),
             pipe(MLPClassifier(**shared)), pipe(SkMLPClassifier(**shared)),
             "neural_network.MLPClassifier"),
        Task("CNNClassifier", "digits (8x8 images)", "accuracy",
             lambda: _load("digits"),
             pipe(CNNClassifier("C-16.3, P-2, C-32.3, P-2, D-64", input_shape=(1, 8, 8),
                                learning_rate_init=0.01, max_iter=100 if full else 20,
                                random_state=0)),
             pipe(SkMLPClassifier(**shared)),
             "neural_network.MLPClassifier (no CNN in scikit-learn)"),
        Task("MLPClassifier", "breast_cancer", "accuracy",
             lambda: _load("breast_cancer"),
             pipe(MLPClassifier(**shared)), pipe(SkMLPClassifier(**shared)),
             "neural_network.MLPClassifier"),
        Task("MLPRegressor", "diabetes", "R^2",
             lambda: _load("diabetes"),
             pipe(MLPRegressor(hidden_layer_sizes=(32,), learning_rate_init=0.01, alpha=1e-2,
                               max_iter=50, random_state=0)),
             pipe(SkMLPRegressor(hidden_layer_sizes=(32,), learning_rate_init=0.01,
                                 alpha=1e-2, max_iter=50, random_state=0)),
             "neural_network.MLPRegressor"),
        # Pixels in [0, 1] without a scaler: the error is in pixel units for both.
        Task("AutoEncoder", "digits, 2 components", "reconstruction MSE (lower is better)",
             lambda: _load("digits"),
             lambda: AutoEncoder(n_components=2, hidden_layer_sizes=(128,), batch_size=32,
                                 learning_rate_init=0.003, max_iter=200 if full else 50,
                                 random_state=0),
             lambda: PCA(n_components=2, random_state=0),
             "decomposition.PCA", scorer=reconstruction_error),
    ]


def reconstruction_error(estimator, X, y=None):
    """Mean squared error of ``inverse_transform(transform(X))``, over samples and features."""
    return float(((X - estimator.inverse_transform(estimator.transform(X))) ** 2).mean())


def _cross_validate(make_estimator, X, y, cv, progress, scorer=None):
    from sklearn.base import is_classifier
    from sklearn.metrics import check_scoring
    from sklearn.model_selection import check_cv

    estimator = make_estimator()
    splitter = check_cv(cv, y, classifier=is_classifier(estimator))
    scorer = check_scoring(estimator) if scorer is None else scorer
    scores, times = [], []
    # A full collection now, not inside a timed fit: after the first fits of
    # a process (Numba's compilation leaves many objects), the collector's
    # next full pass takes ~0.1 s, ten times a small fit.
    gc.collect()
    for k, (train, test) in enumerate(splitter.split(X, y)):
        progress(k, splitter.get_n_splits())
        est = make_estimator()
        start = time.perf_counter()
        est.fit(X[train], y[train])
        times.append(time.perf_counter() - start)
        scores.append(scorer(est, X[test], y[test]))
    return np.array(scores), np.array(times)


def run(full=False, cv=5, stream=None):
    """Train every task, cross-validated; return the rows of the table."""
    stream = stream or sys.stdout
    rows = []
    tasks = make_tasks(full)
    for i, task in enumerate(tasks, 1):
        X, y = task.load()
        label = f"[{i}/{len(tasks)}] {task.name} on {task.dataset}"

        interactive = getattr(stream, "isatty", lambda: False)()

        def progress(k, n, who, label=label, interactive=interactive):
            if interactive:  # one line, rewritten in place
                stream.write(f"\r{label}: {who}, fold {k + 1}/{n} ...".ljust(78))
            elif k == 0:
                stream.write(f"{label}: {who}, {n} folds ...\n")
            stream.flush()

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # ConvergenceWarning of the short runs
            # Compile (or load from Numba's cache) outside the timed folds.
            warm = np.random.default_rng(0).permutation(len(y))[:100]
            task.ours().fit(X[warm], y[warm])
            ours = _cross_validate(task.ours, X, y, cv,
                                   lambda k, n: progress(k, n, "skneuro"), task.scorer)
            theirs = _cross_validate(task.theirs, X, y, cv,
                                     lambda k, n: progress(k, n, "scikit-learn"), task.scorer)
        if interactive:
            stream.write("\r" + " " * 78 + "\r")
        rows.append((task, ours, theirs))
        stream.write(f"{label}: {task.metric} {ours[0].mean():.3f} (scikit-learn "
                     f"{theirs[0].mean():.3f}), fit {ours[1].mean():.3f}s (scikit-learn "
                     f"{theirs[1].mean():.3f}s)\n")
        stream.flush()
    return rows


def format_table(rows, cv=5):
    """The results as a Markdown table."""
    lines = [
        f"| estimator | data | metric ({cv}-fold CV) | skneuro | fit time | scikit-learn "
        "equivalent | its score | its fit time | speed-up |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for task, (s_ours, t_ours), (s_theirs, t_theirs) in rows:
        lines.append(
            f"| {task.name} | {task.dataset} | {task.metric} | "
            f"{s_ours.mean():.3f} ± {s_ours.std():.3f} | {t_ours.mean():.3f} s | "
            f"{task.theirs_name} | {s_theirs.mean():.3f} ± {s_theirs.std():.3f} | "
            f"{t_theirs.mean():.3f} s | {_ratio(t_theirs.mean() / t_ours.mean())} |"
        )
    return "\n".join(lines)


def _ratio(value):
    """A speed-up with two significant digits below 1 (PCA is ~1000x faster than a fit)."""
    return f"{value:.1f}x" if value >= 1 else f"{value:.2g}x"


#: The diffusion section's short run (``--full`` runs ``asv_bench/evaluate_ddpm.py``'s
#: defaults: 300 epochs, at most 14 minutes, the 200-step ancestral sampler).
SHORT_DDPM = dict(epochs=30, minutes=2.0, sampling_steps=50)


def run_diffusion(full=False, stream=None):
    """Train a DDPM on the digits and judge its samples; the measures as a dict.

    A classification-style cross-validation does not apply to a generative
    model: a classifier of the real digits judges its samples instead
    (``skneuro._ddpm_quality``).
    """
    from skneuro._ddpm_quality import N_SAMPLES, evaluate

    stream = stream or sys.stdout
    settings = {} if full else SHORT_DDPM
    epochs = settings.get("epochs", 300)
    stream.write(f"[diffusion] DDPM on digits (8x8 images): up to {epochs} epochs, then "
                 f"{N_SAMPLES} samples judged by a classifier of the real digits ...\n")
    stream.flush()
    return evaluate(**settings)


def format_diffusion(result, full=False):
    """The diffusion section in Markdown: the run, its measures against the targets."""
    from skneuro._ddpm_quality import report

    if full:
        note = ("The real evaluation (the settings of `asv_bench/evaluate_ddpm.py`), "
                "which the targets are for.")
    else:
        note = ("A short run, so the numbers are lower than the targets, which are for the "
                "real evaluation: `python -m skneuro --full` runs it (the settings of "
                "`asv_bench/evaluate_ddpm.py`: 300 epochs, at most 14 minutes, the 200-step "
                "ancestral sampler).")
    return report(result) + "\n\n" + note
