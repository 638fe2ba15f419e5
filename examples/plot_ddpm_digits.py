"""
Diffusion: noising digits, and drawing new ones
===============================================

The course's figure of a denoising diffusion model on the 8x8 digits. First,
the forward process, ``add_noise`` at steps 0 to T-1 of a linear schedule
(T = 200): each step adds a little Gaussian noise until, at the last step,
nothing of the digit is left (the default betas are scaled to T for that).
Then 32 digits drawn by ``sample`` after training, each by running the
reverse chain from pure noise, and 10 more from a class-conditional model
asked for 0, 1, ..., 9 (classifier-free guidance weight 2). Last, both
models' training curves: ``loss_curve_`` is the denoising loss of each epoch
(half the squared error of the predicted noise, summed over a digit's pixels
and averaged over the epoch's digits; each batch draws its own steps and
noise, so the curve wiggles), and with ``early_stopping=True``,
``validation_loss_curve_`` is the loss on 10% of the digits held out, with
fixed draws. Training stops once that loss has not improved for five epochs,
and the best epoch's weights are restored. ``asv_bench/evaluate_ddpm.py``
trains longer and measures the samples.
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits

from skneuro import DDPM
from skneuro.inspection import ImageGridDisplay, TrainingCurveDisplay

X, y = load_digits(return_X_y=True)

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
params = dict(input_shape=(1, 8, 8), n_steps=200, max_iter=max_iter, early_stopping=True,
              n_iter_no_change=5, random_state=0)
model = DDPM(**params).fit(X)
conditional = DDPM(**params, conditional=True, guidance=2.0).fit(X, y)
print(f"unconditional: {model.n_iter_} epochs, conditional: {conditional.n_iter_} epochs; "
      f"denoising loss of the digits {-model.score(X):.3f}")

# %%
# The forward process
# -------------------
steps = [0, 10, 25, 50, 100, 150, 199]
fig, axes = plt.subplots(1, len(steps), figsize=(10, 1.8))
for ax, t in zip(axes, steps):
    ax.imshow(model.add_noise(X[:1], t, random_state=0)[0].reshape(8, 8), cmap="gray_r")
    ax.set_title(f"t = {t}", fontsize=9)
    ax.axis("off")
plt.show()

# %%
# New digits, drawn by the reverse chain
# --------------------------------------
# :class:`~skneuro.inspection.ImageGridDisplay` calls ``sample``; the
# conditional model is asked for one digit of each class.
fig, (ax_free, ax_chosen) = plt.subplots(2, 1, figsize=(8, 6),
                                         gridspec_kw={"height_ratios": [4, 1.3]})
ImageGridDisplay.from_estimator(model, n_samples=32, random_state=0, n_cols=8,
                                ax=ax_free, vmin=0, vmax=16)
ax_free.set_title("sample(32): the reverse chain from pure noise", fontsize=10)
ImageGridDisplay.from_estimator(conditional, n_samples=10, y=np.arange(10),
                                random_state=0, ax=ax_chosen, vmin=0, vmax=16)
ax_chosen.set_title("conditional model: sample(10, y=[0, 1, ..., 9]), guidance 2",
                    fontsize=10)
plt.show()

# %%
# Training curves
# ---------------
# The dotted line marks the epoch early stopping restored.
fig, axes = plt.subplots(1, 2, figsize=(11, 3.8), sharey=True)
for ax, (name, fitted) in zip(axes, (("unconditional", model),
                                     ("conditional", conditional))):
    TrainingCurveDisplay.from_estimator(fitted, ax=ax)
    ax.set_title(f"{name} model", fontsize=10)
axes[0].set_ylabel("denoising loss per digit")
axes[1].set_ylabel("")
fig.tight_layout()
plt.show()
