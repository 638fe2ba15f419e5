"""
The latent plane of the digits, next to PCA's
=============================================

An autoencoder with a code of two numbers compresses each 8x8 digit into a
point of a plane, as PCA with two components does; but its encoder and
decoder are non-linear, so it can bend the plane through the data. Each point
below is one of the 1,797 digits, colored by its label (which neither method
sees). The autoencoder separates the classes more, and rebuilds the digits
from its two numbers with a smaller error than PCA's.
:class:`~skneuro.inspection.LatentSpaceDisplay` draws both planes (it takes
any fitted transformer), and
:class:`~skneuro.inspection.ImageGridDisplay` shows a few digits above their
reconstructions.
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA

from skneuro import AutoEncoder
from skneuro.inspection import ImageGridDisplay, LatentSpaceDisplay

X, y = load_digits(return_X_y=True)
X = X / 16.0  # pixels in [0, 1]

# Early stopping holds out 10% of the digits and stops once their
# reconstruction score has not improved for 20 epochs, restoring the best.
max_iter = 300
# sphinx_gallery_start_ignore
# The docs' quick build trains a few epochs only; such a fit has not
# converged and says so, which is no news there.
import os  # noqa: E402
import warnings  # noqa: E402

from sklearn.exceptions import ConvergenceWarning  # noqa: E402

if os.environ.get("SKNEURO_DOCS_QUICK"):
    max_iter = 10
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
# sphinx_gallery_end_ignore
ae = AutoEncoder(n_components=2, hidden_layer_sizes=(256, 128), out_activation="sigmoid",
                 batch_size=64, max_iter=max_iter, early_stopping=True, n_iter_no_change=20,
                 random_state=0).fit(X)
pca = PCA(n_components=2).fit(X)
errors = {
    "autoencoder": -ae.score(X),
    "PCA": float(((X - pca.inverse_transform(pca.transform(X))) ** 2).mean()),
}
print(f"reconstruction MSE with 2 numbers per digit: autoencoder {errors['autoencoder']:.4f}, "
      f"PCA {errors['PCA']:.4f} (autoencoder: {ae.n_iter_} epochs)")

# %%
# Two latent planes
# -----------------
# Each class's label is written at its median point.
fig, axes = plt.subplots(1, 2, figsize=(12, 5))
for ax, (name, model) in zip(axes, [("PCA", pca), ("autoencoder", ae)]):
    display = LatentSpaceDisplay.from_estimator(model, X, y, ax=ax, scatter_kw={"s": 6})
    Z = display.embedding
    for digit in range(10):
        cx, cy = np.median(Z[y == digit], axis=0)
        ax.text(cx, cy, str(digit), fontsize=14, weight="bold", ha="center", va="center",
                bbox=dict(boxstyle="round,pad=0.15", fc="white", alpha=0.7))
    ax.set_title(f"{name}: reconstruction MSE {errors[name]:.4f}")
fig.tight_layout()
plt.show()

# %%
# What two numbers keep of a digit
# --------------------------------
ImageGridDisplay.from_reconstruction(ae, X[:10], image_shape=(8, 8))
plt.show()
