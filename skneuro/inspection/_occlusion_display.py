"""An occlusion map drawn over the image it explains."""

import numpy as np
from sklearn.utils._optional_dependencies import check_matplotlib_support
from sklearn.utils.validation import check_is_fitted

from skneuro.inspection.occlusion import occlusion_map


class OcclusionDisplay:
    """Occlusion map over its image: where a classifier's decision rests.

    The image is drawn in grey (or in colour, with three channels) and the
    map on top of it, semi-transparent, in a diverging colormap centred on
    zero: red where hiding the pixels lowers the target's probability, blue
    where it raises it. A 1-D signal is drawn as curves over a band of the
    map.

    It is recommended to use :meth:`from_estimator` to create an
    :class:`OcclusionDisplay`. All parameters are stored as attributes.

    Parameters
    ----------
    heatmap : ndarray of shape (H, W) or (L,)
        The occlusion map (:func:`~skneuro.inspection.occlusion_map`).
    image : ndarray of shape (C, H, W), (H, W), (C, L) or (L,)
        The sample the map explains.
    target : label, default=None
        The class whose probability the map follows, for the title.
    estimator_name : str, default=None
        Shown in the title.

    Attributes
    ----------
    image_ : matplotlib AxesImage or None
        The image (None for a 1-D signal).
    lines_ : list of matplotlib Line2D
        The signal's channels (empty for an image).
    heatmap_ : matplotlib AxesImage
        The occlusion map.
    colorbar_ : matplotlib Colorbar or None
        The map's colorbar.
    ax_ : matplotlib Axes
        Axes with the plot.
    figure_ : matplotlib Figure
        Figure containing the plot.

    See Also
    --------
    occlusion_map : Compute the map.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> import numpy as np
    >>> from skneuro.inspection import OcclusionDisplay
    >>> image = np.zeros((5, 5))
    >>> image[1:4, 2] = 1.0
    >>> heatmap = np.where(image > 0, 0.5, 0.0)
    >>> display = OcclusionDisplay(heatmap, image, target=1).plot()
    >>> display.heatmap_.get_array().shape
    (5, 5)
    >>> plt.show()
    """

    def __init__(self, heatmap, image, *, target=None, estimator_name=None):
        self.heatmap = heatmap
        self.image = image
        self.target = target
        self.estimator_name = estimator_name

    def plot(self, ax=None, *, cmap="RdBu_r", alpha=0.6, image_cmap="gray_r",
             colorbar=True):
        """Plot the image and the map over it.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to plot on; None makes a new figure and axes.
        cmap : str or matplotlib Colormap, default="RdBu_r"
            Colormap of the map, symmetric about zero.
        alpha : float, default=0.6
            Opacity of the map over the image.
        image_cmap : str or matplotlib Colormap, default="gray_r"
            Colormap of a one-channel image.
        colorbar : bool, default=True
            Draw a colorbar of the map.

        Returns
        -------
        display : OcclusionDisplay
            Object that stores the computed values.
        """
        check_matplotlib_support(f"{type(self).__name__}.plot")
        import matplotlib.pyplot as plt

        heat = np.asarray(self.heatmap, dtype=float)
        if heat.ndim not in (1, 2):
            raise ValueError(f"heatmap must be 1-D or 2-D, got shape {heat.shape}.")
        image = _as_channels(np.asarray(self.image, dtype=float), heat.shape)
        if ax is None:
            _, ax = plt.subplots()
        # Symmetric limits keep zero (no effect) at the colormap's neutral middle.
        limit = float(np.nanmax(np.abs(heat))) if np.isfinite(heat).any() else 0.0
        limit = limit or 1.0
        self.lines_ = []
        if heat.ndim == 2:
            self.image_ = ax.imshow(_displayable(image), cmap=image_cmap,
                                    interpolation="nearest")
            self.heatmap_ = ax.imshow(heat, cmap=cmap, alpha=alpha, vmin=-limit,
                                      vmax=limit, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
        else:
            self.image_ = None
            positions = np.arange(heat.size)
            for k, channel in enumerate(image):
                self.lines_.extend(ax.plot(positions, channel, color="k", linewidth=1,
                                           linestyle=("-", "--", ":", "-.")[k % 4]))
            low, high = ax.get_ylim()
            # The map as a band behind the curves, one column per sample.
            self.heatmap_ = ax.imshow(heat[None, :], cmap=cmap, alpha=alpha, vmin=-limit,
                                      vmax=limit, aspect="auto", interpolation="nearest",
                                      extent=(-0.5, heat.size - 0.5, low, high), zorder=0)
            ax.set_xlabel("position")
        self.colorbar_ = None
        if colorbar:
            self.colorbar_ = ax.figure.colorbar(self.heatmap_, ax=ax)
            what = "target" if self.target is None else repr(self.target)
            self.colorbar_.set_label(f"drop of P({what}) when occluded")
        title = "occlusion map" if self.target is None else f"occlusion map, class {self.target!r}"
        if self.estimator_name is not None:
            title = f"{self.estimator_name}: {title}"
        ax.set_title(title)
        self.ax_ = ax
        self.figure_ = ax.figure
        return self

    @classmethod
    def from_estimator(cls, estimator, x, *, window=3, stride=1, fill=0.0, target=None,
                       random_state=None, ax=None, cmap="RdBu_r", alpha=0.6,
                       image_cmap="gray_r", colorbar=True):
        """Compute and plot the occlusion map of one sample.

        Parameters
        ----------
        estimator : fitted classifier with ``predict_proba``
            A :class:`~skneuro.CNNClassifier` (its ``input_shape_`` gives the
            layout) or a classifier of flat rows.
        x : array-like
            One sample, flat or shaped, as :func:`occlusion_map` takes it.
        window, stride, fill, random_state
            As for :func:`~skneuro.inspection.occlusion_map`.
        target : label, default=None
            Class whose probability is followed; None is the class predicted
            for the intact sample.
        ax : matplotlib Axes, default=None
            Axes to plot on; None makes a new figure and axes.
        cmap, alpha, image_cmap, colorbar
            As for :meth:`plot`.

        Returns
        -------
        display : OcclusionDisplay
            Object that stores the computed values.

        Raises
        ------
        NotFittedError
            If the estimator is not fitted.

        Examples
        --------
        >>> import matplotlib.pyplot as plt
        >>> from sklearn.datasets import load_digits
        >>> from skneuro import CNNClassifier
        >>> from skneuro.inspection import OcclusionDisplay
        >>> X, y = load_digits(return_X_y=True)
        >>> clf = CNNClassifier("C-8.3, P-2, D-32", input_shape=(1, 8, 8), max_iter=100,
        ...                     early_stopping=True, n_iter_no_change=2,
        ...                     random_state=0).fit(X / 16, y)
        >>> display = OcclusionDisplay.from_estimator(clf, X[0] / 16, window=2)
        >>> display.heatmap.shape
        (8, 8)
        >>> plt.show()
        """
        check_matplotlib_support(f"{cls.__name__}.from_estimator")
        check_is_fitted(estimator)
        heat = occlusion_map(estimator, x, window=window, stride=stride, fill=fill,
                             target=target, random_state=random_state)
        if target is None:
            # The class the map follows: the one predicted for the intact sample.
            proba = estimator.predict_proba(_one_row(estimator, x))
            target = estimator.classes_[int(np.argmax(proba[0]))]
        target = target.item() if isinstance(target, np.generic) else target
        display = cls(heat, np.asarray(x, dtype=float), target=target,
                      estimator_name=type(estimator).__name__)
        return display.plot(ax=ax, cmap=cmap, alpha=alpha, image_cmap=image_cmap,
                            colorbar=colorbar)


def _one_row(estimator, x):
    """``x`` as a batch of one, in the layout the estimator predicts."""
    x = np.asarray(x, dtype=float)
    shape = getattr(estimator, "input_shape_", None)
    return x.reshape((1, -1) if shape is None else (1,) + tuple(shape))


def _as_channels(image, spatial):
    """The sample as ``(C,) + spatial``: channels first, whatever its layout."""
    size = int(np.prod(spatial))
    if image.size % size:
        raise ValueError(f"image has {image.size} values, not a whole number of "
                         f"{spatial} maps.")
    return image.reshape((image.size // size,) + tuple(spatial))


def _displayable(image):
    """What imshow draws: one channel as is, three as RGB in [0, 1], else their mean."""
    if image.shape[0] == 3:
        rgb = np.moveaxis(image, 0, -1)
        span = rgb.max() - rgb.min()
        return (rgb - rgb.min()) / (span if span > 0 else 1.0)
    return image.mean(axis=0)
