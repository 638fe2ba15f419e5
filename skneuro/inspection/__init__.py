"""Tools to read what a trained network has learned, and to plot it.

Functions
---------
occlusion_map
    The drop of a classifier's probability when each part of an input is hidden.

Timing
------
LayerTimes
    Seconds spent in each layer's forward and backward passes inside a
    ``with`` block.

Displays
--------
Plotting classes in scikit-learn's style: ``from_estimator`` (or
``from_reconstruction``) computes and plots, ``plot`` draws again on other
axes; the artists, ``ax_`` and ``figure_`` are kept as attributes. They need
matplotlib, which is imported when a display first draws.

TrainingCurveDisplay
    The loss per epoch, the validation loss and the best epoch.
OcclusionDisplay
    An occlusion map over its image.
LatentSpaceDisplay
    An autoencoder's latent plane coloured by label.
ImageGridDisplay
    A grid of generated samples, or of originals above their reconstructions.
"""

from skneuro.inspection._image_grid import ImageGridDisplay
from skneuro.inspection._latent_space import LatentSpaceDisplay
from skneuro.inspection._layer_times import LayerTimes
from skneuro.inspection._occlusion_display import OcclusionDisplay
from skneuro.inspection._training_curve import TrainingCurveDisplay
from skneuro.inspection.occlusion import occlusion_map

__all__ = ["ImageGridDisplay", "LatentSpaceDisplay", "LayerTimes", "OcclusionDisplay",
           "TrainingCurveDisplay", "occlusion_map"]
