"""
A 1-D CNN over multi-channel spectra with multi-label outputs
=============================================================

Synthetic spectra in two channels (say two polarizations), 256 samples long,
hold noise, a sloping continuum and, for each of four molecules present, an
absorption line at the molecule's wavelength in one channel. Several molecules
can be present at once, so the task is multi-label: the network has four
independent sigmoid outputs (one per molecule) trained with binary
cross-entropy, as the course does for molecule detection. The line positions
are fixed, but a convolution does not need to know where: it learns the line
shape and the dense layer learns where to look. Early stopping holds out 10%
of the training spectra and ends training once their score (the share of
spectra with all four labels right) has not improved for five epochs.
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.metrics import f1_score

from skneuro import CNNClassifier
from skneuro.inspection import TrainingCurveDisplay

rng = np.random.default_rng(0)
n, length = 1500, 256
grid = np.linspace(0, 1, length)
lines = [(0.15, 0), (0.40, 1), (0.62, 0), (0.85, 1)]  # (position, channel)
Y = rng.integers(0, 2, size=(n, len(lines)))
X = rng.normal(scale=0.08, size=(n, 2, length))
X += 1.0 - 0.3 * grid * rng.uniform(0.5, 1.5, size=(n, 2, 1))  # continuum
for k, (center, channel) in enumerate(lines):
    depth = rng.uniform(0.15, 0.4, size=(n, 1))
    X[:, channel, :] -= Y[:, k:k + 1] * depth * np.exp(-0.5 * ((grid - center) / 0.01) ** 2)

max_iter = 100
# sphinx_gallery_start_ignore
# The docs' quick build trains a few epochs only; such a fit has not
# converged and says so, which is no news there.
import os  # noqa: E402
import warnings  # noqa: E402

from sklearn.exceptions import ConvergenceWarning  # noqa: E402

if os.environ.get("SKNEURO_DOCS_QUICK"):
    max_iter = 3
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
# sphinx_gallery_end_ignore
split = 1200
clf = CNNClassifier("C-8.7, P-2, C-16.5, P-2, C-16.3, P-2, D-32_d0.2",
                    learning_rate_init=0.003, max_iter=max_iter, early_stopping=True,
                    n_iter_no_change=5, random_state=0)
clf.fit(X[:split], Y[:split])
predicted = clf.predict(X[split:])
per_label = f1_score(Y[split:], predicted, average=None)
exact = clf.score(X[split:], Y[split:])
print(f"{clf.n_iter_} epochs; per-label F1 {np.round(per_label, 3).tolist()}, "
      f"all labels right {exact:.3f}")

# %%
# A test spectrum, the scores per molecule, and the loss curves
# -------------------------------------------------------------
fig, axes = plt.subplots(1, 3, figsize=(15, 3.8))
for channel, style in ((0, "-"), (1, "--")):
    axes[0].plot(grid, X[split, channel], style, lw=1, label=f"channel {channel}")
for k, (center, _) in enumerate(lines):
    axes[0].axvline(center, color="grey", lw=0.5)
    axes[0].text(center, axes[0].get_ylim()[1], f"{k}", ha="center", va="bottom")
axes[0].set_title(f"a test spectrum; molecules present: {np.flatnonzero(Y[split]).tolist()}, "
                  f"predicted: {np.flatnonzero(predicted[0]).tolist()}", fontsize=10, pad=14)
axes[0].set_xlabel("wavelength (arbitrary units)")
axes[0].legend()
axes[1].bar([f"molecule {k}" for k in range(len(lines))], per_label)
axes[1].set_ylim(0, 1.05)
axes[1].set_ylabel("F1 score on 300 test spectra")
axes[1].set_title(f"all four labels right on {exact:.1%} of test spectra")
TrainingCurveDisplay.from_estimator(clf, ax=axes[2])
axes[2].set_ylabel("binary cross-entropy")
axes[2].set_title("loss per epoch")
fig.tight_layout()
plt.show()
