"""The training loss per epoch, with the validation loss and the best epoch."""

import numpy as np
from sklearn.utils._optional_dependencies import check_matplotlib_support
from sklearn.utils.validation import check_is_fitted


class TrainingCurveDisplay:
    """Training curve: the loss per epoch, the validation loss and the best epoch.

    It is recommended to use :meth:`from_estimator` to create a
    :class:`TrainingCurveDisplay`. All parameters are stored as attributes.

    Parameters
    ----------
    loss_curve : array-like of shape (n_epochs,)
        The training loss after each epoch (an estimator's ``loss_curve_``).
    validation_loss_curve : array-like of shape (n_validated,), default=None
        The loss on the validation set after each of the last ``n_validated``
        epochs (``validation_loss_curve_``); it is aligned with the end of
        ``loss_curve``, as after a warm start that added a validation set.
    best_epoch : int, default=None
        The epoch (counted from 1) to mark with a vertical line; None marks
        none.
    best_label : str, default=None
        What the best epoch is, for the legend.
    estimator_name : str, default=None
        Shown in the title; None shows no title.

    Attributes
    ----------
    line_ : matplotlib Line2D
        The training loss.
    validation_line_ : matplotlib Line2D or None
        The validation loss, if any.
    best_line_ : matplotlib Line2D or None
        The vertical line at ``best_epoch``, if any.
    ax_ : matplotlib Axes
        Axes with the curves.
    figure_ : matplotlib Figure
        Figure containing the curves.

    See Also
    --------
    TrainingCurveDisplay.from_estimator : Plot the curves of a fitted estimator.
    sklearn.model_selection.LearningCurveDisplay : Scores against the training
        set's size.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> from sklearn.datasets import load_digits
    >>> from skneuro import MLPClassifier
    >>> from skneuro.inspection import TrainingCurveDisplay
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = MLPClassifier((32,), max_iter=100, early_stopping=True,
    ...                     random_state=0).fit(X / 16, y)
    >>> display = TrainingCurveDisplay.from_estimator(clf)
    >>> display.best_epoch == clf.validation_scores_.index(clf.best_validation_score_) + 1
    True
    >>> plt.show()
    """

    def __init__(self, loss_curve, *, validation_loss_curve=None, best_epoch=None,
                 best_label=None, estimator_name=None):
        self.loss_curve = loss_curve
        self.validation_loss_curve = validation_loss_curve
        self.best_epoch = best_epoch
        self.best_label = best_label
        self.estimator_name = estimator_name

    def plot(self, ax=None, *, log_scale=False, mark_best=True, line_kw=None,
             validation_line_kw=None):
        """Plot the curves.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to plot on; None makes a new figure and axes.
        log_scale : bool, default=False
            Show the loss on a logarithmic axis (useful when the first
            epochs' loss dwarfs the rest).
        mark_best : bool, default=True
            Draw a vertical line at ``best_epoch``.
        line_kw, validation_line_kw : dict, default=None
            Keyword arguments for matplotlib's ``plot`` of the training and
            the validation curve.

        Returns
        -------
        display : TrainingCurveDisplay
            Object that stores the computed values.
        """
        check_matplotlib_support(f"{type(self).__name__}.plot")
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots()
        loss = np.asarray(self.loss_curve, dtype=float)
        if loss.ndim != 1 or loss.size == 0:
            raise ValueError("loss_curve must be a non-empty 1-D sequence of losses.")
        epochs = np.arange(1, loss.size + 1)
        # A single point (an L-BFGS fit) would be an invisible line: a marker shows it.
        marker = "o" if loss.size == 1 else None
        self.line_, = ax.plot(epochs, loss, **{"label": "training loss", "marker": marker,
                                               **(line_kw or {})})
        self.validation_line_ = None
        if self.validation_loss_curve is not None:
            val = np.asarray(self.validation_loss_curve, dtype=float)
            if val.ndim != 1 or not 0 < val.size <= loss.size:
                raise ValueError(
                    f"validation_loss_curve must be 1-D with 1 to {loss.size} values "
                    f"(one per epoch), got shape {val.shape}.")
            self.validation_line_, = ax.plot(
                epochs[loss.size - val.size:], val,
                **{"label": "validation loss", "marker": marker,
                   **(validation_line_kw or {})})
        self.best_line_ = None
        if mark_best and self.best_epoch is not None:
            label = self.best_label or "best epoch"
            self.best_line_ = ax.axvline(self.best_epoch, color="k", linestyle=":",
                                         linewidth=1,
                                         label=f"{label} (epoch {self.best_epoch})")
        if log_scale:
            ax.set_yscale("log")
        ax.set_xlabel("epoch")
        ax.set_ylabel("loss")
        if self.estimator_name is not None:
            ax.set_title(self.estimator_name)
        ax.legend()
        self.ax_ = ax
        self.figure_ = ax.figure
        return self

    @classmethod
    def from_estimator(cls, estimator, *, ax=None, log_scale=False, mark_best=True,
                       line_kw=None, validation_line_kw=None):
        """Plot the training curves of a fitted estimator.

        Works for every estimator that records ``loss_curve_``
        (:class:`~skneuro.MLPClassifier`, :class:`~skneuro.MLPRegressor`,
        :class:`~skneuro.CNNClassifier`, :class:`~skneuro.CNNRegressor`,
        :class:`~skneuro.AutoEncoder`, :class:`~skneuro.DDPM`). The best epoch
        is the one whose weights early stopping restored (the first epoch
        with the best ``validation_scores_``) when the estimator was fitted
        with ``early_stopping=True``, else the epoch of the lowest
        validation loss; without a validation set, no epoch is marked.

        Parameters
        ----------
        estimator : fitted estimator with ``loss_curve_``
        ax : matplotlib Axes, default=None
            Axes to plot on; None makes a new figure and axes.
        log_scale : bool, default=False
            Show the loss on a logarithmic axis.
        mark_best : bool, default=True
            Draw a vertical line at the best epoch.
        line_kw, validation_line_kw : dict, default=None
            Keyword arguments for matplotlib's ``plot`` of the two curves.

        Returns
        -------
        display : TrainingCurveDisplay
            Object that stores the computed values.

        Raises
        ------
        NotFittedError
            If the estimator is not fitted.
        TypeError
            If the estimator records no ``loss_curve_``.

        Examples
        --------
        >>> import numpy as np
        >>> import matplotlib.pyplot as plt
        >>> from skneuro import MLPRegressor
        >>> from skneuro.inspection import TrainingCurveDisplay
        >>> X = np.random.default_rng(0).normal(size=(200, 3))
        >>> y = X @ [1.0, -2.0, 0.5]
        >>> reg = MLPRegressor((16,), max_iter=2000, random_state=0).fit(X, y)
        >>> display = TrainingCurveDisplay.from_estimator(reg, log_scale=True)
        >>> display.line_.get_ydata().tolist() == reg.loss_curve_
        True
        >>> plt.show()
        """
        check_matplotlib_support(f"{cls.__name__}.from_estimator")
        check_is_fitted(estimator)
        if getattr(estimator, "loss_curve_", None) is None:
            raise TypeError(f"{type(estimator).__name__} records no loss_curve_; "
                            "TrainingCurveDisplay plots the loss per epoch of skneuro's "
                            "network estimators.")
        loss = list(estimator.loss_curve_)
        val = getattr(estimator, "validation_loss_curve_", None)
        best_epoch, best_label = _best_epoch(estimator, len(loss))
        display = cls(loss, validation_loss_curve=None if val is None else list(val),
                      best_epoch=best_epoch, best_label=best_label,
                      estimator_name=type(estimator).__name__)
        return display.plot(ax=ax, log_scale=log_scale, mark_best=mark_best,
                            line_kw=line_kw, validation_line_kw=validation_line_kw)


def _best_epoch(estimator, n_epochs):
    """The epoch to mark (from 1) and what it is, or ``(None, None)``.

    The trainer keeps the weights of an epoch only when its validation score
    is strictly better than every earlier one, so the restored epoch is the
    first maximum of ``validation_scores_``. The validation curves cover the
    last epochs of ``loss_curve_``.
    """
    scores = getattr(estimator, "validation_scores_", None)
    if getattr(estimator, "early_stopping", False) and scores:
        offset = n_epochs - len(scores)
        return offset + int(np.argmax(scores)) + 1, "restored by early stopping"
    val = getattr(estimator, "validation_loss_curve_", None)
    if val:
        offset = n_epochs - len(val)
        return offset + int(np.nanargmin(val)) + 1, "lowest validation loss"
    return None, None
