"""
Decision regions of a small sigmoid network
===========================================

A multi-layer perceptron with one hidden layer of 8 sigmoid neurons
(``activation="sigmoid"``) separates three interleaved half-moons in the
plane. No straight line separates one moon from the others: each hidden
neuron draws one soft line, and the output layer combines the eight into
curved boundaries. The figure colours every point of a grid by the class the
network predicts there, with the training and test points on top, and shows
the training loss curve.
"""

import os
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import ListedColormap
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skneuro import MLPClassifier


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


start = time.perf_counter()
X, y = three_moons(600, noise=0.15, seed=0)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, stratify=y,
                                                    random_state=0)

mlp = MLPClassifier(hidden_layer_sizes=(8,), activation="sigmoid", solver="adam",
                    learning_rate_init=0.05, max_iter=1000, random_state=0)
model = make_pipeline(StandardScaler(), mlp).fit(X_train, y_train)
train_acc = model.score(X_train, y_train)
test_acc = model.score(X_test, y_test)

# Predict the class at every point of a grid covering the data.
pad = 0.5
xx, yy = np.meshgrid(
    np.linspace(X[:, 0].min() - pad, X[:, 0].max() + pad, 300),
    np.linspace(X[:, 1].min() - pad, X[:, 1].max() + pad, 300),
)
grid = np.column_stack([xx.ravel(), yy.ravel()])
regions = model.predict(grid).reshape(xx.shape)

colors = ["tab:blue", "tab:orange", "tab:green"]
fig, (ax, ax_loss) = plt.subplots(1, 2, figsize=(11, 4.5),
                                  gridspec_kw={"width_ratios": [3, 2]})
ax.contourf(xx, yy, regions, levels=[-0.5, 0.5, 1.5, 2.5],
            cmap=ListedColormap(colors), alpha=0.25)
ax.contour(xx, yy, regions, levels=[0.5, 1.5], colors="k", linewidths=0.8)
for k, color in enumerate(colors):
    ax.scatter(*X_train[y_train == k].T, color=color, edgecolor="k", linewidth=0.4,
               s=18, label=f"class {k} (train)")
    ax.scatter(*X_test[y_test == k].T, color=color, edgecolor="k", linewidth=0.4,
               s=30, marker="^", label=f"class {k} (test)")
ax.set_xlabel("feature 1")
ax.set_ylabel("feature 2")
ax.set_title(f"8 sigmoid hidden neurons: train {train_acc:.1%}, test {test_acc:.1%}")
ax.legend(ncol=3, fontsize="x-small", loc="lower center")

ax_loss.plot(np.arange(1, mlp.n_iter_ + 1), mlp.loss_curve_)
ax_loss.set_xlabel("epoch")
ax_loss.set_ylabel("training loss (cross-entropy)")
ax_loss.set_title(f"Loss curve ({mlp.n_iter_} epochs)")
ax_loss.grid(alpha=0.3)
fig.tight_layout()

out_dir = Path(__file__).parent / "output"
os.makedirs(out_dir, exist_ok=True)
fig.savefig(out_dir / "mlp_decision_regions.png", dpi=100)

print(f"MLP with 8 sigmoid hidden neurons, 3 classes: train accuracy {train_acc:.3f}, "
      f"test accuracy {test_acc:.3f}, {mlp.n_iter_} epochs, final loss {mlp.loss_:.3f} "
      f"({time.perf_counter() - start:.1f}s)")
