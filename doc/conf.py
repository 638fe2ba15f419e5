"""Sphinx configuration of the skneuro documentation.

Build from the repository root::

    python -m sphinx -b html doc doc/_build/html -W --keep-going

The build needs no network access (no intersphinx).
"""

import os
import sys

# Document the checkout this file belongs to, also when skneuro is not installed.
sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..")))

import skneuro  # noqa: E402

project = "skneuro"
author = "skneuro developers"
copyright = "skneuro developers, BSD-3-Clause"
release = skneuro.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "numpydoc",
]

# autosummary writes one page per documented object into generated/ (ignored by git).
autosummary_generate = True
autodoc_default_options = {"members": True, "inherited-members": False}
autodoc_typehints = "none"

# numpydoc: the Attributes and Methods sections of a class docstring are the
# member list; autosummary's own member tables would repeat them.
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

templates_path = ["_templates"]


def _skip_library_members(app, what, name, obj, skip, options):
    """Leave out members that scikit-learn defines (metadata-routing setters).

    scikit-learn adds ``set_fit_request`` and friends to every estimator
    class; their docstrings refer to scikit-learn's own glossary and labels.
    """
    module = getattr(obj, "__module__", None) or ""
    if name.startswith("set_") and name.endswith("_request"):
        return True
    if module.startswith("sklearn."):
        return True
    return skip


def setup(app):
    app.connect("autodoc-skip-member", _skip_library_members)
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]
default_role = "obj"
nitpicky = False

html_theme = "alabaster"
html_title = f"skneuro {release}"
html_static_path = []
html_theme_options = {
    "description": "Neural networks as scikit-learn estimators, computed by Numba kernels.",
    "fixed_sidebar": True,
}
