"""galcolor: colorize grayscale galaxy images and turn the colour into science.

Examples
--------
>>> import galcolor
>>> from galcolor.io import example_hdulist
>>> cutout = galcolor.load(example_hdulist())
>>> cutout.lightness.shape
(128, 128)
"""

from importlib.metadata import PackageNotFoundError, version as _version

from .exceptions import FileFormatError, GalcolorError, GalcolorWarning, InputError
from .io import Cutout, load

try:
    __version__ = _version("galcolor")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

__all__ = [
    "__version__",
    "load",
    "Cutout",
    "GalcolorError",
    "InputError",
    "FileFormatError",
    "GalcolorWarning",
]
