"""galcolor: colorize grayscale galaxy images and turn the color into science.

Examples
--------
>>> import galcolor
>>> from galcolor.io import example_hdulist
>>> cutout = galcolor.load(example_hdulist())
>>> cutout.lightness.shape
(128, 128)
"""

from typing import TYPE_CHECKING

from ._lazy import lazy_exports
from ._version import __version__
from .exceptions import FileFormatError, GalcolorError, GalcolorWarning, InputError

if TYPE_CHECKING:  # imported on first use (galcolor._lazy): ``import galcolor`` stays light
    from . import catalog
    from .colorization import Colorization
    from .colorizer import Colorizer, colorize
    from .io import Cutout, load
    from .regions import NoRegionsWarning, RegionParameters, find_star_forming_regions

__getattr__, __dir__ = lazy_exports(__name__, {
    "load": ".io", "Cutout": ".io", "Colorization": ".colorization", "Colorizer": ".colorizer",
    "colorize": ".colorizer", "find_star_forming_regions": ".regions", "RegionParameters": ".regions",
    "NoRegionsWarning": ".regions", "catalog": ".catalog"})

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
