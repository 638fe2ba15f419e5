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

X, y = load_digits(return_X_y=True)
X = X / 16.0
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, stratify=y,
                                                    random_state=0)

# Training stops once the loss has improved by less than tol=1e-4 for ten
# epochs in a row, long before max_iter.
max_iter = 300
# sphinx_gallery_start_ignore
# The docs' quick build trains a few epochs only; such a fit has not
# converged and says so, which is no news there.
import os  # noqa: E402
import warnings  # noqa: E402

from sklearn.exceptions import ConvergenceWarning  # noqa: E402

if os.environ.get("SKNEURO_DOCS_QUICK"):
    max_iter = 5
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
# sphinx_gallery_end_ignore
clf = MLPClassifier(hidden_layer_sizes=(64,), learning_rate_init=0.01, max_iter=max_iter,
                    random_state=0).fit(X_train, y_train)
y_pred = clf.predict(X_test)
accuracy = accuracy_score(y_test, y_pred)
print(f"{clf.n_iter_} epochs; test accuracy {accuracy:.3f}")
print(classification_report(y_test, y_pred, digits=3))

# %%
# The confusion matrix and the scores per class
# ---------------------------------------------
precision, recall, _, support = precision_recall_fscore_support(y_test, y_pred)

fig, (ax_cm, ax_pr) = plt.subplots(1, 2, figsize=(12, 5),
                                   gridspec_kw={"width_ratios": [1.1, 1]})
ConfusionMatrixDisplay.from_estimator(clf, X_test, y_test, ax=ax_cm, cmap="Blues",
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
plt.show()

worst = int(np.argmin(recall))
print(f"lowest recall {recall[worst]:.3f} for digit {classes[worst]}, lowest precision "
      f"{precision.min():.3f} for digit {classes[int(np.argmin(precision))]}")
