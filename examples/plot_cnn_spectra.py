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
shape and the dense layer learns where to look.
"""

import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from sklearn.metrics import f1_score

from skneuro import CNNClassifier

start = time.perf_counter()
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

split = 1200
clf = CNNClassifier("C-8.7, P-2, C-16.5, P-2, C-16.3, P-2, D-32_d0.2",
                    learning_rate_init=0.003, max_iter=30, random_state=0)
clf.fit(X[:split], Y[:split])
predicted = clf.predict(X[split:])
per_label = f1_score(Y[split:], predicted, average=None)
exact = clf.score(X[split:], Y[split:])

fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
for channel, style in ((0, "-"), (1, "--")):
    axes[0].plot(grid, X[split, channel], style, lw=1, label=f"channel {channel}")
for k, (center, _) in enumerate(lines):
    axes[0].axvline(center, color="grey", lw=0.5)
    axes[0].text(center, axes[0].get_ylim()[1], f"{k}", ha="center", va="bottom")
axes[0].set_title(f"a test spectrum; molecules present: {np.flatnonzero(Y[split]).tolist()}, "
                  f"predicted: {np.flatnonzero(predicted[0]).tolist()}")
axes[0].set_xlabel("wavelength (arbitrary units)")
axes[0].legend()
axes[1].bar([f"molecule {k}" for k in range(len(lines))], per_label)
axes[1].set_ylim(0, 1.05)
axes[1].set_ylabel("F1 score on 300 test spectra")
axes[1].set_title(f"all four labels right on {exact:.1%} of test spectra")
fig.tight_layout()
out = Path(__file__).parent / "output"
out.mkdir(exist_ok=True)
fig.savefig(out / "cnn_spectra.png", dpi=110)
print(f"per-label F1 {np.round(per_label, 3).tolist()}, all labels right {exact:.3f} "
      f"({time.perf_counter() - start:.0f} s) -> examples/output/cnn_spectra.png")
