"""galcolor: colorize grayscale galaxy images and turn the color into science.

Examples
--------
>>> import galcolor
>>> from galcolor.io import example_hdulist
>>> cutout = galcolor.load(example_hdulist())
>>> cutout.lightness.shape
(128, 128)
"""

from importlib.metadata import PackageNotFoundError, version as _version

# Before the submodules, which record it in their outputs.
try:
    __version__ = _version("galcolor")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

from .exceptions import FileFormatError, GalcolorError, GalcolorWarning, InputError
from .io import Cutout, load
from .colorization import Colorization
from .inference import Colorizer, colorize
from .analysis import NoRegionsWarning, find_star_forming_regions
from . import catalog

__all__ = [
    "__version__",
    "load",
    "Cutout",
    "colorize",
    "Colorizer",
    "Colorization",
    "find_star_forming_regions",
    "NoRegionsWarning",
    "catalog",
    "GalcolorError",
    "InputError",
    "FileFormatError",
    "GalcolorWarning",
]
