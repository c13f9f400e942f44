"""Sphinx configuration for the galcolor documentation.

Build with ``sphinx-build -W --keep-going -b html docs docs/_build/html`` from
the repository root. The build needs no network access: intersphinx is loaded
but its mapping is empty.
"""

import os
from pathlib import Path

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
    "sphinx_gallery.gen_gallery",
]

exclude_patterns = ["_build", "Thumbs.db", ".DS_Store", "examples", "_generated"]
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

# sphinx-gallery executes docs/examples/plot_*.py on every build and writes
# the tutorial pages, with their figures and printed output, to
# docs/tutorials/ (git-ignored). A failing example fails the build.
sphinx_gallery_conf = {
    "examples_dirs": "examples",
    "gallery_dirs": "tutorials",
    "filename_pattern": r"/plot_",
    "within_subsection_order": "FileNameSortKey",
    "abort_on_example_error": True,
    "only_warn_on_example_error": False,
    "remove_config_comments": True,
    "image_scrapers": ("matplotlib",),
    "reset_modules": ("matplotlib", "seaborn"),
    "download_all_examples": False,
    "write_computation_times": False,
    "capture_repr": ("_repr_html_", "__repr__"),
}

# CI has no network, so intersphinx must not fetch inventories.
intersphinx_mapping = {}

# -- HTML output -------------------------------------------------------------

html_theme = "pydata_sphinx_theme"
html_title = f"galcolor {release}"
html_static_path = []
html_theme_options = {
    "navigation_with_keys": False,
}


# -- Pages generated from the code -------------------------------------------
# The catalog schema and the command-line help are written from the code on
# every build (into docs/_generated/, git-ignored), so they cannot drift.


def _table(header, rows):
    lines = [".. list-table::", "   :header-rows: 1", ""]
    for row in [header, *rows]:
        lines.append("   * - " + str(row[0]))
        lines += [f"     - {cell}" for cell in row[1:]]
    return "\n".join(lines) + "\n"


def _write_generated():
    import textwrap

    from galcolor.catalog import GALAXY_COLUMNS, REGION_COLUMNS, RegionFlag
    from galcolor.cli import build_parser
    from galcolor.pipeline import FAILURE_COLUMNS

    folder = Path(__file__).parent / "_generated"
    folder.mkdir(exist_ok=True)

    def schema(columns):
        return _table(("name", "type", "unit", "description"),
                      [(f"``{column.name}``", column.dtype.name if column.dtype.kind != "U" else "str",
                        column.unit.to_string() if column.unit is not None else "", column.description)
                       for column in columns])

    regions = schema(REGION_COLUMNS)
    # the meanings are the numpydoc Attributes section of RegionFlag's docstring
    meanings, current = {}, None
    for line in (RegionFlag.__doc__ or "").splitlines():
        stripped = line.strip()
        if " : " in stripped and stripped.split(" : ")[0] in RegionFlag.__members__:
            current = stripped.split(" : ")[0]
        elif current and stripped and not stripped.startswith("--") and stripped != "Examples":
            meanings[current] = (meanings.get(current, "") + " " + stripped).strip()
        else:
            current = None
    flags = _table(("bit", "name", "meaning"),
                   [(int(flag), f"``{flag.name}``", meanings.get(flag.name, "")) for flag in RegionFlag])
    galaxies = schema(GALAXY_COLUMNS)
    failures = ", ".join(f"``{name}``" for name in FAILURE_COLUMNS)
    (folder / "catalog_schema.rst").write_text(
        "Region catalog columns\n----------------------\n\n" + regions
        + "\nFlag bits (``galcolor.catalog.RegionFlag``)\n-------------------------------------------\n\n"
        + flags + "\nPer-galaxy summary of a pipeline run (``galaxies.parquet``)\n"
        + "-----------------------------------------------------------\n\n" + galaxies
        + f"\nFailures of a pipeline run (``failures.csv``): {failures}.\n")
    os.environ["COLUMNS"] = "100"  # argparse wraps help to the terminal width
    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices  # argparse keeps them here
    text = ["Every command: ``galcolor COMMAND --help``.", ""]
    for name, command in commands.items():
        text += [f"``galcolor {name}``", "~" * (len(name) + 13), "", ".. code-block:: text", ""]
        text += [textwrap.indent(command.format_help(), "   "), ""]
    (folder / "cli.rst").write_text("\n".join(text))


_write_generated()
