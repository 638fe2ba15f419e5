"""
The latent plane of the digits, next to PCA's
=============================================

An autoencoder with a code of two numbers compresses each 8x8 digit into a
point of a plane, as PCA with two components does; but its encoder and
decoder are non-linear, so it can bend the plane through the data. Each point
below is one of the 1,797 digits, colored by its label (which neither method
sees). The autoencoder separates the classes more, and rebuilds the digits
from its two numbers with a smaller error than PCA's.
"""

import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA

from skneuro import AutoEncoder

start = time.perf_counter()
X, y = load_digits(return_X_y=True)
X = X / 16.0  # pixels in [0, 1]

ae = AutoEncoder(n_components=2, hidden_layer_sizes=(256, 128), out_activation="sigmoid",
                 batch_size=64, max_iter=200, early_stopping=True, n_iter_no_change=20,
                 random_state=0).fit(X)
pca = PCA(n_components=2).fit(X)
errors = {
    "autoencoder": -ae.score(X),
    "PCA": float(((X - pca.inverse_transform(pca.transform(X))) ** 2).mean()),
}

fig, axes = plt.subplots(1, 2, figsize=(11, 5))
for ax, (name, Z) in zip(axes, [("PCA", pca.transform(X)), ("autoencoder", ae.transform(X))]):
    points = ax.scatter(Z[:, 0], Z[:, 1], c=y, cmap="tab10", s=6)
    for digit in range(10):  # each class's label at its median point
        cx, cy = np.median(Z[y == digit], axis=0)
        ax.text(cx, cy, str(digit), fontsize=14, weight="bold", ha="center", va="center",
                bbox=dict(boxstyle="round,pad=0.15", fc="white", alpha=0.7))
    ax.set_title(f"{name}: reconstruction MSE {errors[name]:.4f}")
    ax.set_xlabel("component 1")
    ax.set_ylabel("component 2")
fig.colorbar(points, ax=axes, label="digit", ticks=range(10))
out = Path(__file__).parent / "output"
out.mkdir(exist_ok=True)
fig.savefig(out / "autoencoder_latent.png", dpi=110)
print(f"reconstruction MSE with 2 numbers per digit: autoencoder {errors['autoencoder']:.4f}, "
      f"PCA {errors['PCA']:.4f} ({ae.n_iter_} epochs, {time.perf_counter() - start:.0f} s)"
      " -> examples/output/autoencoder_latent.png")
