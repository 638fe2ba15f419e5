"""Occlusion analysis: which parts of an input a classifier's decision rests on."""

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted


def occlusion_map(estimator, x, window=3, stride=1, fill=0.0, target=None,
                  random_state=None):
    """Change in predicted probability when each part of ``x`` is hidden.

    A patch (constant or noise) slides over the input; at each position the
    classifier predicts the occluded input, and every pixel (or sample of a
    1-D signal) covered by the patch records the drop in the probability of
    the target class. Pixels covered several times get the mean drop. Large
    values mark the regions the decision depends on, as in Zeiler & Fergus
    (2014) and the course's occlusion figure.

    Parameters
    ----------
    estimator : fitted classifier with ``predict_proba``
        A :class:`~skneuro.CNNClassifier` (its ``input_shape_`` gives the
        layout) or any classifier taking flat rows.
    x : array-like
        One sample: flat, or shaped ``(C, L)`` / ``(C, H, W)``; ``(H, W)``
        and ``(L,)`` are read as one channel.
    window : int or tuple of int, default=3
        Patch size along each spatial axis.
    stride : int or tuple of int, default=1
        Patch step along each spatial axis.
    fill : float or {"mean", "noise"}, default=0.0
        What the patch holds: a constant, the sample's mean, or Gaussian noise
        with the sample's mean and standard deviation.
    target : label, default=None
        Class whose probability is followed; None is the class predicted for
        the intact input.
    random_state : int, RandomState instance or None, default=None
        Seeds ``fill="noise"``.

    Returns
    -------
    heatmap : ndarray of shape (H, W) or (L,)
        The mean drop of the target's probability, over the spatial shape of
        the input (channels are occluded together). Patches always reach the
        far edges; with a stride larger than the window, the pixels between
        patches are NaN.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skneuro import CNNClassifier
    >>> from skneuro.inspection import occlusion_map
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = CNNClassifier("C-8.3, P-2, D-32", input_shape=(1, 8, 8), early_stopping=True,
    ...                     random_state=0).fit(X / 16, y)
    >>> occlusion_map(clf, X[0] / 16, window=2).shape
    (8, 8)
    """
    check_is_fitted(estimator)
    x = np.asarray(x, dtype=np.float64)
    shape = getattr(estimator, "input_shape_", None)
    if shape is None:  # a classifier of flat rows: x's own layout, one channel
        shape = (1, x.size) if x.ndim == 1 else (1,) + x.shape
    if x.size != int(np.prod(shape)):
        raise ValueError(f"x has {x.size} values; the estimator takes samples of shape "
                         f"{tuple(shape)}.")
    sample = x.reshape((shape[0], 1, shape[1]) if len(shape) == 2 else shape)
    c, h, w = sample.shape
    wh, ww = _pair(window, len(shape) - 1)
    sh, sw = _pair(stride, len(shape) - 1)
    wh, sh = min(wh, h), max(sh, 1)
    ww = min(ww, w)

    rng = check_random_state(random_state)
    if isinstance(fill, str):
        if fill not in ("mean", "noise"):
            raise ValueError(f"fill must be a number, 'mean' or 'noise', got {fill!r}.")
    positions = [(i, j) for i in _starts(h, wh, sh) for j in _starts(w, ww, sw)]
    batch = np.repeat(sample[None], len(positions) + 1, axis=0)
    for k, (i, j) in enumerate(positions, start=1):
        if fill == "mean":
            patch = sample.mean()
        elif fill == "noise":
            patch = rng.normal(sample.mean(), sample.std() + 1e-12, size=(c, wh, ww))
        else:
            patch = float(fill)
        batch[k, :, i:i + wh, j:j + ww] = patch
    flat_input = getattr(estimator, "input_shape_", None) is None
    rows = batch.reshape(len(batch), -1) if flat_input else batch.reshape(
        (len(batch),) + tuple(shape))
    proba = estimator.predict_proba(rows)
    classes = list(estimator.classes_)
    column = int(np.argmax(proba[0])) if target is None else classes.index(target)
    drops = proba[0, column] - proba[1:, column]

    total = np.zeros((h, w))
    count = np.zeros((h, w))
    for (i, j), drop in zip(positions, drops):
        total[i:i + wh, j:j + ww] += drop
        count[i:i + wh, j:j + ww] += 1
    # Pixels no patch covered (a stride larger than the window) are NaN, not 0.
    heatmap = np.divide(total, count, out=np.full_like(total, np.nan), where=count > 0)
    return heatmap[0] if len(shape) == 2 else heatmap


def _starts(size, window, stride):
    """Patch positions along one axis; the last one reaches the far edge."""
    starts = list(range(0, size - window + 1, stride))
    if starts[-1] != size - window:
        starts.append(size - window)
    return starts


def _pair(value, ndim):
    values = (value,) * ndim if np.isscalar(value) else tuple(value)
    if len(values) != ndim or any(int(v) < 1 for v in values):
        raise ValueError(f"window and stride take positive ints, {ndim} of them; "
                         f"got {value!r}.")
    values = tuple(int(v) for v in values)
    return values if ndim == 2 else (1,) + values
