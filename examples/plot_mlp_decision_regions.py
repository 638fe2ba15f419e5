"""
Decision regions of a small sigmoid network
===========================================

A multi-layer perceptron with one hidden layer of 8 sigmoid neurons
(``activation="sigmoid"``) separates three interleaved half-moons in the
plane. No straight line separates one moon from the others: each hidden
neuron draws one soft line, and the output layer combines the eight into
curved boundaries. The figure colours every point of a grid by the class the
network predicts there (scikit-learn's ``DecisionBoundaryDisplay``), with the
training and test points on top, and shows the training loss curve
(:class:`~skneuro.inspection.TrainingCurveDisplay`).
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.inspection import DecisionBoundaryDisplay
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skneuro import MLPClassifier
from skneuro.inspection import TrainingCurveDisplay


def three_moons(n_samples, noise, seed):
    """Three interleaved half-circles, like ``make_moons`` with one moon more."""
    rng = np.random.default_rng(seed)
    per_class = n_samples // 3
    t = rng.uniform(0.0, np.pi, size=(3, per_class))
    moons = [
        np.column_stack([np.cos(t[0]), np.sin(t[0])]),              # upper arc
        np.column_stack([1.0 - np.cos(t[1]), 0.5 - np.sin(t[1])]),  # lower arc
        np.column_stack([2.0 + np.cos(t[2]), np.sin(t[2])]),        # upper arc
    ]
    X = np.vstack(moons) + rng.normal(scale=noise, size=(3 * per_class, 2))
    y = np.repeat(np.arange(3), per_class)
    return X, y


X, y = three_moons(600, noise=0.15, seed=0)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, stratify=y,
                                                    random_state=0)

# Training stops once the loss has improved by less than tol=1e-4 for ten
# epochs in a row, well before max_iter.
max_iter = 1000
# sphinx_gallery_start_ignore
# The docs' quick build trains a few epochs only; such a fit has not
# converged and says so, which is no news there.
import os  # noqa: E402
import warnings  # noqa: E402

from sklearn.exceptions import ConvergenceWarning  # noqa: E402

if os.environ.get("SKNEURO_DOCS_QUICK"):
    max_iter = 20
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
# sphinx_gallery_end_ignore
mlp = MLPClassifier(hidden_layer_sizes=(8,), activation="sigmoid", solver="adam",
                    learning_rate_init=0.05, max_iter=max_iter, random_state=0)
model = make_pipeline(StandardScaler(), mlp).fit(X_train, y_train)
train_acc = model.score(X_train, y_train)
test_acc = model.score(X_test, y_test)
print(f"MLP with 8 sigmoid hidden neurons, 3 classes: train accuracy {train_acc:.3f}, "
      f"test accuracy {test_acc:.3f}, {mlp.n_iter_} epochs, final loss {mlp.loss_:.3f}")

# %%
# The regions and the loss curve
# ------------------------------
# ``DecisionBoundaryDisplay`` predicts the class at every point of a grid
# covering the data; the pipeline scales the grid's points as it scaled the
# training data.
colors = ["tab:blue", "tab:orange", "tab:green"]
fig, (ax, ax_loss) = plt.subplots(1, 2, figsize=(11, 4.5),
                                  gridspec_kw={"width_ratios": [3, 2]})
DecisionBoundaryDisplay.from_estimator(model, X, grid_resolution=300, eps=0.5,
                                       response_method="predict",
                                       multiclass_colors=colors, alpha=0.25, ax=ax)
for k, color in enumerate(colors):
    ax.scatter(*X_train[y_train == k].T, color=color, edgecolor="k", linewidth=0.4,
               s=18, label=f"class {k} (train)")
    ax.scatter(*X_test[y_test == k].T, color=color, edgecolor="k", linewidth=0.4,
               s=30, marker="^", label=f"class {k} (test)")
ax.set_xlabel("feature 1")
ax.set_ylabel("feature 2")
ax.set_title(f"8 sigmoid hidden neurons: train {train_acc:.1%}, test {test_acc:.1%}")
ax.legend(ncol=3, fontsize="x-small", loc="lower center")

TrainingCurveDisplay.from_estimator(mlp, ax=ax_loss)
ax_loss.set_ylabel("training loss (cross-entropy)")
ax_loss.set_title(f"Loss curve ({mlp.n_iter_} epochs)")
ax_loss.grid(alpha=0.3)
fig.tight_layout()
plt.show()
