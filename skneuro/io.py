"""Saving and loading fitted models safely, with skops.

Pickle runs whatever code a file names, so a pickle is only as safe as its
source. skops's format (``skops.io``) stores the same state without code and
loads only the types it is told to trust. A skneuro model holds a few dozen
of skneuro's own types (its network, layers, loss, optimizer, trainer);
:func:`trusted_types` lists them, so that loading needs no list from the
user, and :func:`load` trusts exactly those (and skops's defaults: numpy,
scipy, scikit-learn). Anything else in a file, such as a user's own callback
class, is refused by name.

Every saved model carries the skneuro version that saved it and the format of
its fitted state (:mod:`skneuro._saved_state`); a file of another format is
refused with :class:`IncompatibleStateError`, with pickle as with skops.

Examples
--------
>>> import os, tempfile
>>> from sklearn.datasets import load_iris
>>> from skneuro import MLPClassifier
>>> from skneuro.io import dump, load
>>> X, y = load_iris(return_X_y=True)
>>> clf = MLPClassifier((8,), learning_rate_init=0.01, max_iter=1000, random_state=0).fit(X, y)
>>> path = os.path.join(tempfile.mkdtemp(), "model.skops")
>>> dump(clf, path)
>>> bool((load(path).predict_proba(X) == clf.predict_proba(X)).all())
True
"""

import importlib
import inspect
import pkgutil
import tokenize

from skneuro._saved_state import STATE_FORMAT, IncompatibleStateError

__all__ = ["IncompatibleStateError", "STATE_FORMAT", "dump", "load", "trusted_types"]

# The modules whose classes a fitted model may hold: the estimators and the
# engine. Kernels are functions and are never stored.
_ESTIMATOR_MODULES = ("skneuro.perceptron", "skneuro.mlp", "skneuro.cnn",
                      "skneuro.autoencoder", "skneuro.ddpm")


def trusted_types():
    """The names of the skneuro types a saved model may hold.

    For ``skops.io.load(file, trusted=trusted_types())``; :func:`load` passes
    them itself.

    Returns
    -------
    names : list of str
        ``"module.Class"`` for every class of skneuro's estimators and engine
        (exceptions aside), sorted.
    """
    import skneuro.nn

    modules = list(_ESTIMATOR_MODULES) + [
        info.name for info in pkgutil.iter_modules(skneuro.nn.__path__, "skneuro.nn.")]
    names = set()
    for name in modules:
        module = importlib.import_module(name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ == name and not issubclass(cls, BaseException):
                names.add(f"{cls.__module__}.{cls.__qualname__}")
    return sorted(names)


def _skops():
    try:
        import skops.io
    except ImportError:
        raise ImportError("Saving with skops needs the skops package: pip install "
                          "'skneuro[io]' (or pip install skops).") from None
    return skops.io


def dump(model, file):
    """Save a fitted (or unfitted) estimator to ``file`` in skops's format.

    Parameters
    ----------
    model : estimator
    file : str, path or binary file object
    """
    _skops().dump(model, file)


def load(file):
    """Load an estimator saved by :func:`dump` (or ``skops.io.dump``).

    Only skneuro's own types (:func:`trusted_types`) and skops's defaults are
    trusted: a file naming any other type is refused before anything of it is
    built.

    Parameters
    ----------
    file : str, path or binary file object

    Returns
    -------
    model : estimator

    Raises
    ------
    skops.io.exceptions.UntrustedTypesFoundException
        If the file holds types that are not skneuro's (a user's callback
        class, say): load it with ``skops.io.load`` and a list of the types
        you trust.
    IncompatibleStateError
        If the file was saved by a skneuro whose fitted state this one cannot
        read.
    ValueError
        If an array in the file is damaged or of a type a model cannot hold.
    """
    try:
        return _skops().load(file, trusted=trusted_types())
    except (SyntaxError, tokenize.TokenError) as exc:
        # numpy reads an array's header as a Python literal: a damaged one
        # fails to tokenize or parse (with one byte in three hundred of a
        # shortened header, found by a forged file in the tests) instead of
        # raising numpy's own ValueError.
        raise ValueError(f"This file's arrays cannot be read: a header is damaged "
                         f"({exc}).") from exc
