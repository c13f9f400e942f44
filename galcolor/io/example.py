"""A small embedded example: a synthetic three-band galaxy FITS cube.

It needs no data files and no network, so the README's first command and the
docs can always run. The galaxy is built from astropy Sersic profiles: a red
de Vaucouleurs bulge, a bluer exponential disk and two blue star-forming
knots, in SDSS-like g, r, i fluxes (nanomaggies) with sky noise, and a TAN
WCS at SDSS's 0.396 arcsec/pixel.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from astropy.io import fits
from astropy.modeling.models import Gaussian2D, Sersic2D
from astropy.wcs import WCS

from .._atomic import atomic_write
from .bands import SDSS_PIXEL_SCALE_ARCSEC

__all__ = ["example_hdulist", "write_example_fits", "SDSS_PIXEL_SCALE_ARCSEC"]


# Relative brightness of each component in g, r, i: an old bulge is red
# (g-r ~ 0.8), a star-forming disk bluer (g-r ~ 0.5), HII knots bluest.
_BULGE_COLOR = {"g": 0.45, "r": 1.0, "i": 1.35}
_DISK_COLOR = {"g": 0.75, "r": 1.0, "i": 1.15}
_KNOT_COLOR = {"g": 1.6, "r": 1.0, "i": 0.75}


def example_hdulist(size: int = 128, seed: int = 0) -> fits.HDUList:
    """A synthetic (3, size, size) g, r, i galaxy cube with a TAN WCS.

    Parameters
    ----------
    size : int, optional
        Width and height in pixels.
    seed : int, optional
        Seed of the sky noise; the same seed gives the same file.

    Returns
    -------
    astropy.io.fits.HDUList
        One primary HDU, float32 nanomaggies, with ``BANDS='gri'`` and
        ``BAND0..2``.

    Examples
    --------
    >>> import galcolor
    >>> from galcolor.io import example_hdulist
    >>> cutout = galcolor.load(example_hdulist())
    >>> cutout.band, cutout.shape, cutout.truth_rgb is not None
    ('r', (128, 128), True)
    """
    y, x = np.mgrid[0:size, 0:size].astype(np.float64)
    centre = (size - 1) / 2.0
    bulge = Sersic2D(amplitude=2.0, r_eff=size * 0.04, n=4, x_0=centre, y_0=centre,
                     ellip=0.2, theta=0.6)(x, y)
    disk = Sersic2D(amplitude=0.25, r_eff=size * 0.14, n=1, x_0=centre, y_0=centre,
                    ellip=0.45, theta=0.6)(x, y)
    knots = sum(
        Gaussian2D(amplitude=amp, x_mean=centre + dx * size, y_mean=centre + dy * size,
                   x_stddev=1.3, y_stddev=1.3)(x, y)
        for amp, dx, dy in ((0.6, 0.12, 0.07), (0.4, -0.10, -0.09))
    )
    rng = np.random.default_rng(seed)
    bands = "gri"
    cube = np.stack([
        bulge * _BULGE_COLOR[b] + disk * _DISK_COLOR[b] + knots * _KNOT_COLOR[b]
        + rng.normal(0.0, 0.02, (size, size))
        for b in bands
    ]).astype(np.float32)

    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    wcs.wcs.crval = [150.1163, 2.2010]
    wcs.wcs.crpix = [centre + 1.0, centre + 1.0]
    scale = SDSS_PIXEL_SCALE_ARCSEC / 3600.0
    wcs.wcs.cd = [[-scale, 0.0], [0.0, scale]]
    header = wcs.to_header()
    header["BUNIT"] = ("nanomaggy", "1 nanomaggy = 3.631e-6 Jy")
    header["BANDS"] = (bands, "band of each plane")
    for index, band in enumerate(bands):
        header[f"BAND{index}"] = band
    header["ORIGIN"] = ("galcolor", "synthetic example galaxy")
    header["SEED"] = seed
    return fits.HDUList([fits.PrimaryHDU(cube, header=header)])


def write_example_fits(path: str | os.PathLike, size: int = 128, seed: int = 0) -> Path:
    """Write :func:`example_hdulist` to ``path`` (atomically) and return the path.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from galcolor.io import write_example_fits
    >>> folder = tempfile.mkdtemp()
    >>> write_example_fits(pathlib.Path(folder) / "galaxy.fits").name
    'galaxy.fits'
    """
    path = Path(path)
    with atomic_write(path) as temporary:
        example_hdulist(size=size, seed=seed).writeto(temporary)
    return path
