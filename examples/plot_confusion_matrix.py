"""
Confusion matrix and per-class precision and recall
===================================================

An MLPClassifier learns the handwritten digits on 70% of the data and is
evaluated on the 30% it never saw. The confusion matrix counts, for every
true digit (row), how often each digit was predicted (column): the diagonal
holds the correct answers, everything else is a confusion. Precision (of all
images predicted as digit k, the share that really are k) and recall (of all
images of digit k, the share found) summarise each class; scikit-learn's
``classification_report`` prints them, and the right panel plots them.
"""

import os
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.metrics import (
    ConfusionMatrixDisplay,
    accuracy_score,
    classification_report,
    precision_recall_fscore_support,
)
from sklearn.model_selection import train_test_split

from skneuro import MLPClassifier

start = time.perf_counter()
X, y = load_digits(return_X_y=True)
X = X / 16.0
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, stratify=y,
                                                    random_state=0)

clf = MLPClassifier(hidden_layer_sizes=(64,), learning_rate_init=0.01, max_iter=300,
                    random_state=0).fit(X_train, y_train)
y_pred = clf.predict(X_test)
accuracy = accuracy_score(y_test, y_pred)
print(classification_report(y_test, y_pred, digits=3))
precision, recall, _, support = precision_recall_fscore_support(y_test, y_pred)

fig, (ax_cm, ax_pr) = plt.subplots(1, 2, figsize=(12, 5),
                                   gridspec_kw={"width_ratios": [1.1, 1]})
ConfusionMatrixDisplay.from_predictions(y_test, y_pred, ax=ax_cm, cmap="Blues",
                                        colorbar=False)
ax_cm.set_title(f"Confusion matrix on {len(y_test)} test digits "
                f"(accuracy {accuracy:.1%})")

classes = clf.classes_
width = 0.38
ax_pr.bar(classes - width / 2, precision, width, label="precision")
ax_pr.bar(classes + width / 2, recall, width, label="recall")
ax_pr.set_xticks(classes)
ax_pr.set_xlabel("digit")
ax_pr.set_ylabel("score on the test set")
low = min(precision.min(), recall.min())
ax_pr.set_ylim(max(0.0, low - 0.05), 1.005)  # zoom in: every score is high
ax_pr.set_title("Precision and recall per class (y axis zoomed)")
ax_pr.legend(loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=2)
ax_pr.grid(axis="y", alpha=0.3)
fig.tight_layout()

out_dir = Path(__file__).parent / "output"
os.makedirs(out_dir, exist_ok=True)
fig.savefig(out_dir / "confusion_matrix.png", dpi=100)

worst = int(np.argmin(recall))
print(f"Digits MLP (64 ReLU units, {clf.n_iter_} epochs): test "
      f"accuracy {accuracy:.3f}; lowest recall {recall[worst]:.3f} for digit "
      f"{classes[worst]}, lowest precision {precision.min():.3f} for digit "
      f"{classes[int(np.argmin(precision))]} ({time.perf_counter() - start:.1f}s)")
