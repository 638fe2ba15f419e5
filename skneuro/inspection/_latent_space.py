"""The latent plane of an autoencoder, its points coloured by label."""

import numpy as np
from sklearn.utils._optional_dependencies import check_matplotlib_support
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import check_is_fitted


class LatentSpaceDisplay:
    """Latent plane: the codes of samples, coloured by their label.

    Class labels get one colour each and a legend; a continuous target (or
    numbers with more than 20 distinct values) gets a colormap and a
    colorbar; without labels, every point has one colour.

    It is recommended to use :meth:`from_estimator` to create a
    :class:`LatentSpaceDisplay`. All parameters are stored as attributes.

    Parameters
    ----------
    embedding : ndarray of shape (n_samples, 2)
        The two latent components to plot.
    y : array-like of shape (n_samples,), default=None
        Labels or values that colour the points.
    components : tuple of two int, default=(0, 1)
        Which latent components ``embedding`` holds, for the axis labels.
    estimator_name : str, default=None
        Shown in the title.

    Attributes
    ----------
    scatter_ : matplotlib PathCollection
        The points.
    legend_ : matplotlib Legend or None
        One entry per class, when ``y`` holds class labels.
    colorbar_ : matplotlib Colorbar or None
        When ``y`` is continuous.
    ax_ : matplotlib Axes
        Axes with the points.
    figure_ : matplotlib Figure
        Figure containing the points.

    See Also
    --------
    LatentSpaceDisplay.from_estimator : Plot the codes of an AutoEncoder.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> import numpy as np
    >>> from skneuro.inspection import LatentSpaceDisplay
    >>> codes = np.random.default_rng(0).normal(size=(50, 2))
    >>> display = LatentSpaceDisplay(codes, y=codes[:, 0] > 0).plot()
    >>> len(display.legend_.get_texts())
    2
    >>> plt.show()
    """

    def __init__(self, embedding, *, y=None, components=(0, 1), estimator_name=None):
        self.embedding = embedding
        self.y = y
        self.components = components
        self.estimator_name = estimator_name

    def plot(self, ax=None, *, cmap=None, scatter_kw=None):
        """Plot the points.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to plot on; None makes a new figure and axes.
        cmap : str or matplotlib Colormap, default=None
            Colormap; None is "tab10" (up to ten classes), "tab20" (more) or
            "viridis" (a continuous target).
        scatter_kw : dict, default=None
            Keyword arguments for matplotlib's ``scatter``.

        Returns
        -------
        display : LatentSpaceDisplay
            Object that stores the computed values.
        """
        check_matplotlib_support(f"{type(self).__name__}.plot")
        import matplotlib.pyplot as plt
        from matplotlib.lines import Line2D

        Z = np.asarray(self.embedding, dtype=float)
        if Z.ndim != 2 or Z.shape[1] != 2:
            raise ValueError(f"embedding must have shape (n_samples, 2), got {Z.shape}.")
        if ax is None:
            _, ax = plt.subplots()
        kw = {"s": 8, **(scatter_kw or {})}
        self.legend_ = self.colorbar_ = None
        if self.y is None:
            self.scatter_ = ax.scatter(Z[:, 0], Z[:, 1], **kw)
        else:
            y = np.asarray(self.y)
            if y.shape != (len(Z),):
                raise ValueError(f"y must have shape ({len(Z)},), one value per point; got "
                                 f"{y.shape}.")
            # Numbers with many distinct values (a regression target, an
            # index) read better on a colorbar than in a legend of dozens.
            many = y.dtype.kind in "iuf" and len(np.unique(y)) > 20
            if type_of_target(y) == "continuous" or many:
                self.scatter_ = ax.scatter(Z[:, 0], Z[:, 1], c=y, cmap=cmap or "viridis",
                                           **kw)
                self.colorbar_ = ax.figure.colorbar(self.scatter_, ax=ax)
            else:
                classes, codes = np.unique(y, return_inverse=True)
                colors = plt.get_cmap(cmap or ("tab10" if len(classes) <= 10 else "tab20"))
                # Colours by class index, evenly through the colormap's range.
                self.scatter_ = ax.scatter(Z[:, 0], Z[:, 1], c=codes, cmap=colors,
                                           vmin=-0.5, vmax=len(classes) - 0.5, **kw)
                norm = self.scatter_.norm
                handles = [Line2D([], [], linestyle="", marker="o",
                                  color=colors(norm(k)), label=str(label))
                           for k, label in enumerate(classes)]
                self.legend_ = ax.legend(handles=handles, title="label", fontsize="small",
                                         loc="center left", bbox_to_anchor=(1.0, 0.5))
        first, second = self.components
        ax.set_xlabel(f"latent component {first}")
        ax.set_ylabel(f"latent component {second}")
        if self.estimator_name is not None:
            ax.set_title(f"{self.estimator_name}: latent plane")
        self.ax_ = ax
        self.figure_ = ax.figure
        return self

    @classmethod
    def from_estimator(cls, estimator, X, y=None, *, components=(0, 1), ax=None,
                       cmap=None, scatter_kw=None):
        """Plot two latent components of the samples an estimator encodes.

        Parameters
        ----------
        estimator : fitted transformer
            An :class:`~skneuro.AutoEncoder` (or any fitted estimator with
            ``transform``) whose codes have at least two components.
        X : array-like of shape (n_samples, n_features) or shaped samples
            The samples to encode.
        y : array-like of shape (n_samples,), default=None
            Labels (a legend) or values (a colorbar) that colour the points.
        components : tuple of two int, default=(0, 1)
            The latent components on the x and y axes.
        ax : matplotlib Axes, default=None
            Axes to plot on; None makes a new figure and axes.
        cmap, scatter_kw
            As for :meth:`plot`.

        Returns
        -------
        display : LatentSpaceDisplay
            Object that stores the computed values.

        Raises
        ------
        NotFittedError
            If the estimator is not fitted.
        ValueError
            If the code has fewer than two components or ``components`` does
            not name two different ones.

        Examples
        --------
        >>> import matplotlib.pyplot as plt
        >>> from sklearn.datasets import load_digits
        >>> from skneuro import AutoEncoder
        >>> from skneuro.inspection import LatentSpaceDisplay
        >>> X, y = load_digits(return_X_y=True)
        >>> ae = AutoEncoder(n_components=2, hidden_layer_sizes=(32,), max_iter=1000,
        ...                  early_stopping=True, n_iter_no_change=2,
        ...                  random_state=0).fit(X / 16)
        >>> display = LatentSpaceDisplay.from_estimator(ae, X / 16, y)
        >>> display.scatter_.get_offsets().shape
        (1797, 2)
        >>> plt.show()
        """
        check_matplotlib_support(f"{cls.__name__}.from_estimator")
        check_is_fitted(estimator)
        components = tuple(components)
        if (len(components) != 2 or components[0] == components[1]
                or not all(isinstance(c, (int, np.integer)) for c in components)):
            raise ValueError(f"components must be two different ints, got {components!r}.")
        Z = np.asarray(estimator.transform(X))
        n_latent = Z.shape[1] if Z.ndim == 2 else 0
        if n_latent < 2:
            raise ValueError(f"The estimator's code has {n_latent} component(s); a latent "
                             "plane needs at least 2.")
        if not all(-n_latent <= c < n_latent for c in components):
            raise ValueError(f"components {components} out of range for a code of "
                             f"{n_latent} components.")
        components = tuple(int(c) % n_latent for c in components)
        display = cls(Z[:, list(components)], y=y, components=components,
                      estimator_name=type(estimator).__name__)
        return display.plot(ax=ax, cmap=cmap, scatter_kw=scatter_kw)
