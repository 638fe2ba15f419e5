"""Warnings that point at the user's line, not at skneuro's or scikit-learn's internals."""

import os
import sys
import warnings

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


def _internal(filename):
    filename = os.path.abspath(filename)
    if filename.startswith(_PACKAGE_DIR):
        return True
    return f"{os.sep}sklearn{os.sep}" in filename or f"{os.sep}joblib{os.sep}" in filename


def warn(message, category=UserWarning):
    """``warnings.warn`` with the stack level of the first frame outside the libraries."""
    level = 2  # 1 would be this function, 2 its caller
    frame = sys._getframe(1)
    while frame is not None and _internal(frame.f_code.co_filename):
        frame = frame.f_back
        level += 1
    warnings.warn(message, category, stacklevel=level)
