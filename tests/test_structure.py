"""The package's data flow runs one way: no module imports one above it, and no private name crosses modules."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "galcolor"

#: The stages of galcolor from the ground up (DESIGN.md: io -> color -> models ->
#: colorizer -> regions -> catalog -> cli/pipeline). A module may import its own
#: stage or any below it, never one above. The catalog schema and writers sit
#: low because every stage that makes a table conforms it to the schema; the
#: stage that *writes* run catalogs is the pipeline's.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("_version", "_lazy", "_atomic", "_json", "_memory", "_filters", "exceptions"),
    ("geometry", "devices", "dihedral", "color", "catalog", "uncertainty", "styles", "novelty"),
    ("io",),
    ("colorization", "_pairs", "metrics", "baselines"),
    ("models",),
    ("colorizer", "datasets"),
    ("regions",),
    ("training", "process", "style_fitting"),
    ("evaluation", "pipeline", "demo", "_fuzz"),
    ("cli", "__main__", "__init__"),
)


def _layer(module: str) -> int:
    top = module.split(".")[1] if "." in module else "__init__"
    for level, names in enumerate(LAYERS):
        if top in names:
            return level
    raise AssertionError(f"{module} is in no layer of LAYERS: add it where it belongs")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__" and len(parts) > 1:
        parts = parts[:-1]
    return ".".join(parts)


def _imports(path: Path) -> list[tuple[str, list[str], int]]:
    """(imported galcolor module, names taken from it, line) for every import, at any depth."""
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if not target.startswith("galcolor"):
                continue
            names = [alias.name for alias in node.names]
            # "from . import models" takes the submodule galcolor.models
            submodules = [f"{target}.{name}" for name in names
                          if (PACKAGE.parent / f"{target}.{name}".replace(".", "/")).with_suffix(".py").exists()
                          or (PACKAGE.parent / f"{target}.{name}".replace(".", "/")).is_dir()]
            if submodules:
                found += [(sub, [], node.lineno) for sub in submodules]
            else:
                found.append((target, names, node.lineno))
        elif isinstance(node, ast.Import):
            found += [(alias.name, [], node.lineno) for alias in node.names if alias.name.startswith("galcolor")]
    return found


SOURCES = sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", SOURCES, ids=lambda path: str(path.relative_to(PACKAGE)))
def test_no_module_imports_a_stage_above_its_own(path: Path) -> None:
    module = _module_name(path)
    upward = [f"line {line}: {target}" for target, _, line in _imports(path)
              if target not in ("galcolor", module) and _layer(target) > _layer(module)]
    assert not upward, f"{module} (stage {_layer(module)}) imports from above: {upward}"


@pytest.mark.parametrize("path", SOURCES, ids=lambda path: str(path.relative_to(PACKAGE)))
def test_no_private_name_is_imported_from_another_module(path: Path) -> None:
    private = [f"line {line}: {name} from {target}" for target, names, line in _imports(path)
               for name in names if name.startswith("_") and name != "__version__"]
    assert not private, f"{_module_name(path)} imports private names: {private}"


def test_the_layer_check_sees_an_upward_import() -> None:
    # regions importing the colorizer (the old harness did) must be caught
    assert _layer("galcolor.colorizer") < _layer("galcolor.regions.detect")
    assert _layer("galcolor.evaluation.regions") > _layer("galcolor.colorizer")
    with pytest.raises(AssertionError, match="no layer"):
        _layer("galcolor.nowhere")
