"""A grid of images: a generative model's samples, an autoencoder's reconstructions."""

import numpy as np
from sklearn.utils._optional_dependencies import check_matplotlib_support
from sklearn.utils.validation import check_is_fitted


class ImageGridDisplay:
    """Images side by side in rows, drawn as one picture.

    The images are tiled into one mosaic, with a blank pixel around each so
    that neighbours do not run together, and drawn with one ``imshow`` on a
    common colour scale.

    It is recommended to use :meth:`from_estimator` (samples of a generative
    model) or :meth:`from_reconstruction` (an autoencoder's reconstructions)
    to create an :class:`ImageGridDisplay`. All parameters are stored as
    attributes.

    Parameters
    ----------
    images : ndarray of shape (n_images, H, W) or (n_images, H, W, 3)
        The images, in order, row by row.
    n_cols : int, default=None
        Images per row; None is about the square root of ``n_images`` (all
        in one row for up to 10 images).
    row_labels : list of str, default=None
        A label for each row, on the left.
    title : str, default=None
        Title of the axes.

    Attributes
    ----------
    image_ : matplotlib AxesImage
        The mosaic.
    ax_ : matplotlib Axes
        Axes with the mosaic.
    figure_ : matplotlib Figure
        Figure containing the mosaic.

    See Also
    --------
    ImageGridDisplay.from_estimator : Samples of a DDPM or a variational
        AutoEncoder.
    ImageGridDisplay.from_reconstruction : Originals above, reconstructions
        below.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> from sklearn.datasets import load_digits
    >>> from skneuro.inspection import ImageGridDisplay
    >>> images = load_digits().images[:12]
    >>> display = ImageGridDisplay(images, n_cols=6).plot()
    >>> display.image_.get_array().shape
    (19, 55)
    >>> plt.show()
    """

    def __init__(self, images, *, n_cols=None, row_labels=None, title=None):
        self.images = images
        self.n_cols = n_cols
        self.row_labels = row_labels
        self.title = title

    def plot(self, ax=None, *, cmap="gray_r", vmin=None, vmax=None):
        """Plot the mosaic.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to plot on; None makes a new figure and axes.
        cmap : str or matplotlib Colormap, default="gray_r"
            Colormap of one-channel images.
        vmin, vmax : float, default=None
            The colour scale; None is the images' minimum and maximum.

        Returns
        -------
        display : ImageGridDisplay
            Object that stores the computed values.
        """
        check_matplotlib_support(f"{type(self).__name__}.plot")
        import matplotlib.pyplot as plt

        images = np.asarray(self.images, dtype=float)
        rgb = images.ndim == 4 and images.shape[-1] == 3
        if not (images.ndim == 3 or rgb) or len(images) == 0:
            raise ValueError("images must have shape (n_images, H, W) or (n_images, H, W, 3), "
                             f"got {images.shape}.")
        n = len(images)
        n_cols = self.n_cols or (n if n <= 10 else int(np.ceil(np.sqrt(n))))
        n_rows = int(np.ceil(n / n_cols))
        low = np.nanmin(images) if vmin is None else vmin
        high = np.nanmax(images) if vmax is None else vmax
        h, w = images.shape[1:3]
        # The mosaic's background is the colour scale's minimum: blank paper
        # for gray_r, so the gaps and the missing tiles of a last row vanish.
        mosaic = np.full((n_rows * (h + 1) + 1, n_cols * (w + 1) + 1) + images.shape[3:],
                         low, dtype=float)
        for k, image in enumerate(images):
            i, j = divmod(k, n_cols)
            mosaic[1 + i * (h + 1):(i + 1) * (h + 1), 1 + j * (w + 1):(j + 1) * (w + 1)] = image
        if rgb:  # imshow takes RGB floats in [0, 1]
            mosaic = np.clip((mosaic - low) / ((high - low) or 1.0), 0.0, 1.0)
        if ax is None:
            _, ax = plt.subplots(figsize=(min(1.0 + 0.9 * n_cols, 12), 0.3 + 0.9 * n_rows))
        self.image_ = ax.imshow(mosaic, cmap=cmap, vmin=low, vmax=high,
                                interpolation="nearest")
        ax.set_xticks([])
        if self.row_labels is not None:
            if len(self.row_labels) != n_rows:
                raise ValueError(f"row_labels has {len(self.row_labels)} labels for "
                                 f"{n_rows} rows.")
            ax.set_yticks((h + 1) * np.arange(n_rows) + (h + 1) / 2, list(self.row_labels))
            ax.tick_params(axis="y", length=0)
        else:
            ax.set_yticks([])
        for side in ax.spines.values():
            side.set_visible(False)
        if self.title is not None:
            ax.set_title(self.title)
        self.ax_ = ax
        self.figure_ = ax.figure
        return self

    @classmethod
    def from_estimator(cls, estimator, n_samples=16, *, y=None, random_state=None,
                       image_shape=None, n_cols=None, ax=None, cmap="gray_r", vmin=None,
                       vmax=None):
        """Draw samples of a generative model and plot them.

        Parameters
        ----------
        estimator : fitted generative model with ``sample``
            A :class:`~skneuro.DDPM`, or an :class:`~skneuro.AutoEncoder`
            with ``variational=True``.
        n_samples : int, default=16
            Number of samples to draw.
        y : label or array-like of shape (n_samples,), default=None
            Classes to generate, for a conditional DDPM; None draws without
            labels.
        random_state : int, RandomState instance or None, default=None
            Seeds the sampling.
        image_shape : tuple of int, default=None
            ``(H, W)`` or ``(C, H, W)`` of one sample; None takes it from the
            estimator's ``input_shape_`` (a convolutional model's images).
        n_cols : int, default=None
            Images per row.
        ax : matplotlib Axes, default=None
            Axes to plot on; None makes a new figure and axes.
        cmap, vmin, vmax
            As for :meth:`plot`.

        Returns
        -------
        display : ImageGridDisplay
            Object that stores the computed values; ``images`` holds the
            samples as ``(n_samples, H, W)`` (or ``(n_samples, H, W, 3)``).

        Raises
        ------
        NotFittedError
            If the estimator is not fitted.
        ValueError
            If the shape of the images cannot be known (flat data and no
            ``image_shape``).

        Examples
        --------
        >>> import matplotlib.pyplot as plt
        >>> from sklearn.datasets import load_digits
        >>> from skneuro import DDPM
        >>> from skneuro.inspection import ImageGridDisplay
        >>> X = load_digits().data[:200]
        >>> ddpm = DDPM(input_shape=(1, 8, 8), n_steps=10, channels=8, max_iter=300,
        ...             early_stopping=True, n_iter_no_change=1, random_state=0).fit(X)
        >>> display = ImageGridDisplay.from_estimator(ddpm, n_samples=4, random_state=0)
        >>> display.images.shape
        (4, 8, 8)
        >>> plt.show()
        """
        check_matplotlib_support(f"{cls.__name__}.from_estimator")
        check_is_fitted(estimator)
        if not callable(getattr(estimator, "sample", None)):
            raise TypeError(f"{type(estimator).__name__} has no sample method; "
                            "ImageGridDisplay.from_estimator draws a generative model's "
                            "samples (use from_reconstruction for an autoencoder).")
        shape = _image_shape(estimator, image_shape)
        kwargs = {} if y is None else {"y": y}
        samples = estimator.sample(n_samples, random_state=random_state, **kwargs)
        images = _as_images(samples, shape)
        display = cls(images, n_cols=n_cols,
                      title=f"{type(estimator).__name__}: {len(images)} samples")
        return display.plot(ax=ax, cmap=cmap, vmin=vmin, vmax=vmax)

    @classmethod
    def from_reconstruction(cls, estimator, X, *, image_shape=None, ax=None, cmap="gray_r",
                            vmin=None, vmax=None):
        """Plot samples (top row) and an autoencoder's reconstructions (bottom row).

        Parameters
        ----------
        estimator : fitted autoencoder
            An :class:`~skneuro.AutoEncoder` (anything with ``transform`` and
            ``inverse_transform``).
        X : array-like of shape (n_images, n_features) or shaped samples
            The samples to reconstruct; pass a few (each is one column).
        image_shape : tuple of int, default=None
            ``(H, W)`` or ``(C, H, W)`` of one sample; None takes it from the
            estimator's ``input_shape_`` (a convolutional autoencoder's
            images).
        ax : matplotlib Axes, default=None
            Axes to plot on; None makes a new figure and axes.
        cmap, vmin, vmax
            As for :meth:`plot`; the two rows share one colour scale.

        Returns
        -------
        display : ImageGridDisplay
            Object that stores the computed values; ``images`` holds the
            originals, then the reconstructions.

        Raises
        ------
        NotFittedError
            If the estimator is not fitted.
        ValueError
            If the shape of the images cannot be known (flat data and no
            ``image_shape``).

        Examples
        --------
        >>> import matplotlib.pyplot as plt
        >>> from sklearn.datasets import load_digits
        >>> from skneuro import AutoEncoder
        >>> from skneuro.inspection import ImageGridDisplay
        >>> X = load_digits().data / 16
        >>> ae = AutoEncoder(n_components=8, hidden_layer_sizes=(32,), max_iter=100,
        ...                  early_stopping=True, n_iter_no_change=2,
        ...                  random_state=0).fit(X)
        >>> display = ImageGridDisplay.from_reconstruction(ae, X[:6], image_shape=(8, 8))
        >>> display.images.shape
        (12, 8, 8)
        >>> plt.show()
        """
        check_matplotlib_support(f"{cls.__name__}.from_reconstruction")
        check_is_fitted(estimator)
        shape = _image_shape(estimator, image_shape)
        X = np.asarray(X, dtype=float)
        if X.ndim < 2 or len(X) == 0:
            raise ValueError("X must be a non-empty batch of samples (one per row), got "
                             f"shape {X.shape}.")
        rebuilt = estimator.inverse_transform(estimator.transform(X))
        images = np.concatenate([_as_images(X, shape), _as_images(rebuilt, shape)])
        display = cls(images, n_cols=len(X), row_labels=["original", "reconstruction"],
                      title=f"{type(estimator).__name__}: reconstructions")
        return display.plot(ax=ax, cmap=cmap, vmin=vmin, vmax=vmax)


