"""The PSF of an image: from its header, or measured on the stars of the frame.

A FITS image with a WCS gives its pixel scale, and a seeing keyword its PSF
(:func:`psf_fwhm_pixels`). A JPEG carries neither, and Galaxy Zoo frames
are scaled to each galaxy's size, so their PSF in pixels differs from frame
to frame (median 7.8 px, 10-90 % 4.4-12.8 px on train frames: ``benchmarks/bench_injection.py``):
:func:`lightness_psf_fwhm` and :func:`frame_psf_fwhm` measure it from the
stars in the frame.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
from astropy.stats import sigma_clipped_stats
from astropy.wcs import WCS
from photutils.psf import fit_fwhm
from photutils.segmentation import SourceCatalog, detect_sources
from photutils.utils import NoDetectionsWarning

from ..color import lightness_to_gray
from ..io.bands import SDSS_PIXEL_SCALE_ARCSEC
from ..io.cutout import pixel_scale_arcsec
from ..io.fitsfile import sky_axes
from ..io.lupton import COMPOSITE_Q, COMPOSITE_STRETCH, SATURATED, linear_from_display, linear_from_grey

__all__ = ["psf_fwhm_pixels", "frame_psf_fwhm", "lightness_psf_fwhm", "SEEING_KEYWORDS", "DEFAULT_SEEING_ARCSEC"]

#: PSF FWHM assumed when the header names none: SDSS's median r-band seeing
#: (the default of :attr:`RegionParameters.default_seeing <galcolor.regions.RegionParameters>`).
DEFAULT_SEEING_ARCSEC = 1.4
#: Header keywords that carry the PSF FWHM in arcsec, in order of preference.
SEEING_KEYWORDS = ("PSF_FWHM", "PSFFWHM", "SEEING", "FWHM")
#: At most this many stars, the brightest, are fitted in one frame.
MAX_STARS = 25
#: A source whose grey display value reaches this may be clipped in one channel of a color composite.
MAX_GREY = 0.8


def psf_fwhm_pixels(header: Any = None, wcs: WCS | None = None, *,
                    default_seeing: float = DEFAULT_SEEING_ARCSEC) -> float:
    """PSF FWHM in pixels from a FITS header, or SDSS-like seeing by default.

    The first of ``PSF_FWHM``, ``PSFFWHM``, ``SEEING`` and ``FWHM`` (arcsec)
    in the header is converted with the WCS pixel scale; without one,
    1.4 arcsec is assumed; without a WCS, 3.5 pixels (1.4" at 0.396"/px).

    Examples
    --------
    >>> from astropy.io import fits
    >>> from galcolor.regions import psf_fwhm_pixels
    >>> round(psf_fwhm_pixels(fits.Header({"SEEING": 1.2, "CDELT1": -0.0001, "CDELT2": 0.0001,
    ...                                    "CTYPE1": "RA---TAN", "CTYPE2": "DEC--TAN"})), 2)
    3.33
    """
    seeing = default_seeing
    for key in SEEING_KEYWORDS:
        if header is not None and key in header:
            try:
                value = float(header[key])
            except (TypeError, ValueError):
                continue
            if math.isfinite(value) and value > 0:
                seeing = value
                break
    if wcs is None and header is not None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                wcs = WCS(header).celestial
            except Exception:  # noqa: BLE001 - any header without a usable WCS
                wcs = None
    if wcs is None or not wcs.has_celestial:
        return seeing / SDSS_PIXEL_SCALE_ARCSEC
    scale_arcsec = pixel_scale_arcsec(sky_axes(wcs))
    return seeing / scale_arcsec


def frame_psf_fwhm(rgb: np.ndarray, *, q: float = COMPOSITE_Q, stretch: float = COMPOSITE_STRETCH,
                   min_peak_sigma: float = 30.0, max_elongation: float = 1.15) -> tuple[float | None, int]:
    """PSF FWHM of a composite, in pixels, from the point sources in its frame; and how many were used.

    Galaxy Zoo frames are scaled to each galaxy's size, so their PSF in
    pixels differs from frame to frame and no header says it. Stars are
    measured on the linear intensity (:func:`linear_from_display`; the asinh
    stretch widens a bright core): sources 5 sky sigmas above the
    sigma-clipped sky with >= 9 pixels, not the central galaxy, round
    (elongation below ``max_elongation``), bright (peak above
    ``min_peak_sigma`` sky sigmas) and with no channel clipped; the result is
    the median FWHM of circular Gaussians fitted to them (up to the
    :data:`MAX_STARS` brightest). Small round galaxies pass these cuts too
    and make it too wide. None when no source passes.

    Examples
    --------
    >>> import numpy as np
    >>> from galcolor.io.lupton import display_from_linear
    >>> from galcolor.regions import frame_psf_fwhm
    >>> rng = np.random.default_rng(0)
    >>> y, x = np.mgrid[:128, :128]
    >>> sky = 0.002 * rng.normal(size=(128, 128))
    >>> stars = sum(np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * 2.5 ** 2)) for cx, cy in ((20, 30), (100, 90)))
    >>> frame = display_from_linear(np.clip(sky + stars, 0, None)[..., None] * np.ones(3))
    >>> fwhm, n = frame_psf_fwhm(frame)
    >>> n, round(fwhm / (2.355 * 2.5), 2)  # a Gaussian's FWHM is 2.355 sigma; moments give it to ~2 %
    (2, 0.99)
    """
    rgb = np.asarray(rgb, dtype=np.float64)
    intensity = linear_from_display(rgb, q=q, stretch=stretch).mean(axis=-1)
    return _stars_fwhm(intensity, (rgb >= SATURATED).any(axis=-1), min_peak_sigma, max_elongation)


def lightness_psf_fwhm(lightness: np.ndarray, mask: np.ndarray | None = None, *, q: float = COMPOSITE_Q,
                       stretch: float = COMPOSITE_STRETCH, min_peak_sigma: float = 30.0,
                       max_elongation: float = 1.15, max_grey: float = MAX_GREY) -> tuple[float | None, int]:
    """PSF FWHM in pixels of a single-band image from its stars, and how many were used.

    The grey twin of :func:`frame_psf_fwhm`: the lightness is read as the
    grey display value of a Galaxy Zoo composite (:func:`~galcolor.io.lupton.linear_from_grey`)
    and the stars are measured on the linear intensity. For an image with
    another stretch the inversion is approximate, and so is the FWHM. The
    grey cannot show a star clipped in one channel of a composite, whose
    flattened core measures too wide (on 400 Galaxy Zoo val frames, 23 took
    a PSF more than 1.6 times the one :func:`frame_psf_fwhm` measured or
    the injection drew, up to 45 px): sources whose grey reaches
    ``max_grey`` are left out (a channel 1.25 times the mean of the three,
    as in red and blue stars, clips there; half the clipped stars of those
    frames peak above 0.85, 95 % of the unclipped below 0.78). That leaves
    19 of the 256 frames with a measurement without one (the caller's
    default) and 10 with a PSF over 1.6 times.

    Examples
    --------
    >>> import numpy as np
    >>> from galcolor.color import rgb_to_lab_numpy
    >>> from galcolor.io.lupton import display_from_linear
    >>> from galcolor.regions import lightness_psf_fwhm
    >>> rng = np.random.default_rng(0)
    >>> y, x = np.mgrid[:128, :128]
    >>> sky = 0.002 * rng.normal(size=(128, 128))
    >>> stars = sum(np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * 3.0 ** 2)) for cx, cy in ((20, 30), (100, 90)))
    >>> grey = display_from_linear(np.clip(sky + stars, 0, None)[..., None] * np.ones(3))
    >>> lightness = rgb_to_lab_numpy(grey.astype(np.float32))[..., 0]
    >>> fwhm, n = lightness_psf_fwhm(lightness)
    >>> n, round(fwhm / (2.355 * 3.0), 1)
    (2, 1.0)
    """
    lightness = np.asarray(lightness, dtype=np.float64)
    grey = lightness_to_gray(np.clip(np.nan_to_num(lightness), 0.0, 100.0))
    intensity = linear_from_grey(grey, q=q, stretch=stretch)
    clipped = grey >= min(max_grey, SATURATED)
    if mask is not None:
        intensity = np.where(mask, 0.0, intensity)
    return _stars_fwhm(intensity, clipped, min_peak_sigma, max_elongation)


def _stars_fwhm(intensity: np.ndarray, clipped: np.ndarray, min_peak_sigma: float,
                max_elongation: float) -> tuple[float | None, int]:
    """Median FWHM of the round, bright, unclipped sources other than the central one.

    Each source's width is that of a circular Gaussian fitted to it
    (:func:`photutils.psf.fit_fwhm`, its neighbours masked, in a box twice
    its moment FWHM wide) rather than its second moments: the moments of a
    segment cut at 5 sky sigmas grow with the star's brightness as the cut
    reaches further into the wings of the real PSF (on 400 Galaxy Zoo val
    frames, stars above 100 sky sigmas measured 1.10 times, stars of 30-100
    sigmas 0.93 times the median of the frame's unclipped stars; the fit:
    1.00 and 1.00), and the injected knots the widths calibrate are Gaussians.
    """
    _, sky, noise = sigma_clipped_stats(intensity, sigma=3.0)
    if not noise > 0:
        return None, 0
    data = intensity - sky
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NoDetectionsWarning)  # no star in the frame: the caller falls back
        segments = detect_sources(data, 5.0 * noise, n_pixels=9)
    if segments is None:
        return None, 0
    centre = segments.data[(data.shape[0] - 1) // 2, (data.shape[1] - 1) // 2]
    catalog = SourceCatalog(data, segments)
    clipped_labels = set(np.unique(segments.data[clipped]).tolist())
    stars = [source for source in catalog
             if source.label != centre and source.label not in clipped_labels
             and float(source.elongation.value) < max_elongation and float(source.max_value) > min_peak_sigma * noise]
    stars = sorted(stars, key=lambda source: -float(source.max_value))[:MAX_STARS]
    widths = [width for width in (_gaussian_fwhm(data, segments, source) for source in stars) if width is not None]
    return (float(np.median(widths)) if widths else None), len(widths)


def _gaussian_fwhm(data: np.ndarray, segments: Any, source: Any) -> float | None:
    """FWHM of a circular Gaussian fitted to one source (None when the fit fails or runs wider than its box)."""
    moments = float(source.fwhm.value)
    box = int(min(2 * math.ceil(max(moments, 3.0)) + 1, 41))
    others = (segments.data > 0) & (segments.data != source.label)
    position = (float(source.x_centroid), float(source.y_centroid))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # astropy's fitter warns of every imperfect fit
        try:
            width = float(np.asarray(fit_fwhm(data, xypos=[position], fwhm=min(moments, 15.0), fit_shape=box,
                                              mask=others))[0])
        except (ValueError, RuntimeError):
            return None
    return width if math.isfinite(width) and 0.5 <= width <= box else None
