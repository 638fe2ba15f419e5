"""
Occlusion maps: where a CNN looks
=================================

A small convolutional network learns the 8x8 handwritten digits. For a few
test images, a 2x2 grey patch slides over the image and the network predicts
each occluded copy: the drop in the probability of the predicted digit, at
each pixel, is the occlusion map (Zeiler & Fergus 2014, as in the course).
:class:`~skneuro.inspection.OcclusionDisplay` draws it over the digit: red
pixels are the ones the decision rests on; blue ones, when hidden, make the
network even surer.
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from skneuro import CNNClassifier
from skneuro.inspection import OcclusionDisplay

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X / 16.0, y, test_size=0.3,
                                                    stratify=y, random_state=0)
# Early stopping holds out 10% of the training digits and stops once their
# accuracy has not improved for five epochs, restoring the best epoch.
max_iter = 100
# sphinx_gallery_start_ignore
# The docs' quick build trains a few epochs only; such a fit has not
# converged and says so, which is no news there.
import os  # noqa: E402
import warnings  # noqa: E402

from sklearn.exceptions import ConvergenceWarning  # noqa: E402

if os.environ.get("SKNEURO_DOCS_QUICK"):
    max_iter = 3
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
# sphinx_gallery_end_ignore
clf = CNNClassifier("C-16.3, P-2, C-32.3, D-64", input_shape=(1, 8, 8),
                    learning_rate_init=0.01, max_iter=max_iter, early_stopping=True,
                    n_iter_no_change=5, random_state=0)
clf.fit(X_train, y_train)
accuracy = clf.score(X_test, y_test)
print(f"CNN: {clf.n_iter_} epochs, test accuracy {accuracy:.3f}")

# %%
# One occlusion map per digit
# ---------------------------
# ``fill=0.5`` makes the patch mid-grey, neither ink nor paper.
picks = [int(np.flatnonzero(y_test == digit)[0]) for digit in (0, 3, 4, 7, 9)]
# Each map has its own colour scale, symmetric about zero.
fig, axes = plt.subplots(1, len(picks), figsize=(3.4 * len(picks), 3.2))
for ax, k in zip(axes, picks):
    display = OcclusionDisplay.from_estimator(clf, X_test[k], window=2, stride=1,
                                              fill=0.5, ax=ax)
    ax.set_title(f"digit {y_test[k]}, predicted {display.target}")
fig.tight_layout()
fig.suptitle(f"Occlusion maps of a CNN (test accuracy {accuracy:.3f}), 2x2 grey patch")
plt.show()
