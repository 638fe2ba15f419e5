"""
Data augmentation on a small training set
=========================================

With only 150 training digits, a CNN overfits: it learns the exact pixels of
the images it saw. Random shifts of up to one pixel (and a little noise),
drawn afresh at every epoch during fit only, show it many slightly different
versions of each digit; the test accuracy on 1,000 unseen digits improves.
The left panel shows one training digit as the augmentation presents it in
six successive epochs.
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from skneuro import CNNClassifier
from skneuro.nn import Augment, CPUBackend

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X / 16.0, y, train_size=150,
                                                    test_size=1000, stratify=y,
                                                    random_state=0)
# Each fit stops once its training loss has improved by less than tol=1e-4
# for ten epochs in a row.
max_iter = 300
# sphinx_gallery_start_ignore
# The docs' quick build trains a few epochs only; such fits have not
# converged and say so, which is no news there.
import os  # noqa: E402
import warnings  # noqa: E402

from sklearn.exceptions import ConvergenceWarning  # noqa: E402

if os.environ.get("SKNEURO_DOCS_QUICK"):
    max_iter = 5
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
# sphinx_gallery_end_ignore
params = dict(layers="C-16.3, P-2, C-32.3, D-64", input_shape=(1, 8, 8),
              learning_rate_init=0.01, max_iter=max_iter, random_state=0)
scores = {}
for name, extra in [("no augmentation", {}),
                    ("shifts of 1 pixel + noise 0.05",
                     dict(augment_shift=1, augment_noise=0.05))]:
    accuracies = []
    for seed in range(3):
        clf = CNNClassifier(**{**params, "random_state": seed}, **extra)
        clf.fit(X_train, y_train)
        accuracies.append(clf.score(X_test, y_test))
        print(f"{name}, seed {seed}: {clf.n_iter_} epochs")
    scores[name] = np.array(accuracies)
print("test accuracy " + ", ".join(f"{n}: {s.mean():.3f} +- {s.std():.3f}"
                                    for n, s in scores.items()))

# %%
# What the augmentation shows the network, and what it gains
# ----------------------------------------------------------
# The ``Augment`` layer, built alone, transforms one digit as a fit would.
layer = Augment(shift=1, noise=0.05)
layer.build([(1, 8, 8)], CPUBackend(), np.random.default_rng(0))
sample = X_train[:1].reshape(1, 1, 8, 8).astype(np.float32)
views = [layer.forward([sample], training=True)[0, 0].copy() for _ in range(6)]

fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), gridspec_kw={"width_ratios": [1.4, 1]})
axes[0].imshow(np.hstack([sample[0, 0]] + views), cmap="gray_r")
axes[0].set_title("a training digit, then six augmented views")
axes[0].axis("off")
names = list(scores)
axes[1].bar(names, [scores[n].mean() for n in names],
            yerr=[scores[n].std() for n in names], color=["grey", "tab:green"])
axes[1].set_ylim(0.7, 1.0)
axes[1].set_ylabel("test accuracy (3 seeds)")
axes[1].set_title("150 training digits, 1,000 test digits")
fig.tight_layout()
plt.show()
