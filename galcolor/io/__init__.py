"""Loading galaxy images: FITS, JPEG/PNG/TIFF and arrays into a :class:`Cutout`.

Examples
--------
>>> import galcolor
>>> from galcolor.io import example_hdulist
>>> galcolor.load(example_hdulist()).meta["band_names"]
['g', 'r', 'i']
"""

from .bands import band_from_filename, band_from_header, band_wavelength, normalize_band
from .cutout import Cutout
from .example import SDSS_PIXEL_SCALE_ARCSEC, example_hdulist, write_example_fits
from .load import SUPPORTED_SUFFIXES, SourceLike, load
from .stretch import (
    DEFAULT_SOFTENING,
    DEFAULT_WHITE_LIGHTNESS,
    AsinhStretch,
    IdentityStretch,
    sky_statistics,
)

__all__ = [
    "load",
    "Cutout",
    "SourceLike",
    "SUPPORTED_SUFFIXES",
    "AsinhStretch",
    "IdentityStretch",
    "sky_statistics",
    "DEFAULT_SOFTENING",
    "DEFAULT_WHITE_LIGHTNESS",
    "band_from_filename",
    "band_from_header",
    "band_wavelength",
    "normalize_band",
    "example_hdulist",
    "write_example_fits",
    "SDSS_PIXEL_SCALE_ARCSEC",
]
