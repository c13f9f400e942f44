"""Shared fixtures: synthetic FITS/JPEG writers and the optional ../shared data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def requires_shared_data() -> pytest.MarkDecorator:
    """Skip marker for tests that read ../shared/data."""
    return pytest.mark.skipif(
        not SHARED_DATA.is_dir(),
        reason=f"real survey data not found at {SHARED_DATA} (the ../shared folder beside the repo)",
    )


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real survey data not found at {SHARED_DATA}")
    return SHARED_DATA


def make_wcs(shape: tuple[int, int], ra: float = 150.0, dec: float = 2.0,
             scale_arcsec: float = 0.396) -> WCS:
    """A north-up TAN WCS centred on (ra, dec)."""
    height, width = shape
    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    wcs.wcs.crval = [ra, dec]
    wcs.wcs.crpix = [(width + 1) / 2.0, (height + 1) / 2.0]
    wcs.wcs.cd = [[-scale_arcsec / 3600.0, 0.0], [0.0, scale_arcsec / 3600.0]]
    return wcs


def galaxy_image(shape=(48, 64), seed: int = 0, sky: float = 10.0, noise: float = 1.0,
                 peak: float = 500.0) -> np.ndarray:
    """A round exponential galaxy on a noisy sky (float32 flux)."""
    rng = np.random.default_rng(seed)
    height, width = shape
    y, x = np.mgrid[0:height, 0:width]
    radius = np.hypot(x - (width - 1) / 2, y - (height - 1) / 2)
    image = sky + peak * np.exp(-radius / 4.0) + rng.normal(0.0, noise, shape)
    return image.astype(np.float32)


@pytest.fixture
def fits_2d(tmp_path) -> Path:
    """A single-band r FITS image with a WCS at RA 150, Dec 2."""
    image = galaxy_image()
    header = make_wcs(image.shape).to_header()
    header["FILTER"] = "r"
    path = tmp_path / "galaxy_r.fits"
    fits.PrimaryHDU(image, header=header).writeto(path)
    return path
