"""
Occlusion maps: where a CNN looks
=================================

A small convolutional network learns the 8x8 handwritten digits. For a few
test images, a 2x2 grey patch slides over the image and the network predicts
each occluded copy: the drop in the probability of the predicted digit, at
each pixel, is the occlusion map (Zeiler & Fergus 2014, as in the course).
Red pixels are the ones the decision rests on; blue ones, when hidden, make
the network even surer.
"""

import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from skneuro import CNNClassifier
from skneuro.inspection import occlusion_map

start = time.perf_counter()
X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X / 16.0, y, test_size=0.3,
                                                    stratify=y, random_state=0)
clf = CNNClassifier("C-16.3, P-2, C-32.3, D-64", input_shape=(1, 8, 8),
                    learning_rate_init=0.01, max_iter=30, random_state=0)
clf.fit(X_train, y_train)
accuracy = clf.score(X_test, y_test)

picks = [int(np.flatnonzero(y_test == digit)[0]) for digit in (0, 3, 4, 7, 9)]
fig, axes = plt.subplots(2, len(picks), figsize=(2.4 * len(picks), 5))
for col, k in enumerate(picks):
    image = X_test[k]
    heat = occlusion_map(clf, image, window=2, stride=1, fill=0.5)
    predicted = clf.predict(image[None])[0]
    axes[0, col].imshow(image.reshape(8, 8), cmap="gray_r")
    axes[0, col].set_title(f"digit {y_test[k]}, predicted {predicted}")
    limit = np.abs(heat).max()
    shown = axes[1, col].imshow(heat, cmap="RdBu_r", vmin=-limit, vmax=limit)
    axes[1, col].set_title("probability drop")
    fig.colorbar(shown, ax=axes[1, col], fraction=0.046)
for ax in axes.ravel():
    ax.set_xticks([])
    ax.set_yticks([])
fig.suptitle(f"Occlusion maps of a CNN (test accuracy {accuracy:.3f}), 2x2 grey patch")
fig.tight_layout()
out = Path(__file__).parent / "output"
out.mkdir(exist_ok=True)
fig.savefig(out / "occlusion.png", dpi=110)
print(f"CNN test accuracy {accuracy:.3f}; occlusion maps of {len(picks)} digits in "
      f"{time.perf_counter() - start:.1f} s -> examples/output/occlusion.png")
