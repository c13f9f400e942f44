"""Public names of a package imported on first use (PEP 562), so that ``import galcolor`` stays light.

``galcolor --help`` and ``import galcolor`` would otherwise pay for torch,
astropy, photutils and scikit-image before doing anything (4-5 s). A
package lists where each of its names lives; the module is imported the
first time the name is looked up, and the value kept in the package.

Examples
--------
>>> import galcolor
>>> "load" in dir(galcolor)
True
>>> galcolor.load.__module__
'galcolor.io.load'
"""

from __future__ import annotations

import importlib
import sys
from typing import Any, Callable, Mapping

__all__ = ["lazy_exports"]


def lazy_exports(package: str, exports: Mapping[str, str]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package`` whose names ``exports`` maps to their modules.

    Parameters
    ----------
    package : str
        The package's ``__name__``.
    exports : mapping of str to str
        Public name to the module (relative to ``package``, e.g. ``".io"``)
        it is imported from; a name equal to that module's own last part
        (``"catalog": ".catalog"``) is the module itself.

    Returns
    -------
    tuple of callable
        The package's ``__getattr__`` and ``__dir__``.
    """

    def __getattr__(name: str) -> Any:
        origin = exports.get(name)
        if origin is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module = importlib.import_module(origin, package)
        value = module if origin.rpartition(".")[2] == name else getattr(module, name)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(exports))

    return __getattr__, __dir__
