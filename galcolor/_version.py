"""galcolor's version, in a module of its own so that every module can record it without importing the package."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("galcolor")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
