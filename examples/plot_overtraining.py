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
Both panels are drawn by :class:`~skneuro.inspection.TrainingCurveDisplay`,
which marks the epoch of the lowest validation loss, or the epoch early
stopping restored.
"""

import matplotlib.pyplot as plt
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from skneuro import MLPClassifier
from skneuro.inspection import TrainingCurveDisplay

X, y = load_digits(return_X_y=True)
X = X / 16.0
X_train, X_val, y_train, y_val = train_test_split(X, y, train_size=300, stratify=y,
                                                  random_state=0)

# n_jobs=1: with 300 samples and batches of 32, threads cost more than they save.
common = dict(hidden_layer_sizes=(256, 256), alpha=0.0, learning_rate_init=0.003,
              batch_size=32, random_state=0, n_jobs=1)
# The first fit runs until the training loss has improved by less than
# tol=1e-6 for ten epochs in a row: the network has memorized its 300 digits.
max_iter = 500
# sphinx_gallery_start_ignore
# The docs' quick build trains a few epochs only; such a fit has not
# converged and says so, which is no news there.
import os  # noqa: E402
import warnings  # noqa: E402

from sklearn.exceptions import ConvergenceWarning  # noqa: E402

if os.environ.get("SKNEURO_DOCS_QUICK"):
    max_iter = 30
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
# sphinx_gallery_end_ignore

# %%
# Training to the end, and with early stopping
# --------------------------------------------
full = MLPClassifier(**common, max_iter=max_iter, tol=1e-6).fit(
    X_train, y_train, validation_data=(X_val, y_val))
early = MLPClassifier(**common, max_iter=max_iter, early_stopping=True,
                      n_iter_no_change=10).fit(X_train, y_train,
                                               validation_data=(X_val, y_val))
full_acc = full.score(X_val, y_val)
early_acc = early.score(X_val, y_val)

fig, (ax_full, ax_early) = plt.subplots(1, 2, figsize=(12, 4.5), sharey=True)
shown = TrainingCurveDisplay.from_estimator(full, ax=ax_full)
best_epoch = shown.best_epoch
ax_full.set_ylim(0, 0.8)  # the first epochs' training loss, up to 2.3, is cut off
ax_full.set_ylabel("cross-entropy loss")
ax_full.set_title(f"{full.n_iter_} epochs: validation accuracy {full_acc:.1%}")
ax_full.grid(alpha=0.3)

restored = TrainingCurveDisplay.from_estimator(early, ax=ax_early).best_epoch
ax_early.set_title(f"early_stopping=True: validation accuracy {early_acc:.1%}")
ax_early.grid(alpha=0.3)
ax_acc = ax_early.twinx()
ax_acc.plot(range(1, early.n_iter_ + 1), early.validation_scores_, color="tab:green",
            alpha=0.7, label="validation accuracy (right axis)")
ax_acc.set_ylabel("validation accuracy")
lines = ax_early.get_legend_handles_labels()
acc_lines = ax_acc.get_legend_handles_labels()
ax_early.legend(lines[0] + acc_lines[0], lines[1] + acc_lines[1], fontsize="small",
                loc="center right")
fig.suptitle("Two hidden layers of 256 units trained on 300 digits")
fig.tight_layout()
plt.show()

val_loss = full.validation_loss_curve_
print(f"validation loss lowest at epoch {best_epoch} ({min(val_loss):.3f}), "
      f"{val_loss[-1]:.3f} at epoch {full.n_iter_} (training loss {full.loss_:.1e}); "
      f"early stopping stopped at epoch {early.n_iter_}, restored epoch {restored}: "
      f"validation accuracy {early_acc:.3f} vs {full_acc:.3f}")
