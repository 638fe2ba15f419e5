"""The version stamp of a fitted estimator's saved state (pickle and skops alike).

Every saved estimator carries the skneuro version that saved it and the
format of its fitted state, :data:`STATE_FORMAT`: an integer raised whenever
a release changes that state so that older files cannot be read. Loading a
file of another format is refused with an error that names both versions and
the remedy, instead of failing later on a missing attribute or, worse,
predicting wrongly. States saved before the stamp existed are format 1.
"""

#: The format of the fitted state this skneuro reads and writes.
STATE_FORMAT = 1

_VERSION_KEY = "_skneuro_version"
_FORMAT_KEY = "_skneuro_state_format"


class IncompatibleStateError(ValueError):
    """A saved model whose fitted state this version of skneuro cannot read."""


class VersionedStateMixin:
    """Stamps ``__getstate__`` with the version, checks it in ``__setstate__``.

    Placed before scikit-learn's ``BaseEstimator`` in the bases (which stamps
    and checks only estimators of its own ``sklearn.*`` modules).
    """

    def __getstate__(self):
        from skneuro import __version__

        # A copy: object.__getstate__ may hand back the instance's own __dict__.
        state = dict(super().__getstate__())
        state[_VERSION_KEY] = __version__
        state[_FORMAT_KEY] = STATE_FORMAT
        return state

    def __setstate__(self, state):
        state = dict(state)
        saved_by = state.pop(_VERSION_KEY, "an earlier release")
        saved_format = state.pop(_FORMAT_KEY, 1)
        if saved_format != STATE_FORMAT:
            from skneuro import __version__

            raise IncompatibleStateError(
                f"This {type(self).__name__} was saved by skneuro {saved_by} (state format "
                f"{saved_format}); skneuro {__version__} reads state format {STATE_FORMAT}. "
                f"Load it with skneuro {saved_by} and refit it, or refit it here.")
        super().__setstate__(state)
        self._check_loaded_arrays()

    def _check_loaded_arrays(self):
        """Refuse a loaded state whose arrays are not what fitting makes (a damaged file)."""

    @staticmethod
    def _expect_floating(name, array, dtype):
        """``array`` must be an ndarray of ``dtype``; else the file is damaged."""
        import numpy as np

        if not isinstance(array, np.ndarray) or array.dtype != np.dtype(dtype):
            found = getattr(array, "dtype", type(array).__name__)
            raise IncompatibleStateError(
                f"The saved {name} is {found} where skneuro writes {np.dtype(dtype)}: the "
                "file is damaged or was not written by skneuro. Refit the model.")
