"""
Diffusion: noising digits, and drawing new ones
===============================================

The course's figure of a denoising diffusion model on the 8x8 digits. Top:
the forward process, ``add_noise`` at steps 0 to T-1 of a linear schedule
(T = 200): each step adds a little Gaussian noise until, at the last step,
nothing of the digit is left (the default betas are scaled to T for that).
Bottom: 32 digits drawn by ``sample`` after training, each by running the
reverse chain from pure noise, and 10 more from a
class-conditional model asked for 0, 1, ..., 9 (classifier-free guidance
weight 2). Last: both models' ``loss_curve_``, the denoising loss of each
epoch (half the squared error of the predicted noise, summed over a digit's
pixels and averaged over the epoch's digits; each batch draws its own steps
and noise, so the curve wiggles; with ``early_stopping=True``,
``validation_loss_curve_`` gives the loss on held-out digits with fixed
draws). Training is cut short for the example's time (40 epochs each);
``asv_bench/evaluate_ddpm.py`` trains longer and measures the samples.
"""

import time
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning

from skneuro import DDPM

# A fixed number of epochs, chosen for the example's time.
warnings.simplefilter("ignore", ConvergenceWarning)
start = time.perf_counter()
X, y = load_digits(return_X_y=True)
params = dict(input_shape=(1, 8, 8), n_steps=200, max_iter=40, n_iter_no_change=41,
              random_state=0)
model = DDPM(**params).fit(X)
conditional = DDPM(**params, conditional=True, guidance=2.0).fit(X, y)

steps = [0, 10, 25, 50, 100, 150, 199]
noisy = [model.add_noise(X[:1], t, random_state=0)[0] for t in steps]
samples = model.sample(32, random_state=0)
chosen = conditional.sample(10, y=np.arange(10), random_state=0)

fig = plt.figure(figsize=(10, 10))
grid = fig.add_gridspec(4, 1, height_ratios=[1, 2.2, 1, 1.6])
top = grid[0].subgridspec(1, len(steps))
for k, (t, image) in enumerate(zip(steps, noisy)):
    ax = fig.add_subplot(top[k])
    ax.imshow(image.reshape(8, 8), cmap="gray_r")
    ax.set_title(f"t = {t}", fontsize=9)
    ax.axis("off")
ax = fig.add_subplot(grid[1])
# A blank pixel around each digit, so that neighbours do not run together.
tiles = np.pad(samples.reshape(4, 8, 8, 8), ((0, 0), (0, 0), (1, 1), (1, 1)))
ax.imshow(np.block([[tiles[i, j] for j in range(8)] for i in range(4)]), cmap="gray_r",
          vmin=0, vmax=16)
ax.set_title("sample(32): the reverse chain from pure noise", fontsize=10)
ax.axis("off")
ax = fig.add_subplot(grid[2])
ax.imshow(np.hstack([np.pad(image.reshape(8, 8), 1) for image in chosen]), cmap="gray_r",
          vmin=0, vmax=16)
ax.set_title("conditional model: sample(10, y=[0, 1, ..., 9]), guidance 2", fontsize=10)
ax.axis("off")
ax = fig.add_subplot(grid[3])
for name, fitted in (("unconditional", model), ("conditional", conditional)):
    ax.plot(np.arange(1, fitted.n_iter_ + 1), fitted.loss_curve_, label=name)
ax.set_xlabel("epoch")
ax.set_ylabel("denoising loss per digit")
ax.set_title("loss_curve_: the training loss per epoch", fontsize=10)
ax.legend()
fig.tight_layout()
out = Path(__file__).parent / "output"
out.mkdir(exist_ok=True)
fig.savefig(out / "ddpm_digits.png", dpi=100)
print(f"final denoising loss {model.loss_curve_[-1]:.3f} (score {model.score(X):.3f}); "
      f"42 samples ({time.perf_counter() - start:.0f} s) -> examples/output/ddpm_digits.png")
