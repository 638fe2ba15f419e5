"""Sphinx configuration of the skneuro documentation.

Build the whole site from the repository root (``pip install -e ".[doc]"``
first)::

    python -m sphinx -b html doc doc/_build/html -W --keep-going

The gallery executes every script in examples/. With ``SKNEURO_DOCS_QUICK=1``
in the environment the examples train for fewer epochs (CI builds the site
that way; each example still runs from top to bottom).

The build needs no network access and the pages load nothing from the network:
no intersphinx, MathJax served from the site itself (sphinx-mathjax-offline).
"""

import os
import sys

# Document the checkout this file belongs to, also when skneuro is not installed.
sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..")))

import skneuro  # noqa: E402

# Local extensions (doc/_ext): the README's measured sections on the site.
sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "_ext")))

project = "skneuro"
author = "skneuro developers"
copyright = "skneuro developers, BSD-3-Clause"
release = skneuro.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    # Copies MathJax 3 into _static and points mathjax_path at it, so that the
    # formulas render offline (CI has no network; neither has a reader's laptop
    # on a plane).
    "sphinx-mathjax-offline",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "readme_sections",
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

# The gallery: every examples/plot_*.py is executed, its figures scraped and its
# printed output kept. A failing example fails the build.
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "abort_on_example_error": True,
    "image_scrapers": ("matplotlib",),
    "matplotlib_animations": False,
    "remove_config_comments": True,
    # Each example's page links to the API pages of the skneuro names it uses.
    "doc_module": ("skneuro",),
    "backreferences_dir": "generated/backreferences",
    "reference_url": {"skneuro": None},
    "show_memory": False,
    "min_reported_time": 1,
    # Offline: no Binder/JupyterLite buttons, no links to remote docs.
    "download_all_examples": False,
    # The computation-times pages load jQuery and DataTables from CDNs.
    "write_computation_times": False,
}


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

html_theme = "pydata_sphinx_theme"
html_title = f"skneuro {release}"
html_static_path = []
html_theme_options = {
    "navbar_align": "left",
    "show_toc_level": 2,
    "navigation_with_keys": False,
    "icon_links": [],
    # The theme's default footer asks for nothing remote; the version switcher
    # and analytics (which would) stay off.
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version", "theme-version"],
}
html_sidebars = {"index": []}
