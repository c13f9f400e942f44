"""The inputs of the region finder: lightness and color planes, PSF, smoothing and noise.

A :class:`~galcolor.Colorization` (predicted color, with its ``ab_std``) and a
:class:`~galcolor.Cutout` with ``truth_rgb`` (true color) become the same
:class:`ColorPlanes`, so every later step runs the same code on both.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from astropy.wcs import WCS
from scipy import ndimage

from ..color import rgb_to_lab_numpy
from ..colorization import Colorization
from ..exceptions import InputError
from ..io import Cutout
from ..models import bundle_for_weights

__all__ = ["ColorPlanes", "color_planes", "prediction_spread", "FWHM_PER_SIGMA", "gaussian_kernel_norm", "smooth",
           "noise_by_lightness", "psf_area", "smooth_many"]

#: Gaussian FWHM / sigma, 2 sqrt(2 ln 2) to the 4 decimals every smoothing
#: scale of the region finder (and its calibrations) was measured with.
FWHM_PER_SIGMA = 2.3548


@dataclass
class ColorPlanes:
    """Lightness, a*, b*, their uncertainties and mask of one image, predicted or true color."""

    lightness: np.ndarray
    a: np.ndarray
    b: np.ndarray
    a_std: np.ndarray | None  # None: estimate from the pixel noise (true color)
    b_std: np.ndarray | None
    b_spread: np.ndarray | None  # uncertainty of color *differences* within the image
    mask: np.ndarray
    wcs: WCS | None
    header: Any
    source: str
    color: str
    meta: dict[str, Any]


def color_planes(data: Colorization | Cutout, *, allow_grey: bool = False) -> ColorPlanes:
    """The planes of a Colorization (predicted color) or of a Cutout with ``truth_rgb`` (true color).

    With ``allow_grey``, a Cutout without color gives planes with ``color="none"``
    (a* = b* = 0): the light alone.
    """
    if isinstance(data, Colorization):
        return ColorPlanes(data.lightness, data.ab[..., 0], data.ab[..., 1], data.ab_std[..., 0],
                           data.ab_std[..., 1], prediction_spread(data), data.mask, data.wcs, data.header,
                           data.source, "predicted", dict(data.meta))
    if isinstance(data, Cutout):
        if data.truth_rgb is None and allow_grey:
            zeros = np.zeros(np.shape(data.lightness), dtype=np.float64)
            return ColorPlanes(data.lightness, zeros, zeros, None, None, None, data.mask, data.wcs, data.header,
                               data.source, "none", {"model": "none (lightness only)", "weights_sha256": ""})
        if data.truth_rgb is None:
            raise InputError(f"{data.source}: a Cutout without true color has no color to search; "
                             "colorize it first (galcolor.colorize) or pass one with truth_rgb")
        lab = rgb_to_lab_numpy(np.asarray(data.truth_rgb, dtype=np.float32))
        mask = data.truth_invalid
        # The cutout's own lightness, not the composite's: the galaxy and the
        # regions are then segmented on the same L as the predicted color.
        return ColorPlanes(data.lightness, lab[..., 1], lab[..., 2], None, None, None, mask, data.wcs,
                           data.header, data.source, "true",
                           {"model": "none (true color)", "weights_sha256": ""})
    raise InputError(f"expected a galcolor.Colorization or a galcolor.Cutout with truth_rgb, "
                     f"got {type(data).__name__}")


def prediction_spread(result: Colorization) -> np.ndarray:
    """The spread of the prediction of b* (TTA/classification), without the calibrated part.

    A calibrated ``ab_std`` (:mod:`galcolor.uncertainty`) is mostly the
    error of the galaxy's overall color, which is shared by neighbouring
    pixels and cancels in a blue excess (a difference of two colors of the
    same galaxy); the spread of the prediction is what varies from pixel to
    pixel. The calibrated table is taken out in quadrature.
    """
    b_std = np.asarray(result.ab_std[..., 1], dtype=np.float64)
    if result.meta.get("uncertainty") != "calibrated":
        return b_std
    bundle = bundle_for_weights(result.meta.get("weights_sha256"))
    table = None if bundle is None else bundle.residual_table()
    if table is None:
        return b_std
    residual = table.sigma_at(result.lightness)[..., 1]
    return np.sqrt(np.clip(b_std ** 2 - residual ** 2, 0.0, None))


def gaussian_kernel_norm(sigma: float) -> float:
    """sqrt(sum k^2) of a normalised 2-D Gaussian: white noise shrinks by this."""
    return 1.0 / (2.0 * math.sqrt(math.pi) * sigma)


def smooth(values: np.ndarray, weights: np.ndarray, sigma: float) -> np.ndarray:
    """Normalised convolution: the Gaussian mean of ``values`` where ``weights`` > 0."""
    return smooth_many([values], weights, sigma)[0]


def smooth_many(planes: list[np.ndarray], weights: np.ndarray, sigma: float) -> list[np.ndarray]:
    """:func:`smooth` of several planes with the same weights: the denominator is filtered once."""
    denominator = ndimage.gaussian_filter(weights.astype(np.float64), sigma, mode="nearest")
    usable = denominator > 1e-3
    safe = np.maximum(denominator, 1e-12)
    smoothed = []
    for values in planes:
        numerator = ndimage.gaussian_filter(np.where(weights > 0, values * weights, 0.0), sigma, mode="nearest")
        with np.errstate(invalid="ignore", divide="ignore"):
            smoothed.append(np.where(usable, numerator / safe, np.nan))
    return smoothed


def noise_by_lightness(values: np.ndarray, lightness: np.ndarray, valid: np.ndarray, floor: float,
                       n_bins: int = 16) -> np.ndarray:
    """Per-pixel noise of ``values`` as a function of L, from its high-pass residual.

    Color noise of a composite falls as the pixel gets brighter, so one
    number for the whole image would be wrong at both ends. ``floor`` is the
    noise of an image with too few pixels to measure it.
    """
    sigma = 1.0
    residual = values - ndimage.gaussian_filter(values, sigma, mode="nearest")
    # var(x - k*x) = 1 - 2 k(0) + sum k^2 for white noise x.
    k0 = 1.0 / (2.0 * math.pi * sigma ** 2)
    correction = math.sqrt(max(1.0 - 2.0 * k0 + gaussian_kernel_norm(sigma) ** 2, 1e-6))
    samples_l = lightness[valid]
    samples_r = residual[valid]
    if samples_l.size < 50:
        return np.full(values.shape, 1.4826 * float(np.median(np.abs(samples_r))) / correction
                       if samples_r.size else floor)
    edges = np.unique(np.quantile(samples_l, np.linspace(0, 1, n_bins + 1)))
    # each bin, edges included, is one slice of the samples sorted by L
    order = np.argsort(samples_l, kind="stable")
    sorted_l, sorted_r = samples_l[order], samples_r[order]
    starts = np.searchsorted(sorted_l, edges[:-1], side="left")
    stops = np.searchsorted(sorted_l, edges[1:], side="right")
    centres, noise = [], []
    for start, stop in zip(starts, stops):
        if stop - start < 20:
            continue
        residuals = sorted_r[start:stop]
        centres.append(float(np.median(sorted_l[start:stop])))
        noise.append(1.4826 * float(np.median(np.abs(residuals - np.median(residuals)))))
    if not centres:
        return np.full(values.shape, floor)
    return np.interp(lightness, centres, np.asarray(noise) / correction)


def psf_area(psf_fwhm: float) -> float:
    """Area of the PSF's FWHM disk, pi FWHM^2 / 4, in pixels."""
    return math.pi * (psf_fwhm / 2.0) ** 2
