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
saved (the folder is read-only); nothing is written under the user's home,
and a warning (once per process) says so, since a cache filled on another
CPU or by another Numba misses every time.
"""

import os
import sys
import warnings

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
        python = f".py{sys.version_info.major}{sys.version_info.minor}"
        if not any(tag in name and python in name and name.endswith(".nbi")
                   for name in os.listdir(path)):
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
        global _miss_warning_given
        try:
            save(sig, data)
        except OSError:
            # A read-only folder: the compiled code stays in memory only.
            if not _miss_warning_given:
                _miss_warning_given = True
                warnings.warn(
                    f"skneuro's pre-filled kernel cache in {impl._locator.get_cache_path()} "
                    "is read-only and lacks code for this machine (filled on another CPU, "
                    "or by another Numba): kernels compile in every new process. Fill it "
                    "on this machine, or set NUMBA_CACHE_DIR to a writable directory.",
                    RuntimeWarning, stacklevel=2)

    cache.save_overload = save_overload
    return dispatcher


_miss_warning_given = False
