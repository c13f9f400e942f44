"""Sphinx configuration for the galcolor documentation.

Build with ``sphinx-build -W --keep-going -b html docs docs/_build/html`` from
the repository root. The build needs no network access: intersphinx is loaded
but its mapping is empty.
"""

import galcolor

# -- Project information -----------------------------------------------------

project = "galcolor"
author = "galcolor contributors"
copyright = "galcolor contributors"
release = galcolor.__version__
# The short X.Y version (drop ".dev0", "+local" and similar suffixes).
version = ".".join(release.split(".")[:2])

# -- General configuration ---------------------------------------------------

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
]

exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]
templates_path = []

# autosummary writes one page per public name into api/generated/ (git-ignored;
# rebuilt on every run from the :toctree: generated directives).
autosummary_generate = True
autosummary_imported_members = False
autodoc_typehints = "none"  # types are in the numpydoc Parameters sections
autodoc_default_options = {"members": False}

# numpydoc: class pages list attributes/methods via their own docstrings, not
# auto-generated member tables (those would need stub pages for every method).
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_validation_checks = set()

# CI has no network, so intersphinx must not fetch inventories.
intersphinx_mapping = {}

# -- HTML output -------------------------------------------------------------

html_theme = "pydata_sphinx_theme"
html_title = f"galcolor {release}"
html_static_path = []
html_theme_options = {
    "navigation_with_keys": False,
}
