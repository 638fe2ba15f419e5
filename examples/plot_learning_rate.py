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

Each run stops on its own once its training loss has improved by less than
``tol=1e-4`` for ``n_iter_no_change=20`` epochs in a row, so the curves end
at different epochs: early where the loss is stuck, late where it still
creeps down.
"""

import matplotlib.pyplot as plt
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from skneuro import MLPClassifier

X, y = load_digits(return_X_y=True)
X = X / 16.0  # pixel intensities 0..16 -> [0, 1]
X_train, X_val, y_train, y_val = train_test_split(X, y, test_size=0.25, stratify=y,
                                                  random_state=0)

max_iter = 1000
# sphinx_gallery_start_ignore
# The docs' quick build trains a few epochs only; such fits have not
# converged and say so, which is no news there.
import os  # noqa: E402
import warnings  # noqa: E402

from sklearn.exceptions import ConvergenceWarning  # noqa: E402

if os.environ.get("SKNEURO_DOCS_QUICK"):
    max_iter = 10
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
# sphinx_gallery_end_ignore
common = dict(hidden_layer_sizes=(32,), solver="sgd", momentum=0.0, batch_size=32,
              max_iter=max_iter, n_iter_no_change=20, random_state=0)
runs = [(f"constant {lr:g}", dict(learning_rate_init=lr))
        for lr in (0.003, 0.03, 0.3, 1.0, 3.0)]
runs.append(("exponential 1 * 0.9^epoch",
             dict(learning_rate_init=1.0, learning_rate="exponential",
                  learning_rate_decay=0.9)))

# %%
# One fit per learning rate
# -------------------------
colors = ["tab:gray", "tab:blue", "tab:green", "tab:orange", "tab:purple", "tab:red"]
fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(13, 4.5))
for (label, params), color in zip(runs, colors):
    linestyle = "--" if "exponential" in label else "-"
    clf = MLPClassifier(**common, **params).fit(X_train, y_train,
                                                validation_data=(X_val, y_val))
    epochs = range(1, clf.n_iter_ + 1)
    ax_loss.plot(epochs, clf.loss_curve_, linestyle, color=color, label=label)
    ax_acc.plot(epochs, clf.validation_scores_, linestyle, color=color, label=label)
    print(f"{label}: {clf.n_iter_} epochs, loss {clf.loss_:.3f}, "
          f"validation accuracy {clf.validation_scores_[-1]:.3f}")

ax_loss.set_xscale("log")
ax_loss.set_yscale("log")
ax_loss.set_xlabel("epoch (log scale)")
ax_loss.set_ylabel("training loss (cross-entropy, log scale)")
ax_loss.set_title("Training loss for each learning rate")
ax_loss.grid(alpha=0.3, which="both")
ax_acc.set_xscale("log")
ax_acc.set_xlabel("epoch (log scale)")
ax_acc.set_ylabel("validation accuracy")
ax_acc.set_title("Accuracy on the held-out 25%")
ax_acc.set_ylim(0, 1.02)
ax_acc.grid(alpha=0.3)
fig.suptitle("Plain SGD on digits, 32 ReLU hidden units, batches of 32")
fig.tight_layout(rect=(0, 0, 0.83, 1))
handles, labels = ax_loss.get_legend_handles_labels()
fig.legend(handles, labels, title="learning rate", loc="center right", fontsize="small")
plt.show()
