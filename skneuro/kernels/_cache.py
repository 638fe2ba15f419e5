"""Where compiled kernels live, and a pre-filled read-only cache made usable.

Numba looks for a kernel's cache, in order: in ``NUMBA_CACHE_DIR`` when it is
set; next to the kernel's source (``skneuro/kernels/cpu/__pycache__``) when
that folder is writable; in the user's cache (``$XDG_CACHE_HOME/numba`` or
``~/.cache/numba``) when that is writable; else nowhere, and skneuro warns
once that its kernels compile in every new process.

A read-only install (a system-wide site-packages, a container image, a
read-only mount) can ship its kernels compiled: fill the ``__pycache__``
folders when the install is built, by running any fit once as its owner.
Numba alone would skip such a folder because it cannot write there, compile
everything again (seconds per process) and write the result under the
user's home. :class:`PrefilledReadOnlyLocator`, placed before Numba's own
locators (after ``NUMBA_CACHE_DIR``, which always wins), reads it instead. A
signature missing from it is compiled in memory for the process and not
saved (the folder is read-only); nothing is written under the user's home.
"""

import os

from numba.core import caching

_KERNELS_DIR = os.path.dirname(os.path.abspath(__file__))
_IN_TREE = getattr(caching, "InTreeCacheLocator", None) or caching._InTreeCacheLocator


class PrefilledReadOnlyLocator(_IN_TREE):
    """Numba's in-tree cache of a skneuro kernel, read where it cannot be written."""

    @classmethod
    def from_function(cls, py_func, py_file):
        if not os.path.abspath(py_file).startswith(_KERNELS_DIR + os.sep):
            return None
        self = cls(py_func, py_file)
        path = self.get_cache_path()
        if not os.path.isdir(path) or os.access(path, os.W_OK):
            return None  # nothing to read, or Numba's own in-tree locator will do
        # Index files are named "<module>.<qualname>-<line>.py<version>.nbi".
        tag = "." + py_func.__qualname__ + "-"
        if not any(tag in name and name.endswith(".nbi") for name in os.listdir(path)):
            return None
        return self

    def ensure_cache_path(self):
        """Reading only: the folder exists, and is not written."""


def install():
    """Put :class:`PrefilledReadOnlyLocator` right after ``NUMBA_CACHE_DIR``'s locator."""
    classes = caching.CacheImpl._locator_classes
    if PrefilledReadOnlyLocator not in classes:
        classes.insert(1, PrefilledReadOnlyLocator)


def keep_in_memory_where_read_only(dispatcher):
    """Let ``dispatcher`` compile a signature its read-only cache lacks.

    Saving it would fail on the read-only folder; the compiled code then
    stays in this process's memory, as without a cache.
    """
    cache = getattr(dispatcher, "_cache", None)
    impl = getattr(cache, "_impl", None)
    if not isinstance(getattr(impl, "_locator", None), PrefilledReadOnlyLocator):
        return dispatcher
    save = cache.save_overload

    def save_overload(sig, data):
        try:
            save(sig, data)
        except OSError:
            pass  # a read-only folder: keep the compiled code in memory only

    cache.save_overload = save_overload
    return dispatcher
