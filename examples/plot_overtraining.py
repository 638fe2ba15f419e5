"""
Overtraining, seen on a validation set
======================================

A deliberately large network (two hidden layers of 256 ReLU units, about
85,000 weights, no L2 penalty) trained on only 300 handwritten digits can
memorize its training set. Passing ``validation_data=(X_val, y_val)`` to
``fit`` records the loss on the other digits after every epoch
(``validation_loss_curve_``) next to the training loss (``loss_curve_``).
The training loss keeps falling towards zero, while the validation loss
reaches a minimum after some twenty epochs and then rises again: from there
on the network learns the training examples rather than digits. This is
overtraining (overfitting). The validation accuracy moves much less than the
validation loss: the network mostly grows more confident about the digits it
already gets wrong, which the loss sees and the accuracy does not.

The right panel repeats the fit with ``early_stopping=True``: training stops
once the validation accuracy (``validation_scores_``) has not improved for
``n_iter_no_change`` epochs, and the weights of the best epoch are restored.
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
X = X / 16.0
X_train, X_val, y_train, y_val = train_test_split(X, y, train_size=300, stratify=y,
                                                  random_state=0)

# n_jobs=1: with 300 samples and batches of 32, threads cost more than they save.
common = dict(hidden_layer_sizes=(256, 256), alpha=0.0, learning_rate_init=0.003,
              batch_size=32, max_iter=200, random_state=0, n_jobs=1)

# 1. Train for the full 200 epochs (no stopping on the training loss either).
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)
    full = MLPClassifier(**common, n_iter_no_change=200).fit(
        X_train, y_train, validation_data=(X_val, y_val))
val_loss = np.array(full.validation_loss_curve_)
best_epoch = int(val_loss.argmin()) + 1

# 2. The same network with early stopping on the validation accuracy.
early = MLPClassifier(**common, early_stopping=True, n_iter_no_change=10).fit(
    X_train, y_train, validation_data=(X_val, y_val))
best_score_epoch = int(np.argmax(early.validation_scores_)) + 1
early_acc = early.score(X_val, y_val)
full_acc = full.score(X_val, y_val)

fig, (ax_full, ax_early) = plt.subplots(1, 2, figsize=(12, 4.5), sharey=True)
epochs = np.arange(1, full.n_iter_ + 1)
ax_full.plot(epochs, full.loss_curve_, label="training loss (300 digits)")
ax_full.plot(epochs, val_loss, label=f"validation loss ({len(y_val)} digits)")
ax_full.axvline(best_epoch, color="k", linestyle=":", linewidth=1)
ax_full.plot(best_epoch, val_loss.min(), "ko",
             label=f"minimum validation loss (epoch {best_epoch})")
ax_full.set_ylim(0, 0.8)  # the first epochs' training loss, up to 2.3, is cut off
ax_full.set_xlabel("epoch")
ax_full.set_ylabel("cross-entropy loss")
ax_full.set_title(f"{full.n_iter_} epochs: validation accuracy {full_acc:.1%}")
ax_full.grid(alpha=0.3)
ax_full.legend(fontsize="small", loc="upper right")

epochs = np.arange(1, early.n_iter_ + 1)
ax_early.plot(epochs, early.loss_curve_, label="training loss")
ax_early.plot(epochs, early.validation_loss_curve_, label="validation loss")
ax_early.axvline(early.n_iter_, color="tab:red", linestyle="--", linewidth=1,
                 label=f"stopped after epoch {early.n_iter_}")
ax_early.axvline(best_score_epoch, color="k", linestyle=":", linewidth=1,
                 label=f"best validation accuracy (epoch {best_score_epoch}), restored")
ax_early.set_xlabel("epoch")
ax_early.set_title(f"early_stopping=True: validation accuracy {early_acc:.1%}")
ax_early.grid(alpha=0.3)
ax_acc = ax_early.twinx()
ax_acc.plot(epochs, early.validation_scores_, color="tab:green", alpha=0.7,
            label="validation accuracy (right axis)")
ax_acc.set_ylabel("validation accuracy")
lines = ax_early.get_legend_handles_labels()
acc_lines = ax_acc.get_legend_handles_labels()
ax_early.legend(lines[0] + acc_lines[0], lines[1] + acc_lines[1], fontsize="small",
                loc="center right")
fig.suptitle("Two hidden layers of 256 units trained on 300 digits")
fig.tight_layout()

out_dir = Path(__file__).parent / "output"
os.makedirs(out_dir, exist_ok=True)
fig.savefig(out_dir / "overtraining.png", dpi=100)

print(f"Overtraining: validation loss lowest at epoch {best_epoch} ({val_loss.min():.3f}), "
      f"{val_loss[-1]:.3f} at epoch {full.n_iter_} (training loss {full.loss_:.1e}); "
      f"early stopping stopped at epoch {early.n_iter_}, restored epoch {best_score_epoch}: "
      f"validation accuracy {early_acc:.3f} vs {full_acc:.3f} "
      f"({time.perf_counter() - start:.1f}s)")
