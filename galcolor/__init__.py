"""galcolor: colorize grayscale galaxy images and turn the color into science.

Examples
--------
>>> import galcolor
>>> from galcolor.io import example_hdulist
>>> cutout = galcolor.load(example_hdulist())
>>> cutout.lightness.shape
(128, 128)
"""

from ._version import __version__
from .exceptions import FileFormatError, GalcolorError, GalcolorWarning, InputError
from .io import Cutout, load
from .colorization import Colorization
from .colorizer import Colorizer, colorize
from .regions import NoRegionsWarning, RegionParameters, find_star_forming_regions
from . import catalog

__all__ = [
    "__version__",
    "load",
    "Cutout",
    "colorize",
    "Colorizer",
    "Colorization",
    "find_star_forming_regions",
    "RegionParameters",
    "NoRegionsWarning",
    "catalog",
    "GalcolorError",
    "InputError",
    "FileFormatError",
    "GalcolorWarning",
]
