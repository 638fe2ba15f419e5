"""
The effect of the learning rate
===============================

Plain stochastic gradient descent (``solver="sgd"``, ``momentum=0``) trains
the same network on handwritten digits (pixel values scaled to [0, 1]) with
learning rates spanning three orders of magnitude. A learning rate that is
too small learns slowly; a larger one learns faster, until steps become so
large that the loss jumps around or the network gets stuck (here the ReLU
units die and the loss stays at chance level, ``log 10``). The last run
starts with a large rate and shrinks it by a factor ``learning_rate_decay``
every epoch (``learning_rate="exponential"``): fast progress early, small
and careful steps later, until the rate is too small to make progress.
The left panel shows the training loss, the right panel the accuracy on a
held-out set passed as ``validation_data`` (``validation_scores_``).
"""

import os
import time
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from skneuro import MLPClassifier

start = time.perf_counter()
X, y = load_digits(return_X_y=True)
X = X / 16.0  # pixel intensities 0..16 -> [0, 1]
X_train, X_val, y_train, y_val = train_test_split(X, y, test_size=0.25, stratify=y,
                                                  random_state=0)

n_epochs = 60
common = dict(hidden_layer_sizes=(32,), solver="sgd", momentum=0.0, batch_size=32,
              max_iter=n_epochs, n_iter_no_change=n_epochs, random_state=0)
runs = [(f"constant {lr:g}", dict(learning_rate_init=lr))
        for lr in (0.003, 0.03, 0.3, 1.0, 3.0)]
runs.append(("exponential 1 * 0.9^epoch",
             dict(learning_rate_init=1.0, learning_rate="exponential",
                  learning_rate_decay=0.9)))

colors = ["tab:gray", "tab:blue", "tab:green", "tab:orange", "tab:purple", "tab:red"]
fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(13, 4.5))
summary = []
for (label, params), color in zip(runs, colors):
    linestyle = "--" if "exponential" in label else "-"
    with warnings.catch_warnings():
        # Every run goes the full n_epochs on purpose, to compare whole curves.
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = MLPClassifier(**common, **params).fit(X_train, y_train,
                                                    validation_data=(X_val, y_val))
    epochs = np.arange(1, clf.n_iter_ + 1)
    ax_loss.plot(epochs, clf.loss_curve_, linestyle, color=color, label=label)
    ax_acc.plot(epochs, clf.validation_scores_, linestyle, color=color, label=label)
    summary.append(f"{label}: loss {clf.loss_:.3f}, val acc {clf.validation_scores_[-1]:.3f}")

ax_loss.set_yscale("log")
ax_loss.set_xlabel("epoch")
ax_loss.set_ylabel("training loss (cross-entropy, log scale)")
ax_loss.set_title("Training loss for each learning rate")
ax_loss.grid(alpha=0.3, which="both")
ax_acc.set_xlabel("epoch")
ax_acc.set_ylabel("validation accuracy")
ax_acc.set_title("Accuracy on the held-out 25%")
ax_acc.set_ylim(0, 1.02)
ax_acc.grid(alpha=0.3)
fig.suptitle("Plain SGD on digits, 32 ReLU hidden units, batches of 32")
fig.tight_layout(rect=(0, 0, 0.83, 1))
handles, labels = ax_loss.get_legend_handles_labels()
fig.legend(handles, labels, title="learning rate", loc="center right", fontsize="small")

out_dir = Path(__file__).parent / "output"
os.makedirs(out_dir, exist_ok=True)
fig.savefig(out_dir / "learning_rate.png", dpi=100)

print(f"Learning rate after {n_epochs} epochs: " + "; ".join(summary)
      + f" ({time.perf_counter() - start:.1f}s)")
