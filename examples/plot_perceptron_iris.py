"""
Perceptron on Iris: a separating line
=====================================

Rosenblatt's perceptron learns to tell *Iris setosa* from the two other
species using only sepal length and sepal width. The two groups are linearly
separable, so the perceptron rule reaches an epoch without a single
misclassified example and stops. The figure shows the flowers, the line where
the neuron's activation ``h = w1*x1 + w2*x2 + w0*(-1)`` is zero (from
``coef_`` and ``intercept_``), and the number of misclassified examples at
each epoch (``n_errors_``).
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_iris

from skneuro import Perceptron

iris = load_iris()
X = iris.data[:, :2]  # sepal length, sepal width (cm)
y = (iris.target == 0).astype(int)  # 1: setosa, 0: versicolor or virginica

clf = Perceptron(eta0=0.1, max_iter=1000, random_state=0).fit(X, y)
print(f"Perceptron on Iris (setosa vs others, 2 features): converged in {clf.n_iter_} "
      f"epochs, training accuracy {clf.score(X, y):.3f}")

# %%
# The line and the errors per epoch
# ---------------------------------
# The neuron fires where ``w1*x1 + w2*x2 + b > 0``, so the boundary is the
# line ``x2 = -(w1*x1 + b) / w2``.
(w1, w2), b = clf.coef_[0], clf.intercept_[0]
x1 = np.linspace(X[:, 0].min() - 0.3, X[:, 0].max() + 0.3, 2)
x2 = -(w1 * x1 + b) / w2

fig, (ax, ax_err) = plt.subplots(1, 2, figsize=(11, 4.5),
                                 gridspec_kw={"width_ratios": [3, 2]})
for label, name, marker, color in [(1, "setosa", "o", "tab:blue"),
                                   (0, "versicolor or virginica", "s", "tab:orange")]:
    ax.scatter(*X[y == label].T, marker=marker, color=color, edgecolor="k",
               linewidth=0.5, label=name)
ax.plot(x1, x2, "k-", label="decision boundary (h = 0)")
ax.set_xlim(x1[0], x1[-1])
ax.set_ylim(X[:, 1].min() - 0.3, X[:, 1].max() + 0.9)  # room for the legend
ax.set_xlabel(f"{iris.feature_names[0]}")
ax.set_ylabel(f"{iris.feature_names[1]}")
ax.set_title(f"Perceptron: {w1:.2f} x1 + {w2:.2f} x2 + {b:.2f} = 0")
ax.legend(loc="upper left", fontsize="small")

epochs = np.arange(1, clf.n_iter_ + 1)
ax_err.plot(epochs, clf.n_errors_, "-", linewidth=1)
ax_err.plot(epochs[-1], clf.n_errors_[-1], "o", color="tab:green",
            label="first epoch without errors")
ax_err.legend()
ax_err.set_xlabel("epoch")
ax_err.set_ylabel("misclassified examples in the epoch")
ax_err.set_title(f"Converged after {clf.n_iter_} epochs")
ax_err.grid(alpha=0.3)
fig.tight_layout()
plt.show()