def _image_shape(estimator, image_shape):
    """``(C, H, W)`` of one sample: given, or the estimator's ``input_shape_``."""
    if image_shape is None:
        shape = getattr(estimator, "input_shape_", None)
        if shape is None or len(shape) != 3:
            raise ValueError(
                f"The shape of {type(estimator).__name__}'s images cannot be known: it "
                f"takes samples of shape {None if shape is None else tuple(shape)}, not "
                "(C, H, W) images. Pass image_shape=(H, W) (e.g. (8, 8) for the digits).")
        shape = tuple(int(s) for s in shape)
    else:
        shape = tuple(int(s) for s in image_shape)
        if len(shape) == 2:
            shape = (1,) + shape
        if len(shape) != 3 or min(shape) < 1:
            raise ValueError(f"image_shape must be (H, W) or (C, H, W), got {image_shape!r}.")
    if shape[0] not in (1, 3):
        raise ValueError(f"Images of {shape[0]} channels cannot be drawn; one (grey) or "
                         "three (RGB) can.")
    return shape


def _as_images(rows, shape):
    """Samples, flat or shaped, as ``(n, H, W)`` or ``(n, H, W, 3)`` images."""
    rows = np.asarray(rows, dtype=float)
    size = int(np.prod(shape))
    if rows.size != len(rows) * size:
        raise ValueError(f"Samples of {rows.size // max(len(rows), 1)} values are not images "
                         f"of shape {shape}.")
    images = rows.reshape((len(rows),) + shape)
    return images[:, 0] if shape[0] == 1 else np.moveaxis(images, 1, -1)
