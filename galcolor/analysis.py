"""Star-forming regions from color: blue-excess maps, detection, calibrated scores.

Young star-forming clumps are compact knots bluer than the disk around them.
:func:`find_star_forming_regions` finds them in the color of a galaxy image,
predicted (a :class:`~galcolor.Colorization`) or true (a
:class:`~galcolor.Cutout` that carries ``truth_rgb``), with the same code:

1. **Galaxy.** photutils segmentation of the PSF-smoothed lightness above a
   sigma-clipped sky threshold; stars and galaxies touching a galaxy's
   segment are split off when deblending finds them redder than it, or
   with 40 % of the segment's light or more (more than any clump); the
   main galaxy is the segment at (or nearest) the image centre, or every
   large segment with ``galaxies="all"``.
2. **Blue excess** (the contrast method of Mehta et al. 2021, applied to
   color): the local disk b* minus the PSF-smoothed b*; positive means
   bluer than the disk around it. The disk b* is the median b* in
   elliptical annuli (the radial color gradient: red bulge, bluer disk),
   corrected in angle sectors between the major and minor axes (a round
   bulge in an inclined disk reddens an annulus more along the minor axis),
   then averaged over the galaxy folded about its axes (bulge and disk are
   mirror-symmetric; this follows the bulge near the centre, where sectors
   are too coarse), plus a normalised Gaussian smoothing of what is left
   (arms, bars), all with knots excluded (iterated): pixels both bluer
   than the model and brighter than the galaxy's elliptical light profile.
   Blue but faint patches, such as the disk beside a round bulge on the
   major axis, stay in the fit, which learns them.
3. **Significance**: the excess over its uncertainty: for a predicted color
   the spread of the prediction (``ab_std`` without the calibrated error of
   the galaxy's overall color, which cancels in a difference), for a true
   color the pixel noise of b* (measured as a function of L).
4. **Regions**: :func:`photutils.segmentation.detect_sources` on the
   significance map inside the galaxy, split by
   :func:`~photutils.segmentation.deblend_sources` on the lightness contrast
   (image minus the smoothed disk, at the image's own resolution: knots 1-2
   PSF FWHM apart are separate peaks there, which a PSF-smoothed contrast
   merges), then split further at the local maxima of that contrast
   (:func:`skimage.feature.peak_local_max`, seeds of a
   :func:`skimage.segmentation.watershed`): a knot next to a brighter one
   barely dips between them, too little for the contrast levels of the
   deblending. Measured with :class:`~photutils.segmentation.SourceCatalog`.
5. **Score**: a logistic model of the region's measurements, calibrated on
   simulated galaxies whose clumps are known (:func:`fit_score_calibration`;
   the shipped coefficients come from ``pipelines/calibrate_regions.py``).

Catalog columns and their units are defined once, in :mod:`galcolor.catalog`.
"""

from __future__ import annotations

import functools
import json
import math
import warnings
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path
from typing import Any, Sequence

import numpy as np
from astropy import units as u
from astropy.table import QTable, vstack
from astropy.utils.exceptions import AstropyUserWarning
from astropy.wcs import WCS
from astropy.wcs.utils import proj_plane_pixel_scales
from photutils.segmentation import SegmentationImage, SourceCatalog, deblend_sources, detect_sources, detect_threshold
from photutils.utils import NoDetectionsWarning
from scipy import ndimage, optimize
from scipy.sparse.csgraph import connected_components
from skimage.feature import peak_local_max
from skimage.segmentation import watershed

from . import __version__
from .catalog import RegionFlag, conform, empty_table
from .color import lightness_to_luminance, rgb_to_lab_numpy
from .colorization import Colorization
from .exceptions import GalcolorWarning, InputError
from .io import Cutout
from .uncertainty import load_residual_table

__all__ = [
    "NoRegionsWarning",
    "RegionMaps",
    "ScoreCalibration",
    "find_star_forming_regions",
    "load_score_calibration",
    "fit_score_calibration",
    "match_regions",
    "label_candidates",
    "resolve_blends",
    "evaluate_on_simulation",
    "completeness_purity",
    "psf_fwhm_pixels",
    "score_features",
    "SCORE_FEATURES",
    "BLEND_LINK",
]

#: PSF FWHM assumed when the header names none: SDSS's median r-band seeing.
DEFAULT_SEEING_ARCSEC = 1.4
#: ... and in pixels when there is no WCS either (1.4" at SDSS's 0.396"/px).
DEFAULT_PSF_FWHM_PIXELS = DEFAULT_SEEING_ARCSEC / 0.396
#: Header keywords that carry the PSF FWHM in arcsec, in order of preference.
SEEING_KEYWORDS = ("PSF_FWHM", "PSFFWHM", "SEEING", "FWHM")
#: Floor of the color uncertainty (CIELAB units): a regression model without
#: TTA reports ab_std = 0, and no color inferred from grey is better than ~1.
MIN_COLOR_STD = 1.0
#: Gaussian sigma of the local-disk smoothing, in PSF FWHMs.
DISK_SCALE = 2.0
#: Simulated clumps closer than this many PSF FWHMs are one blend (:func:`resolve_blends`).
BLEND_LINK = 1.0
#: Width of the elliptical annuli of the disk-color profile, in PSF FWHMs.
PROFILE_STEP = 0.5
#: Angle sectors (between the major and the minor axis) of the disk-color profile.
PROFILE_SECTORS = 3
#: Split redder or brighter neighbours off a galaxy's segment (:func:`_split_neighbours`) ...
SPLIT_NEIGHBOURS = True
#: ... deblending its luminance with this photutils contrast ...
NEIGHBOUR_CONTRAST = 0.05
#: ... when a piece's median b* exceeds the galaxy's by more than this (CIELAB units).
NEIGHBOUR_RED_EXCESS = 3.0
#: A piece with at least this fraction of its segment's light is a neighbour
#: (a star or galaxy), whatever its color: star-forming clumps have a few
#: per cent of their galaxy's light (in the simulator the median clump has
#: 6 % of its galaxy's g-band light, and 1.6 % of clumps have 40 % or more).
NEIGHBOUR_FLUX_RATIO = 0.4
#: Annulus width of the sector corrections, in units of :data:`PROFILE_STEP`.
SECTOR_STEP = 1.0
#: Fewest pixels, in PSF areas (pi FWHM^2 / 4), of an annulus in one sector.
SECTOR_MIN_PSF_AREAS = 4.0
#: A pixel is left out of the disk-color fit as part of a knot when it is
#: bluer than the fit by ``min_significance`` and its PSF-smoothed luminance
#: exceeds this many times the galaxy's elliptical luminance profile there.
KNOT_LIGHT_RATIO = 1.0
#: Gaussian sigma of the smoothing of the disk color's residual over the
#: galaxy folded onto one quadrant (:func:`_folded_correction`), in PSF sigmas ...
FOLD_SCALE = 0.5
#: ... and the prior weight, in pixels, that pulls it to 0 where the quadrant is empty.
FOLD_PRIOR_PIXELS = 4.0
#: Lightness below which the color of a pixel is too noisy to search
#: (PSF-smoothed L; galcolor's galaxy-pixel convention is 15, but clumps in
#: the outskirts of simulated disks sit at L ~ 8-15).
REGION_MIN_LIGHTNESS = 8.0
#: Peak splitting of the deblended regions (:func:`_split_peaks`): local
#: maxima of the lightness contrast, smoothed by a Gaussian of this FWHM (in
#: PSF FWHMs) ...
PEAK_SMOOTHING = 0.5
#: ... at least this many PSF FWHMs apart ...
PEAK_SEPARATION = 0.5
#: ... and with at least this fraction of the region's brightest peak.
PEAK_MIN_RATIO = 0.3
#: Where the shipped calibration lives.
_CALIBRATION_FILE = "region_score.json"
#: Measurements the score is a function of (see :func:`_score_features`). The
#: squared and product color terms let the score peak at the colors of
#: clumps instead of rising without end as a region gets bluer: hot
#: foreground stars are bluer than clumps and lower in a*.
SCORE_FEATURES = ("log_significance", "blue_excess", "log_area_psf", "log_flux_fraction",
                  "r_gal_norm", "b_mean", "a_mean", "b_mean_squared", "a_mean_squared", "a_b_product")


class NoRegionsWarning(GalcolorWarning):
    """No star-forming region (or no galaxy) was found; the catalog is empty."""


@dataclass(eq=False)
class RegionMaps:
    """The maps behind a region catalog, all (H, W) like the input.

    Attributes
    ----------
    galaxy_mask : numpy.ndarray of bool
        Pixels of the analysed galaxies.
    galaxy_segmentation : photutils.segmentation.SegmentationImage or None
        Segmentation of the lightness; label ``k`` is galaxy ``k`` of the
        catalog's ``galaxy_id`` (other segments are relabelled 0).
    disk_b : numpy.ndarray
        Local disk b* (NaN outside the galaxies).
    blue_excess : numpy.ndarray
        ``disk_b`` minus the PSF-smoothed b* (NaN outside the galaxies).
    significance : numpy.ndarray
        ``blue_excess`` over its uncertainty (NaN outside the galaxies).
    segmentation : photutils.segmentation.SegmentationImage or None
        The regions; label ``k`` is the row with ``id == k``, before the
        ``min_score`` cut.
    psf_fwhm : float
        PSF FWHM in pixels that set the smoothing scales.
    """

    galaxy_mask: np.ndarray
    galaxy_segmentation: SegmentationImage | None
    disk_b: np.ndarray
    blue_excess: np.ndarray
    significance: np.ndarray
    segmentation: SegmentationImage | None
    psf_fwhm: float


@dataclass(frozen=True)
class ScoreCalibration:
    """Logistic model that turns a region's measurements into a probability.

    ``score = 1 / (1 + exp(-(intercept + coef . (features - mean) / scale)))``
    with the features of :data:`SCORE_FEATURES`.

    Attributes
    ----------
    color : {"predicted", "true"}
        Which color the coefficients were fitted on.
    mean, scale, coef : tuple of float
        Standardisation and weights, one per feature.
    intercept : float
    provenance : dict
        How the calibration was made (seeds, number of galaxies, model).
    """

    color: str
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coef: tuple[float, ...]
    intercept: float
    features: tuple[str, ...] = SCORE_FEATURES
    provenance: dict[str, Any] = field(default_factory=dict, compare=False)

    def __call__(self, features: np.ndarray) -> np.ndarray:
        """Probabilities for an (N, n_features) array of features."""
        features = np.asarray(features, dtype=np.float64).reshape(-1, len(self.features))
        z = (features - np.asarray(self.mean)) / np.asarray(self.scale)
        logit = self.intercept + z @ np.asarray(self.coef)
        return 1.0 / (1.0 + np.exp(-np.clip(logit, -50, 50)))

    @classmethod
    def uninformative(cls, color: str = "predicted") -> "ScoreCalibration":
        """All weights 0: every region scores 0.5 (candidates before any calibration).

        Examples
        --------
        >>> import numpy as np
        >>> from galcolor.analysis import SCORE_FEATURES, ScoreCalibration
        >>> ScoreCalibration.uninformative()(np.ones((2, len(SCORE_FEATURES)))).tolist()
        [0.5, 0.5]
        """
        n = len(SCORE_FEATURES)
        return cls(color=color, mean=(0.0,) * n, scale=(1.0,) * n, coef=(0.0,) * n, intercept=0.0)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary (the format of the shipped file)."""
        return {"color": self.color, "features": list(self.features), "mean": list(self.mean),
                "scale": list(self.scale), "coef": list(self.coef), "intercept": self.intercept,
                "provenance": self.provenance}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ScoreCalibration":
        """Inverse of :meth:`to_dict`."""
        features = tuple(data["features"])
        if features != SCORE_FEATURES:
            raise InputError(f"calibration features {features} are not galcolor's {SCORE_FEATURES}")
        # "colour": files written before galcolor settled on one spelling
        return cls(color=data.get("color", data.get("colour")), mean=tuple(data["mean"]), scale=tuple(data["scale"]),
                   coef=tuple(data["coef"]), intercept=float(data["intercept"]), features=features,
                   provenance=dict(data.get("provenance", {})))


@functools.lru_cache(maxsize=1)  # read once per process, not once per image
def _shipped_calibrations() -> str:
    return resources.files("galcolor").joinpath("data", _CALIBRATION_FILE).read_text()


def load_score_calibration(color: str = "predicted", path: str | Path | None = None) -> ScoreCalibration:
    """The calibration of ``score`` for predicted or true color.

    Parameters
    ----------
    color : {"predicted", "true"}
        Predicted color (a :class:`~galcolor.Colorization`) or true color.
    path : str or pathlib.Path, optional
        A JSON file written by ``pipelines/calibrate_regions.py``; default:
        the calibration shipped with galcolor.

    Examples
    --------
    >>> from galcolor.analysis import load_score_calibration
    >>> load_score_calibration("true").color
    'true'
    """
    if color not in ("predicted", "true"):
        raise InputError(f"color must be 'predicted' or 'true', got {color!r}")
    if path is None:
        text = _shipped_calibrations()
        origin = f"galcolor/data/{_CALIBRATION_FILE}"
    else:
        text = Path(path).read_text()
        origin = str(path)
    data = json.loads(text)
    if color not in data:
        raise InputError(f"{origin} has no calibration for {color} color")
    return ScoreCalibration.from_dict(data[color])


# ----------------------------------------------------------------------------
# Inputs


@dataclass
class _ColorPlanes:
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


def _color_planes(data: Colorization | Cutout) -> _ColorPlanes:
    if isinstance(data, Colorization):
        return _ColorPlanes(data.lightness, data.ab[..., 0], data.ab[..., 1], data.ab_std[..., 0],
                             data.ab_std[..., 1], _prediction_spread(data), data.mask, data.wcs, data.header, data.source,
                             "predicted", dict(data.meta))
    if isinstance(data, Cutout):
        if data.truth_rgb is None:
            raise InputError(f"{data.source}: a Cutout without true color has no color to search; "
                             "colorize it first (galcolor.colorize) or pass one with truth_rgb")
        lab = rgb_to_lab_numpy(np.asarray(data.truth_rgb, dtype=np.float32))
        mask = data.mask if data.truth_mask is None else (data.mask | data.truth_mask)
        # The cutout's own lightness, not the composite's: the galaxy and the
        # regions are then segmented on the same L as the predicted color.
        return _ColorPlanes(data.lightness, lab[..., 1], lab[..., 2], None, None, None, mask, data.wcs,
                             data.header, data.source, "true",
                             {"model": "none (true color)", "weights_sha256": ""})
    raise InputError(f"expected a galcolor.Colorization or a galcolor.Cutout with truth_rgb, "
                     f"got {type(data).__name__}")


def _prediction_spread(result: Colorization) -> np.ndarray:
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
    table = load_residual_table(result.meta.get("weights_sha256"))
    if table is None:
        return b_std
    residual = table.sigma_at(result.lightness)[..., 1]
    return np.sqrt(np.clip(b_std ** 2 - residual ** 2, 0.0, None))


def psf_fwhm_pixels(header: Any = None, wcs: WCS | None = None) -> float:
    """PSF FWHM in pixels from a FITS header, or SDSS-like seeing by default.

    The first of ``PSF_FWHM``, ``PSFFWHM``, ``SEEING`` and ``FWHM`` (arcsec)
    in the header is converted with the WCS pixel scale; without one,
    1.4 arcsec is assumed; without a WCS, 3.5 pixels (1.4" at 0.396"/px).

    Examples
    --------
    >>> from astropy.io import fits
    >>> from galcolor.analysis import psf_fwhm_pixels
    >>> round(psf_fwhm_pixels(fits.Header({"SEEING": 1.2, "CDELT1": -0.0001, "CDELT2": 0.0001,
    ...                                    "CTYPE1": "RA---TAN", "CTYPE2": "DEC--TAN"})), 2)
    3.33
    """
    seeing = DEFAULT_SEEING_ARCSEC
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
        return DEFAULT_PSF_FWHM_PIXELS if seeing == DEFAULT_SEEING_ARCSEC else seeing / 0.396
    scale_arcsec = float(np.mean(proj_plane_pixel_scales(wcs.celestial))) * 3600.0
    return seeing / scale_arcsec


# ----------------------------------------------------------------------------
# Maps


def _gaussian_kernel_norm(sigma: float) -> float:
    """sqrt(sum k^2) of a normalised 2-D Gaussian: white noise shrinks by this."""
    return 1.0 / (2.0 * math.sqrt(math.pi) * sigma)


def _smooth(values: np.ndarray, weights: np.ndarray, sigma: float) -> np.ndarray:
    """Normalised convolution: the Gaussian mean of ``values`` where ``weights`` > 0."""
    numerator = ndimage.gaussian_filter(np.where(weights > 0, values * weights, 0.0), sigma, mode="nearest")
    denominator = ndimage.gaussian_filter(weights.astype(np.float64), sigma, mode="nearest")
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denominator > 1e-3, numerator / np.maximum(denominator, 1e-12), np.nan)


def _noise_by_lightness(values: np.ndarray, lightness: np.ndarray, valid: np.ndarray,
                        n_bins: int = 16) -> np.ndarray:
    """Per-pixel noise of ``values`` as a function of L, from its high-pass residual.

    Color noise of a composite falls as the pixel gets brighter, so one
    number for the whole image would be wrong at both ends.
    """
    sigma = 1.0
    residual = values - ndimage.gaussian_filter(values, sigma, mode="nearest")
    # var(x - k*x) = 1 - 2 k(0) + sum k^2 for white noise x.
    k0 = 1.0 / (2.0 * math.pi * sigma ** 2)
    correction = math.sqrt(max(1.0 - 2.0 * k0 + _gaussian_kernel_norm(sigma) ** 2, 1e-6))
    samples_l = lightness[valid]
    samples_r = residual[valid]
    if samples_l.size < 50:
        return np.full(values.shape, 1.4826 * float(np.median(np.abs(samples_r))) / correction
                       if samples_r.size else MIN_COLOR_STD)
    edges = np.unique(np.quantile(samples_l, np.linspace(0, 1, n_bins + 1)))
    centres, noise = [], []
    for low, high in zip(edges[:-1], edges[1:]):
        inside = (samples_l >= low) & (samples_l <= high)
        if inside.sum() < 20:
            continue
        centres.append(float(np.median(samples_l[inside])))
        noise.append(1.4826 * float(np.median(np.abs(samples_r[inside] - np.median(samples_r[inside])))))
    if not centres:
        return np.full(values.shape, MIN_COLOR_STD)
    return np.interp(lightness, centres, np.asarray(noise) / correction)


def _psf_area(psf_fwhm: float) -> float:
    """Area of the PSF's FWHM disk, pi FWHM^2 / 4, in pixels."""
    return math.pi * (psf_fwhm / 2.0) ** 2


def _split_neighbours(segments: SegmentationImage, smoothed: np.ndarray, b: np.ndarray, valid: np.ndarray,
                      min_pixels: int) -> SegmentationImage:
    """Split off the stars and galaxies that touch a galaxy's segment.

    Each segment is deblended on the PSF-smoothed luminance
    (:func:`~photutils.segmentation.deblend_sources`, contrast
    :data:`NEIGHBOUR_CONTRAST`). A piece becomes a segment of its own when
    its median b* is more than :data:`NEIGHBOUR_RED_EXCESS` above that of
    the segment's main piece (the one at the image centre for the central
    segment, else the brightest), or when it has at least
    :data:`NEIGHBOUR_FLUX_RATIO` of the whole segment's light. Fainter, bluer
    pieces (clumps) stay, so the galaxy keeps its clumps, while a red
    neighbour or a bright star no longer distorts its shape and disk color
    profile, nor passes for a blue clump.
    """
    luminance = lightness_to_luminance(np.clip(smoothed, 0.0, 100.0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pieces = deblend_sources(luminance, segments, min_pixels, n_levels=32, contrast=NEIGHBOUR_CONTRAST,
                                 progress_bar=False)
    if pieces is None or pieces.n_labels == segments.n_labels:
        return segments
    height, width = smoothed.shape
    centre = (int(round((height - 1) / 2)), int(round((width - 1) / 2)))
    # per piece: total luminance, median b* over valid pixels (NaN without any), parent segment
    piece_labels = pieces.labels
    light = dict(zip(piece_labels, ndimage.sum(luminance, pieces.data, piece_labels)))
    valid_pieces = np.where(valid, pieces.data, 0)
    measured = np.unique(valid_pieces)
    measured = measured[measured > 0]
    median_b = dict.fromkeys(piece_labels, np.nan)
    if measured.size:
        median_b.update(zip(measured, ndimage.median(b, valid_pieces, measured)))
    parent_of = dict(zip(piece_labels, ndimage.maximum(segments.data, pieces.data, piece_labels).astype(int)))
    data = segments.data.copy()
    next_label = int(data.max()) + 1
    central = pieces.data[centre]
    for parent in segments.labels:
        labels = [label for label in piece_labels if parent_of[label] == parent]
        if len(labels) < 2:
            continue
        main = central if central in labels else max(labels, key=light.get)
        total = sum(light[label] for label in labels)
        for label in labels:
            if label == main:
                continue
            redder = median_b[label] > median_b[main] + NEIGHBOUR_RED_EXCESS
            brighter = light[label] >= NEIGHBOUR_FLUX_RATIO * total
            if redder or brighter:
                data[pieces.data == label] = next_label
                next_label += 1
    return SegmentationImage(data)


def _split_peaks(segments: SegmentationImage, contrast: np.ndarray, psf_fwhm: float,
                 min_area: int) -> SegmentationImage:
    """Split regions at the separate peaks of their lightness contrast.

    In each region, the local maxima of the contrast (smoothed by a
    Gaussian of :data:`PEAK_SMOOTHING` PSF FWHM) at least
    :data:`PEAK_SEPARATION` FWHM apart and with at least
    :data:`PEAK_MIN_RATIO` of the region's brightest peak seed a watershed
    of the region (:func:`skimage.segmentation.watershed` on the negative
    contrast). A region stays whole if it has one such peak, or if a piece
    would have fewer than ``min_area`` pixels. Knots 1-1.3 FWHM apart
    (common in clumpy disks) dip by only a few per cent between them, below
    the contrast levels :func:`~photutils.segmentation.deblend_sources`
    resolves, but their maxima stay apart.
    """
    sigma = PEAK_SMOOTHING * psf_fwhm / 2.3548
    smoothed = ndimage.gaussian_filter(contrast, sigma) if sigma > 0 else contrast
    distance = max(1, int(round(PEAK_SEPARATION * psf_fwhm)))
    data = segments.data.copy()
    next_label = int(data.max()) + 1
    for label, box in zip(segments.labels, segments.slices):
        inside = segments.data[box] == label
        values = np.where(inside, smoothed[box], 0.0)
        peaks = peak_local_max(values, min_distance=distance, labels=inside.astype(np.int32),
                               exclude_border=False)
        if len(peaks) < 2:
            continue
        heights = values[tuple(peaks.T)]
        peaks = peaks[heights >= PEAK_MIN_RATIO * heights.max()]
        if len(peaks) < 2:
            continue
        markers = np.zeros(inside.shape, dtype=np.int32)
        markers[tuple(peaks.T)] = np.arange(1, len(peaks) + 1)
        pieces = watershed(-values, markers, mask=inside)
        if np.bincount(pieces.ravel(), minlength=len(peaks) + 1)[1:].min() < min_area:
            continue
        region = data[box]
        for piece in range(2, len(peaks) + 1):
            region[pieces == piece] = next_label
            next_label += 1
    return SegmentationImage(data) if next_label > int(segments.data.max()) + 1 else segments


def _galaxy_segmentation(lightness: np.ndarray, smoothed: np.ndarray, mask: np.ndarray, psf_fwhm: float,
                         galaxies: str, n_sigma: float, b: np.ndarray | None = None) -> SegmentationImage | None:
    """Segments of the galaxies to analyse, relabelled 1 (central), 2, ...

    ``smoothed`` is the PSF-smoothed lightness (0 where undefined): the
    segmentation runs on it, with the threshold from the sky of ``lightness``.
    With ``b`` (the b* map), redder or brighter neighbours touching a
    galaxy are split off (:func:`_split_neighbours`).
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AstropyUserWarning)
        warnings.simplefilter("ignore", NoDetectionsWarning)
        threshold = detect_threshold(lightness, n_sigma=n_sigma, mask=mask)
        # The sky of a stretched image is ~0 with little spread: keep the
        # threshold above the faintest L that can still be told from sky.
        threshold = np.maximum(threshold, 2.0)
        min_pixels = max(int(round(4 * _psf_area(psf_fwhm))), 9)
        segments = detect_sources(smoothed, threshold, min_pixels, mask=mask)
    if segments is None:
        return None
    if b is not None:
        segments = _split_neighbours(segments, smoothed, b, ~mask, min_pixels)
    height, width = lightness.shape
    centre = ((height - 1) / 2.0, (width - 1) / 2.0)
    data = segments.data
    labels = segments.labels
    rows, cols = np.nonzero(data)
    distance = np.hypot(rows - centre[0], cols - centre[1])
    nearest = np.full(labels.max() + 1, np.inf)
    np.minimum.at(nearest, data[rows, cols], distance)
    order = [int(label) for label in labels[np.argsort(nearest[labels])]]
    keep = order[:1] if galaxies == "central" else order
    mapping = np.zeros(labels.max() + 1, dtype=np.int32)
    for new, label in enumerate(keep, start=1):
        mapping[label] = new
    return SegmentationImage(mapping[data])


def _central_component(mask: np.ndarray) -> np.ndarray:
    """The connected part of ``mask`` at, or nearest to, the image centre."""
    pieces, count = ndimage.label(mask)
    if count <= 1:
        return mask
    rows, cols = np.nonzero(pieces)
    centre = ((mask.shape[0] - 1) / 2.0, (mask.shape[1] - 1) / 2.0)
    nearest = np.argmin(np.hypot(rows - centre[0], cols - centre[1]))
    return pieces == pieces[rows[nearest], cols[nearest]]


def _elliptical_coordinates(valid: np.ndarray, light: np.ndarray) -> tuple[np.ndarray, ...]:
    """Elliptical radius, folded position angle and absolute offsets along the major and minor axes.

    Radius and offsets are in pixels (the radius along the major axis).

    From the light-weighted second moments of ``valid``. The angle is that
    of the pixel from the major axis, folded into [0, pi/2] (0 on the
    major axis, pi/2 on the minor axis): bulge and disk are both symmetric
    about the axes, so the four quadrants share one color model.
    """
    if not valid.any():
        return (np.zeros(valid.shape),) * 4
    rows, cols = np.nonzero(valid)
    weights = np.clip(light[rows, cols], 0.0, None) + 1e-12
    cy, cx = np.average(rows, weights=weights), np.average(cols, weights=weights)
    dy, dx = rows - cy, cols - cx
    moments = np.array([[np.average(dx * dx, weights=weights), np.average(dx * dy, weights=weights)],
                        [np.average(dx * dy, weights=weights), np.average(dy * dy, weights=weights)]])
    values, vectors = np.linalg.eigh(moments)  # ascending: minor, then major axis
    axis_ratio = max(math.sqrt(max(values[0], 1e-9) / max(values[1], 1e-9)), 0.2)
    yy, xx = np.indices(valid.shape, dtype=np.float64)
    xx -= cx
    yy -= cy
    along_major = xx * vectors[0, 1] + yy * vectors[1, 1]
    along_minor = xx * vectors[0, 0] + yy * vectors[1, 0]
    radius = np.hypot(along_major, along_minor / axis_ratio)
    angle = np.arctan2(np.abs(along_minor), np.abs(along_major))
    return radius, angle, np.abs(along_major), np.abs(along_minor)


def _folded_correction(values: np.ndarray, model: np.ndarray, major: np.ndarray, minor: np.ndarray,
                       use: np.ndarray, sigma: float) -> np.ndarray:
    """``model`` plus its residual over ``use`` averaged over the galaxy folded onto one quadrant.

    Bulge and disk are both symmetric about the galaxy's axes, so the four
    mirror images of a pixel share its smooth color, whatever the shapes
    of bulge and disk. Folded onto one quadrant (``major``, ``minor``: the
    absolute offsets along the axes, in pixels), the residual of ``values``
    from ``model`` is averaged with a Gaussian of ``sigma`` pixels (mirrored
    at the axes) and pulled to 0 by :data:`FOLD_PRIOR_PIXELS` pixels of
    prior weight where the quadrant holds few pixels.
    """
    if not use.any():
        return model
    size = int(math.ceil(max(major[use].max(), minor[use].max()))) + 3
    total = np.zeros((size, size))
    weight = np.zeros((size, size))
    u, v, r = major[use], minor[use], (values - model)[use]
    u0, v0 = np.floor(u).astype(int), np.floor(v).astype(int)
    fu, fv = u - u0, v - v0
    for du, wu in ((0, 1.0 - fu), (1, fu)):  # bilinear splat onto the quadrant's pixel grid
        for dv, wv in ((0, 1.0 - fv), (1, fv)):
            np.add.at(total, (u0 + du, v0 + dv), wu * wv * r)
            np.add.at(weight, (u0 + du, v0 + dv), wu * wv)
    total = ndimage.gaussian_filter(total, sigma, mode="mirror")
    weight = ndimage.gaussian_filter(weight, sigma, mode="mirror")
    prior = FOLD_PRIOR_PIXELS / (2.0 * math.pi * sigma ** 2)  # one pixel's kernel weight at its own place
    correction = total / (weight + prior)
    return model + ndimage.map_coordinates(correction, [major, minor], order=1, mode="nearest")


def _sector_profile(values: np.ndarray, radius: np.ndarray, angle: np.ndarray, use: np.ndarray,
                    step: float, min_pixels: int) -> np.ndarray:
    """The all-angle :func:`_radial_profile` plus a correction per folded angle sector.

    A round red bulge in an inclined bluer disk reaches further out in
    elliptical radius along the minor axis than along the major axis, so
    one profile per annulus is too red on the major axis and too blue on
    the minor axis (and the disk beside the bulge on the major axis looks
    like a pair of blue clumps). In each of :data:`PROFILE_SECTORS` sectors
    the median of ``values`` minus the all-angle profile is taken in annuli
    of ``SECTOR_STEP * step`` that hold at least ``min_pixels`` pixels (so
    that a clump cannot be its own background), with the correction 0 at
    the centre, where all sectors meet; between sector centres the
    correction is interpolated linearly in angle.
    """
    overall = _radial_profile(values, radius, use, step)
    residual = values - overall
    edges = np.linspace(0.0, math.pi / 2, PROFILE_SECTORS + 1)
    centres = 0.5 * (edges[:-1] + edges[1:])
    corrections = []
    for low, high in zip(edges[:-1], edges[1:]):
        inside = use & (angle >= low) & (angle <= high)
        knots, medians = _annulus_medians(radius[inside], residual[inside], SECTOR_STEP * step, min_pixels)
        corrections.append(np.interp(radius, [0.0] + knots, [0.0] + medians))
    position = np.interp(angle, centres, np.arange(PROFILE_SECTORS, dtype=np.float64))
    lower = np.floor(position).astype(int)
    upper = np.minimum(lower + 1, PROFILE_SECTORS - 1)
    weight = position - lower
    stack = np.stack(corrections)
    rows, cols = np.indices(values.shape)
    return overall + (1.0 - weight) * stack[lower, rows, cols] + weight * stack[upper, rows, cols]


def _annulus_medians(r: np.ndarray, v: np.ndarray, step: float, min_pixels: int) -> tuple[list[float], list[float]]:
    """Median radius and median value of each annulus of width ``step`` holding ``min_pixels`` or more."""
    centres: list[float] = []
    medians: list[float] = []
    if r.size == 0:
        return centres, medians
    index = np.digitize(r, np.arange(0.0, r.max() + step, step))
    for k in np.unique(index):
        inside = index == k
        if inside.sum() >= min_pixels:
            centres.append(float(np.median(r[inside])))
            medians.append(float(np.median(v[inside])))
    return centres, medians


def _radial_profile(values: np.ndarray, radius: np.ndarray, use: np.ndarray, step: float) -> np.ndarray:
    """Median of ``values`` in elliptical annuli of width ``step`` over ``use``, interpolated."""
    r, v = radius[use], values[use]
    if v.size == 0:
        return np.zeros(values.shape)
    centres, medians = _annulus_medians(r, v, step, 5)
    if not centres:
        return np.full(values.shape, float(np.median(v)))
    return np.interp(radius, centres, medians)


def _disk_profile(b: np.ndarray, galaxy_labels: np.ndarray, disk_pixels: np.ndarray,
                  geometry: list[tuple[Any, ...]], step: float, min_pixels: int | None,
                  fold_sigma: float | None = None) -> np.ndarray:
    """Each galaxy's median ``b`` in elliptical annulus sectors over its ``disk_pixels``, 0 elsewhere.

    ``min_pixels=None`` takes the all-angle profile (:func:`_radial_profile`);
    a ``fold_sigma`` adds the :func:`_folded_correction` of the sector profile.
    """
    profile = np.zeros(b.shape)
    for box, label, radius, angle, major, minor in geometry:
        own = galaxy_labels[box] == label
        use = own & disk_pixels[box]
        if min_pixels is None:
            values = _radial_profile(b[box], radius, use, step)
        else:
            values = _sector_profile(b[box], radius, angle, use, step, min_pixels)
            if fold_sigma is not None:
                values = _folded_correction(b[box], values, major, minor, use, fold_sigma)
        profile[box] = np.where(own, values, profile[box])
    return profile


def _region_maps(planes: _ColorPlanes, galaxy_labels: np.ndarray, psf_fwhm: float,
                 clip_sigma: float) -> tuple[np.ndarray, ...]:
    """Disk b*, blue excess, its uncertainty and significance; lightness contrasts.

    Returns the disk b*, the excess, its uncertainty and significance, the
    PSF-smoothed and the unsmoothed lightness contrast over the disk, and
    the luminance.

    The disk color is modelled in three parts, with knots excluded
    (iterated): the median b* in elliptical annuli, corrected per angle
    sector (:func:`_sector_profile`; galaxies are redder in the middle: a
    plain Gaussian smoothing would let the red bulge pull the disk color
    around it red and make the whole inner disk look bluer than itself);
    its residual averaged over the galaxy folded about its axes
    (:func:`_folded_correction`: near a round bulge in an inclined disk
    the color changes faster than sectors of annuli can follow); plus the
    Gaussian-smoothed residual from both (arms, bars, lopsided disks).
    A knot is bluer than the model by ``clip_sigma`` and brighter than the
    elliptical light profile (:data:`KNOT_LIGHT_RATIO`); blue but faint
    patches stay in the fit, which learns them. ``galaxy_labels`` numbers
    the pixels of each analysed galaxy (0 elsewhere): each has its own
    profile.
    """
    psf_sigma = psf_fwhm / 2.3548
    disk_sigma = max(DISK_SCALE * psf_fwhm, 3.0)
    galaxy_mask = galaxy_labels > 0
    valid = galaxy_mask & ~planes.mask
    weights = valid.astype(np.float64)
    b_psf = _smooth(planes.b, weights, psf_sigma)
    luminance = lightness_to_luminance(planes.lightness)
    luminance_psf = _smooth(luminance, weights, psf_sigma)

    if planes.b_spread is None:
        sky = ~planes.mask
        noise = _noise_by_lightness(planes.b, planes.lightness, sky)
        b_std = noise * _gaussian_kernel_norm(psf_sigma)
    else:
        b_std = _smooth(planes.b_spread, weights, psf_sigma)
    b_std = np.maximum(np.nan_to_num(b_std, nan=MIN_COLOR_STD), MIN_COLOR_STD)

    labels = np.where(valid, galaxy_labels, 0)
    geometry = [(box, label, *_elliptical_coordinates(labels[box] == label, luminance[box]))
                for label, box in enumerate(ndimage.find_objects(labels), start=1) if box is not None]
    step = max(PROFILE_STEP * psf_fwhm, 1.0)
    sector_pixels = max(int(round(SECTOR_MIN_PSF_AREAS * _psf_area(psf_fwhm))), 10)
    # Knots are brighter than the disk around them. The color geometry of
    # a round red bulge in an inclined disk leaves blue-looking pairs on the
    # major axis that are fainter than the elliptical light profile there:
    # excluding them from the disk fit would only keep the fit from
    # learning them, so the fit excludes bright blue pixels only.
    knot_light = KNOT_LIGHT_RATIO * _disk_profile(luminance_psf, labels, valid, geometry, step, None)
    # Pixels bluer than the sector profile alone and brighter than the light
    # profile stay out of the disk fit throughout: in the folded part a pair
    # of knots at mirror places would otherwise be each other's background.
    # (Any blue is enough here: a knot near the bulge need not be
    # significant against the sector profile.)
    with np.errstate(invalid="ignore"):
        sector = _disk_profile(b_psf, labels, valid, geometry, step, sector_pixels)
        seed = valid & (b_psf < sector) & (luminance_psf > knot_light)
    seed = ndimage.binary_dilation(seed, iterations=1) & valid
    fold_sigma = max(FOLD_SCALE * psf_sigma, 0.5)
    candidates = np.zeros_like(galaxy_mask)
    for _ in range(4):
        disk_pixels = valid & ~candidates & ~seed
        profile = _disk_profile(b_psf, labels, disk_pixels, geometry, step, sector_pixels, fold_sigma)
        residual = _smooth(np.where(disk_pixels, b_psf - profile, 0.0), disk_pixels.astype(np.float64),
                           disk_sigma)
        disk_b = profile + np.nan_to_num(residual)
        excess = disk_b - b_psf
        with np.errstate(invalid="ignore"):
            new = valid & (excess > clip_sigma * b_std) & (luminance_psf > knot_light)
        new = ndimage.binary_dilation(new, iterations=1) & valid
        if np.array_equal(new, candidates):
            break
        candidates = new
    disk_luminance = _smooth(luminance, weights * ~candidates, disk_sigma)
    excess = np.where(valid, disk_b - b_psf, np.nan)
    significance = excess / b_std
    contrast = np.where(valid, luminance_psf - disk_luminance, np.nan)
    sharp_contrast = np.where(valid, luminance - disk_luminance, np.nan)
    return np.where(valid, disk_b, np.nan), excess, b_std, significance, contrast, sharp_contrast, luminance


# ----------------------------------------------------------------------------
# The public entry point


def find_star_forming_regions(
    data: Colorization | Cutout,
    *,
    min_significance: float = 2.5,
    min_area: int = 5,
    min_score: float = 0.5,
    galaxies: str = "central",
    psf_fwhm: float | None = None,
    galaxy_n_sigma: float = 2.0,
    min_lightness: float = REGION_MIN_LIGHTNESS,
    calibration: ScoreCalibration | None = None,
    return_maps: bool = False,
) -> QTable | tuple[QTable, RegionMaps]:
    """Find compact regions bluer than the disk around them and score them.

    Parameters
    ----------
    data : galcolor.Colorization or galcolor.Cutout
        A colorized image (predicted color), or a cutout with ``truth_rgb``
        (true color: the same method on the real color, for comparison).
    min_significance : float, optional
        Detection threshold on the blue excess over its uncertainty.
    min_area : int, optional
        Fewest connected pixels in a region.
    min_score : float, optional
        Keep regions whose calibrated score is at least this (0 keeps every
        candidate, for precision-recall curves).
    galaxies : {"central", "all"}, optional
        Analyse the galaxy at (or nearest) the centre, or every galaxy in
        the frame (wide fields).
    psf_fwhm : float, optional
        PSF FWHM in pixels; default from the header (:func:`psf_fwhm_pixels`).
    galaxy_n_sigma : float, optional
        Galaxy segmentation threshold in sky sigmas (sigma-clipped).
    min_lightness : float, optional
        Regions are searched only where the PSF-smoothed L reaches this: in
        fainter outskirts the color of a pixel is mostly noise, true or
        predicted.
    calibration : ScoreCalibration, optional
        Score model; default: the shipped one for the color in hand.
    return_maps : bool, optional
        Also return the :class:`RegionMaps`.

    Returns
    -------
    astropy.table.QTable or (QTable, RegionMaps)
        One row per region, with the columns of
        :data:`galcolor.catalog.REGION_COLUMNS` and metadata naming the
        source, the model, its weights and the parameters. No region gives
        an empty table with the full schema and a :class:`NoRegionsWarning`.

    Examples
    --------
    A simulated galaxy, its true color, and the clumps the simulator put
    there:

    >>> from galcolor.datasets import simulate
    >>> from galcolor.analysis import find_star_forming_regions, label_candidates
    >>> galaxy = simulate(1, size=96, seed=17, max_clumps=4, star_rate=0)[0]
    >>> regions = find_star_forming_regions(galaxy.to_cutout("r"))
    >>> regions.colnames[:4]
    ['id', 'galaxy_id', 'source', 'x']
    >>> bool(((regions["score"] >= 0.5) & (regions["score"] <= 1)).all())
    True
    >>> correct, _, _ = label_candidates(regions, galaxy.truth)
    >>> len(regions), int(correct.sum()), int((galaxy.truth["kind"] == "clump").sum())
    (1, 1, 3)
    """
    if galaxies not in ("central", "all"):
        raise InputError(f"galaxies must be 'central' or 'all', got {galaxies!r}")
    if min_area < 1:
        raise InputError(f"min_area must be >= 1 pixel, got {min_area}")
    if not 0.0 <= min_score <= 1.0:
        raise InputError(f"min_score must be in [0, 1], got {min_score}")
    planes = _color_planes(data)
    lightness = np.asarray(planes.lightness, dtype=np.float64)
    finite = np.isfinite(lightness) & np.isfinite(planes.a) & np.isfinite(planes.b)
    mask = np.asarray(planes.mask, dtype=bool) | ~finite
    planes.mask = mask
    planes.lightness = np.where(mask, 0.0, lightness)
    planes.a = np.where(mask, 0.0, planes.a).astype(np.float64)
    planes.b = np.where(mask, 0.0, planes.b).astype(np.float64)
    if psf_fwhm is None:
        psf_fwhm = psf_fwhm_pixels(planes.header, planes.wcs)
    if not (psf_fwhm > 0 and math.isfinite(psf_fwhm)):
        raise InputError(f"psf_fwhm must be a positive number of pixels, got {psf_fwhm}")
    parameters = {"min_significance": min_significance, "min_area": min_area, "min_score": min_score,
                  "galaxies": galaxies, "psf_fwhm": round(float(psf_fwhm), 4),
                  "galaxy_n_sigma": galaxy_n_sigma, "min_lightness": min_lightness,
                  "calibration": planes.color if calibration is None else calibration.color}
    meta = {"source": planes.source, "color": planes.color,
            "model": str(planes.meta.get("model", "")),
            "weights_sha256": str(planes.meta.get("weights_sha256", "")),
            "galcolor_version": __version__,
            "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "parameters": parameters}
    shape = lightness.shape
    nan_map = np.full(shape, np.nan)

    def nothing(reason: str, maps: RegionMaps) -> QTable | tuple[QTable, RegionMaps]:
        warnings.warn(f"{planes.source}: {reason}; the catalog is empty", NoRegionsWarning, stacklevel=3)
        table = empty_table(meta=meta)
        return (table, maps) if return_maps else table

    if mask.all() or np.ptp(planes.lightness[~mask]) == 0:
        maps = RegionMaps(np.zeros(shape, bool), None, nan_map, nan_map, nan_map, None, float(psf_fwhm))
        return nothing("the image is empty or constant", maps)
    smoothed = np.nan_to_num(_smooth(planes.lightness, (~mask).astype(np.float64), psf_fwhm / 2.3548))
    galaxy_segments = _galaxy_segmentation(planes.lightness, smoothed, mask, psf_fwhm, galaxies, galaxy_n_sigma,
                                           b=planes.b if SPLIT_NEIGHBOURS else None)
    if galaxy_segments is None or galaxy_segments.n_labels == 0:
        maps = RegionMaps(np.zeros(shape, bool), None, nan_map, nan_map, nan_map, None, float(psf_fwhm))
        return nothing("no galaxy was found", maps)
    galaxy_mask = (galaxy_segments.data > 0) & (smoothed >= min_lightness)
    if galaxies == "central":
        # Above min_lightness a neighbour that touched the galaxy in the
        # faint outskirts comes apart from it: keep the central piece.
        galaxy_mask = _central_component(galaxy_mask)
    if not galaxy_mask.any():
        maps = RegionMaps(galaxy_mask, galaxy_segments, nan_map, nan_map, nan_map, None, float(psf_fwhm))
        return nothing(f"no galaxy pixel reaches L = {min_lightness}", maps)
    disk_b, excess, b_std, significance, contrast, sharp_contrast, luminance = _region_maps(
        planes, np.where(galaxy_mask, galaxy_segments.data, 0), psf_fwhm, clip_sigma=min_significance)

    detection = np.where(np.isfinite(significance), significance, 0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NoDetectionsWarning)
        segments = detect_sources(detection, min_significance, min_area, mask=~galaxy_mask)
    if segments is None:
        maps = RegionMaps(galaxy_mask, galaxy_segments, disk_b, excess, significance, None, float(psf_fwhm))
        return nothing("no region is bluer than its disk", maps)
    parents = segments.data.copy()
    # Split on the unsmoothed contrast: neighbouring knots stay separate peaks.
    deblend_data = np.where(np.isfinite(sharp_contrast), np.clip(sharp_contrast, 0.0, None), 0.0) \
        + 1e-9 * detection
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        segments = deblend_sources(deblend_data, segments, min_area, n_levels=32, contrast=0.02,
                                   progress_bar=False)
    segments = _split_peaks(segments, deblend_data, psf_fwhm, min_area)

    table = _measure(planes, segments, parents, galaxy_segments, significance, excess, b_std,
                     contrast, luminance, psf_fwhm)
    if calibration is None:
        calibration = load_score_calibration(planes.color)
    features = _score_features(table, psf_fwhm)
    table["score"] = calibration(features) if len(table) else np.zeros(0)
    maps = RegionMaps(galaxy_mask, galaxy_segments, disk_b, excess, significance, segments, float(psf_fwhm))
    keep = np.asarray(table["score"]) >= min_score
    table = conform(table[keep])
    table.meta.update(meta)
    if len(table) == 0:
        return nothing(f"no region scores {min_score} or more", maps)
    return (table, maps) if return_maps else table


def _measure(planes: _ColorPlanes, segments: SegmentationImage, parents: np.ndarray,
             galaxy_segments: SegmentationImage, significance: np.ndarray, excess: np.ndarray,
             b_std: np.ndarray, contrast: np.ndarray, luminance: np.ndarray, psf_fwhm: float) -> QTable:
    """One row per segment: positions, areas, colors, light and the features."""
    labels = segments.labels
    data = segments.data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        weights = np.where(np.isfinite(significance), np.clip(significance, 0.0, None), 0.0)
        # Centroids weighted by the knot's own light (the lightness contrast
        # over the disk) times its blue significance: the centre of what is
        # both a knot and blue, not the bluest edge of a segment that a red
        # bulge next door pulls the color peak to, nor a bright bulge at
        # the end of a blue segment. The tiny term keeps a centroid where
        # the contrast is 0.
        light_weights = np.where(np.isfinite(contrast), np.clip(contrast, 0.0, None), 0.0)
        positions = SourceCatalog(light_weights * weights + 1e-9 * weights, segments)
        # Local-background photometry (rectangular annulus, sigma-clipped
        # median): a smoothed disk overestimates the light under a knot on
        # a steep exponential profile.
        light = SourceCatalog(luminance, segments, mask=planes.mask,
                              local_bkg_width=max(2, int(round(psf_fwhm))))
        a_cat = SourceCatalog(planes.a, segments)
        b_cat = SourceCatalog(planes.b, segments)
        galaxy_light = SourceCatalog(luminance, galaxy_segments, mask=planes.mask)
    x = np.asarray(positions.x_centroid, dtype=np.float64)
    y = np.asarray(positions.y_centroid, dtype=np.float64)
    area = np.asarray(positions.area.value, dtype=np.float64)

    def per_label(values: np.ndarray, function=ndimage.mean) -> np.ndarray:
        return np.asarray(function(values, labels=data, index=labels), dtype=np.float64)

    a_mean = np.asarray(a_cat.segment_flux, dtype=np.float64) / area
    b_mean = np.asarray(b_cat.segment_flux, dtype=np.float64) / area
    # Pixel errors of a predicted color are correlated, so the mean of the
    # pixel uncertainties is the honest error of the mean, not sigma/sqrt(N).
    # True color has no ab_std: both channels get the measured b* noise.
    a_err = per_label(b_std if planes.a_std is None else planes.a_std)
    b_err = per_label(b_std if planes.b_std is None else planes.b_std)
    blue_excess = per_label(excess)
    peak_significance = per_label(significance, ndimage.maximum)
    region_light = np.asarray(light.segment_flux, dtype=np.float64)

    galaxy_ids = np.asarray([np.bincount(galaxy_segments.data[data == label]).argmax() for label in labels])
    gx = np.asarray(galaxy_light.x_centroid, dtype=np.float64)
    gy = np.asarray(galaxy_light.y_centroid, dtype=np.float64)
    total = np.asarray(galaxy_light.segment_flux, dtype=np.float64)
    half_light = np.asarray(galaxy_light.flux_radius(0.5).value, dtype=np.float64)
    index = np.searchsorted(galaxy_light.labels, np.maximum(galaxy_ids, 1))
    r_gal = np.hypot(x - gx[index], y - gy[index])

    flags = np.zeros(len(labels), dtype=np.int32)
    height, width = data.shape
    galaxy_edge = galaxy_segments.data > 0
    galaxy_edge = galaxy_edge & ~ndimage.binary_erosion(galaxy_edge)
    masked_near = ndimage.binary_dilation(planes.mask, iterations=1)
    # deblend_sources keeps a child inside its parent segment
    parent_of = [int(np.bincount(parents[data == label]).argmax()) for label in labels]
    siblings = np.bincount(parent_of)
    for row, (label, bbox) in enumerate(zip(labels, segments.bbox)):
        region = data == label
        value = 0
        if bbox.ixmin == 0 or bbox.iymin == 0 or bbox.ixmax == width or bbox.iymax == height \
                or (region & galaxy_edge).any():
            value |= RegionFlag.EDGE
        if (region & masked_near).any():
            value |= RegionFlag.MASKED
        if siblings[parent_of[row]] > 1:
            value |= RegionFlag.DEBLENDED
        if r_gal[row] < psf_fwhm:
            value |= RegionFlag.NUCLEUS
        if b_err[row] > blue_excess[row]:
            value |= RegionFlag.LOW_SNR_COLOR
        flags[row] = value

    ra = np.full(len(labels), np.nan)
    dec = np.full(len(labels), np.nan)
    if planes.wcs is not None and planes.wcs.has_celestial and len(labels):
        sky = planes.wcs.celestial.pixel_to_world(x, y)
        sky = sky.icrs if hasattr(sky, "icrs") else sky
        ra, dec = sky.ra.deg, sky.dec.deg

    with np.errstate(invalid="ignore", divide="ignore"):
        flux_fraction = region_light / total[index]
        r_gal_norm = r_gal / half_light[index]
    table = QTable()
    # Region ids follow the segmentation labels of RegionMaps.segmentation.
    table["id"] = np.asarray(labels, dtype=np.int64)
    table["galaxy_id"] = galaxy_ids.astype(np.int64)
    table["source"] = np.asarray([planes.source] * len(labels), dtype=str)
    table["x"] = x * u.pix
    table["y"] = y * u.pix
    table["ra"] = ra * u.deg
    table["dec"] = dec * u.deg
    table["area"] = area * u.pix ** 2
    table["flux_fraction"] = flux_fraction
    table["r_gal"] = r_gal * u.pix
    table["r_gal_norm"] = r_gal_norm
    table["a_mean"] = a_mean
    table["a_err"] = a_err
    table["b_mean"] = b_mean
    table["b_err"] = b_err
    table["blue_excess"] = blue_excess
    table["significance"] = peak_significance
    table["score"] = np.zeros(len(labels))
    table["flags"] = flags
    return table


def _score_features(table: QTable, psf_fwhm: float) -> np.ndarray:
    """The (N, len(SCORE_FEATURES)) feature array of a measured region table."""
    if len(table) == 0:
        return np.zeros((0, len(SCORE_FEATURES)))
    psf_area = _psf_area(psf_fwhm)
    columns = [
        np.log10(np.clip(np.asarray(table["significance"], dtype=np.float64), 1e-3, None)),
        np.asarray(table["blue_excess"], dtype=np.float64),
        np.log10(np.asarray(u.Quantity(table["area"]).value, dtype=np.float64) / psf_area),
        np.log10(np.clip(np.asarray(table["flux_fraction"], dtype=np.float64), 1e-4, None)),
        np.clip(np.asarray(table["r_gal_norm"], dtype=np.float64), 0.0, 10.0),
        np.asarray(table["b_mean"], dtype=np.float64),
        np.asarray(table["a_mean"], dtype=np.float64),
    ]
    b_mean, a_mean = columns[5], columns[6]
    columns += [b_mean ** 2, a_mean ** 2, a_mean * b_mean]
    features = np.stack(columns, axis=1)
    return np.nan_to_num(features, nan=0.0, posinf=10.0, neginf=-10.0)


# ----------------------------------------------------------------------------
# Truth matching and calibration


def match_regions(x: np.ndarray, y: np.ndarray, true_x: np.ndarray, true_y: np.ndarray,
                  radius: float) -> tuple[np.ndarray, np.ndarray]:
    """One-to-one matching of detections to true positions within ``radius``.

    Pairs are taken closest first (a greedy assignment, which equals the
    optimal one whenever true objects are further apart than twice the
    radius).

    Returns
    -------
    detected_match, true_match : numpy.ndarray of int
        For each detection the index of its true object (-1: none), and for
        each true object the index of its detection (-1: missed).

    Examples
    --------
    >>> from galcolor.analysis import match_regions
    >>> match_regions([0.0, 10.0], [0.0, 0.0], [0.5, 30.0], [0.0, 0.0], radius=2.0)
    (array([ 0, -1]), array([ 0, -1]))
    """
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    true_x, true_y = np.asarray(true_x, dtype=np.float64), np.asarray(true_y, dtype=np.float64)
    detected_match = np.full(x.size, -1)
    true_match = np.full(true_x.size, -1)
    if x.size == 0 or true_x.size == 0:
        return detected_match, true_match
    distance = np.hypot(x[:, None] - true_x[None, :], y[:, None] - true_y[None, :])
    for flat in np.argsort(distance, axis=None):
        i, j = np.unravel_index(flat, distance.shape)
        if distance[i, j] > radius:
            break
        if detected_match[i] < 0 and true_match[j] < 0:
            detected_match[i] = j
            true_match[j] = i
    return detected_match, true_match


def completeness_purity(n_true_found: int, n_true: int, n_correct: int, n_detected: int) -> tuple[float, float]:
    """Completeness (found / true) and purity (correct / detected); NaN for 0/0.

    Examples
    --------
    >>> from galcolor.analysis import completeness_purity
    >>> completeness_purity(17, 20, 18, 20)
    (0.85, 0.9)
    """
    completeness = n_true_found / n_true if n_true else float("nan")
    purity = n_correct / n_detected if n_detected else float("nan")
    return completeness, purity


def fit_score_calibration(features: np.ndarray, labels: np.ndarray, *, color: str,
                          l2: float = 1e-2, provenance: dict[str, Any] | None = None) -> ScoreCalibration:
    """Fit the logistic score model to labelled candidate regions.

    Parameters
    ----------
    features : numpy.ndarray, shape (N, len(SCORE_FEATURES))
        Features of candidates (``find_star_forming_regions(...,
        min_score=0)`` on simulated galaxies, see ``pipelines/calibrate_regions.py``).
    labels : numpy.ndarray of bool, shape (N,)
        True where the candidate matched a simulated clump.
    color : {"predicted", "true"}
    l2 : float, optional
        Ridge penalty on the standardised weights (keeps the fit stable when
        two features move together).

    Examples
    --------
    >>> import numpy as np
    >>> from galcolor.analysis import SCORE_FEATURES, fit_score_calibration
    >>> rng = np.random.default_rng(0)
    >>> features = rng.normal(size=(400, len(SCORE_FEATURES)))
    >>> labels = features[:, 0] + 0.3 * rng.normal(size=400) > 0
    >>> model = fit_score_calibration(features, labels, color="true")
    >>> float(((model(features) > 0.5) == labels).mean()) > 0.9
    True
    """
    features = np.asarray(features, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.float64)
    if features.ndim != 2 or features.shape[1] != len(SCORE_FEATURES):
        raise InputError(f"features must be (N, {len(SCORE_FEATURES)}), got {features.shape}")
    if labels.shape != (features.shape[0],):
        raise InputError(f"labels must be ({features.shape[0]},), got {labels.shape}")
    if labels.min(initial=1) == labels.max(initial=0):
        raise InputError("calibration needs both matched and unmatched candidates")
    mean = features.mean(axis=0)
    scale = features.std(axis=0)
    scale = np.where(scale > 0, scale, 1.0)
    z = (features - mean) / scale
    n = len(labels)

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        logit = theta[0] + z @ theta[1:]
        # log(1 + exp(-y*logit)) written stably.
        nll = np.logaddexp(0.0, logit) - labels * logit
        p = 1.0 / (1.0 + np.exp(-logit))
        grad = np.concatenate([[np.sum(p - labels)], z.T @ (p - labels)]) / n
        grad[1:] += l2 * theta[1:]
        return float(nll.mean() + 0.5 * l2 * np.sum(theta[1:] ** 2)), grad

    result = optimize.minimize(loss, np.zeros(z.shape[1] + 1), jac=True, method="L-BFGS-B")
    theta = result.x
    return ScoreCalibration(color=color, mean=tuple(float(v) for v in mean),
                            scale=tuple(float(v) for v in scale), coef=tuple(float(v) for v in theta[1:]),
                            intercept=float(theta[0]), provenance=dict(provenance or {}))


def score_features(table: QTable, psf_fwhm: float | None = None) -> np.ndarray:
    """The features :class:`ScoreCalibration` scores, from a region catalog.

    Parameters
    ----------
    table : astropy.table.QTable
        A catalog from :func:`find_star_forming_regions`.
    psf_fwhm : float, optional
        PSF FWHM in pixels; default: the one recorded in the catalog's
        ``parameters`` metadata.

    Returns
    -------
    numpy.ndarray, shape (N, len(SCORE_FEATURES))
    """
    if psf_fwhm is None:
        try:
            psf_fwhm = float(table.meta["parameters"]["psf_fwhm"])
        except (KeyError, TypeError) as error:
            raise InputError("the catalog records no psf_fwhm in meta['parameters']; pass psf_fwhm") from error
    return _score_features(table, psf_fwhm)


def resolve_blends(truth: QTable, psf_fwhm: float, *, link: float = BLEND_LINK) -> QTable:
    """Merge simulated clumps closer together than the PSF into blended clumps.

    Two clumps less than ``link`` PSF FWHMs apart make one knot in the
    image, in any color, and no detector can find both: a truth table
    with them as separate rows would count the second as missed however
    good the finder. Clumps are grouped friends-of-friends (a chain of
    clumps each within ``link`` FWHM of the next is one blend); each blend
    becomes one row at the g-light-weighted mean position, with the summed
    fluxes and ``flux_fraction_g``, and the id, kind and radius of its
    brightest member. Stars, companions and neighbours are left as they
    are. A ``n_members`` column counts the clumps in each row.

    Parameters
    ----------
    truth : astropy.table.QTable
        :attr:`galcolor.datasets.SimulatedGalaxy.truth`.
    psf_fwhm : float
        PSF FWHM in pixels.
    link : float, optional
        Linking length in PSF FWHMs.

    Returns
    -------
    astropy.table.QTable
        The truth table with blends merged, clumps first.

    Examples
    --------
    >>> from astropy import units as u
    >>> from astropy.table import QTable
    >>> from galcolor.analysis import resolve_blends
    >>> truth = QTable({"id": [1, 2, 3], "kind": ["clump", "clump", "clump"],
    ...                 "x": [10.0, 12.0, 30.0] * u.pix, "y": [10.0, 10.0, 10.0] * u.pix,
    ...                 "flux_g": [3.0, 1.0, 1.0] * u.nanomaggy, "flux_fraction_g": [0.06, 0.02, 0.02]})
    >>> blended = resolve_blends(truth, psf_fwhm=3.5)
    >>> blended["x"].value.tolist(), blended["flux_fraction_g"].tolist(), blended["n_members"].tolist()
    ([10.5, 30.0], [0.08, 0.02], [2, 1])
    """
    truth = QTable(truth, copy=True)
    kinds = np.asarray(truth["kind"], dtype=str) if len(truth) else np.zeros(0, dtype=str)
    clumps = np.flatnonzero(kinds == "clump")
    others = np.flatnonzero(kinds != "clump")
    if clumps.size == 0:
        truth["n_members"] = np.ones(len(truth), dtype=np.int32)
        return truth
    x = np.asarray(u.Quantity(truth["x"]).value, dtype=np.float64)[clumps]
    y = np.asarray(u.Quantity(truth["y"]).value, dtype=np.float64)[clumps]
    linked = np.hypot(x[:, None] - x[None, :], y[:, None] - y[None, :]) < link * psf_fwhm
    _, group = connected_components(linked, directed=False)
    light = np.asarray(truth["flux_fraction_g"], dtype=np.float64)[clumps]
    weights = np.clip(light, 1e-12, None)
    summed = [name for name in truth.colnames if name.startswith("flux_")]
    averaged = [name for name in ("x", "y", "ra", "dec") if name in truth.colnames]
    rows = []
    for label in np.unique(group):
        members = clumps[group == label]
        member_weights = weights[group == label]
        row = QTable(truth[[members[np.argmax(member_weights)]]], copy=True)
        for name in summed:
            row[name][0] = np.sum(truth[name][members])
        for name in averaged:
            column = u.Quantity(truth[name][members])
            row[name][0] = np.average(column.value, weights=member_weights) * column.unit
        row["n_members"] = np.array([members.size], dtype=np.int32)
        rows.append(row)
    if others.size:
        rest = QTable(truth[others], copy=True)
        rest["n_members"] = np.ones(others.size, dtype=np.int32)
        rows.append(rest)
    return vstack(rows)


def label_candidates(catalog: QTable, truth: QTable, *, psf_fwhm: float | None = None,
                     radius_factor: float = 1.5) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Match a region catalog to a simulated galaxy's truth table.

    Detections are matched one to one, closest first, to the true objects of
    every kind within ``radius_factor`` PSF FWHMs; a detection is correct
    when its match is a star-forming clump. Foreground stars, red companions
    and neighbours are in the truth table as hard negatives: a detection on
    one of them is wrong.

    Parameters
    ----------
    catalog : astropy.table.QTable
        From :func:`find_star_forming_regions`.
    truth : astropy.table.QTable
        :attr:`galcolor.datasets.SimulatedGalaxy.truth`.
    psf_fwhm : float, optional
        PSF FWHM in pixels; default: the catalog's ``parameters``.
    radius_factor : float, optional
        Matching radius in PSF FWHMs.

    Returns
    -------
    correct : numpy.ndarray of bool, shape (len(catalog),)
        The detection matched a clump.
    truth_match : numpy.ndarray of int, shape (len(truth),)
        Row of the detection matched to each true object, -1 when none.
    matched_kind : numpy.ndarray of str, shape (len(catalog),)
        Kind of the matched true object ("" when none).
    """
    if psf_fwhm is None:
        psf_fwhm = float(catalog.meta["parameters"]["psf_fwhm"])
    x = u.Quantity(catalog["x"]).value if len(catalog) else np.zeros(0)
    y = u.Quantity(catalog["y"]).value if len(catalog) else np.zeros(0)
    true_x = np.asarray(u.Quantity(truth["x"]).value if len(truth) else np.zeros(0), dtype=np.float64)
    true_y = np.asarray(u.Quantity(truth["y"]).value if len(truth) else np.zeros(0), dtype=np.float64)
    detected_match, truth_match = match_regions(x, y, true_x, true_y, radius_factor * psf_fwhm)
    kinds = np.asarray(truth["kind"], dtype=str) if len(truth) else np.zeros(0, dtype=str)
    matched_kind = np.asarray([kinds[j] if j >= 0 else "" for j in detected_match], dtype=str)
    return matched_kind == "clump", truth_match, matched_kind


def evaluate_on_simulation(galaxies: Sequence[Any], *, colors: Sequence[str] = ("predicted", "true"),
                           colorizer: Any = None, band: str = "r", progress: bool = True,
                           blend_link: float | None = BLEND_LINK, **find_options: Any):
    """Run the region finder on simulated galaxies and match it to their truth.

    The shared harness of ``pipelines/calibrate_regions.py`` (fitting the
    score) and ``benchmarks/bench_regions.py`` (completeness and purity).

    Parameters
    ----------
    galaxies : sequence of galcolor.datasets.SimulatedGalaxy
    colors : sequence of {"predicted", "true"}
        Predicted color colorizes ``band`` with ``colorizer``; true color
        uses the simulated gri composite.
    colorizer : galcolor.Colorizer, optional
        Default: ``galcolor.Colorizer()`` (the shipped model).
    band : str, optional
        The band that becomes the grey input.
    progress : bool, optional
        tqdm progress bar.
    blend_link : float or None, optional
        Clumps closer than this many PSF FWHMs are matched as one blend
        (:func:`resolve_blends`); None matches every simulated clump on
        its own.
    **find_options
        Passed to :func:`find_star_forming_regions` (``min_score=0`` keeps
        every candidate).

    Returns
    -------
    candidates : pandas.DataFrame
        One row per detection: ``galaxy``, ``color``, the catalog columns,
        the score features, ``correct`` and ``matched_kind``.
    truth : pandas.DataFrame
        One row per true object (blend) and color: ``galaxy``, ``color``,
        ``kind``, ``flux_fraction_g``, ``n_members``, ``r_centre_psf``
        (distance from the galaxy centre in PSF FWHMs), ``nearest_clump_psf``
        (distance to the nearest other clump or blend, PSF FWHMs), ``detection``
        (catalog ``id`` of its match, -1) and ``score`` (of that match, NaN
        when missed).
    """
    import pandas as pd
    from tqdm.auto import tqdm

    if colorizer is None and "predicted" in colors:
        from .inference import Colorizer

        colorizer = Colorizer()
    candidate_frames, truth_frames = [], []
    galaxies = list(galaxies)
    chunk = 16  # colorize in batches: one network call for many cutouts
    bar = tqdm(total=len(galaxies), desc="regions", unit="galaxy", disable=not progress)
    for start in range(0, len(galaxies), chunk):
        cutouts = [galaxy.to_cutout(band) for galaxy in galaxies[start:start + chunk]]
        predicted = colorizer(cutouts) if "predicted" in colors else [None] * len(cutouts)
        for offset, (cutout, colorized) in enumerate(zip(cutouts, predicted)):
            number = start + offset
            galaxy = galaxies[number]
            candidate_frames_galaxy, truth_frames_galaxy = _evaluate_one(
                galaxy, number, {"predicted": colorized, "true": cutout}, colors, blend_link, find_options)
            candidate_frames += candidate_frames_galaxy
            truth_frames += truth_frames_galaxy
            bar.update(1)
    bar.close()
    candidates = pd.concat(candidate_frames, ignore_index=True) if candidate_frames else pd.DataFrame()
    truth = pd.concat(truth_frames, ignore_index=True) if truth_frames else pd.DataFrame()
    return candidates, truth


def _evaluate_one(galaxy: Any, number: int, inputs: dict[str, Any], colors: Sequence[str],
                  blend_link: float | None, find_options: dict[str, Any]) -> tuple[list, list]:
    import pandas as pd

    candidate_frames, truth_frames = [], []
    for color in colors:
        data = inputs[color]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NoRegionsWarning)
            catalog = find_star_forming_regions(data, **find_options)
        psf = float(catalog.meta["parameters"]["psf_fwhm"])
        truth = galaxy.truth if blend_link is None else resolve_blends(galaxy.truth, psf, link=blend_link)
        correct, truth_match, matched_kind = label_candidates(catalog, truth, psf_fwhm=psf)
        frame = catalog.to_pandas() if len(catalog) else pd.DataFrame(columns=catalog.colnames)
        features = _score_features(catalog, psf)
        for column, name in enumerate(SCORE_FEATURES):
            frame[name] = features[:, column] if len(catalog) else []
        frame["correct"] = correct
        frame["matched_kind"] = matched_kind
        frame["psf_fwhm"] = psf
        frame.insert(0, "color", color)
        frame.insert(0, "galaxy", number)
        candidate_frames.append(frame)
        # The simulator draws the main galaxy at the centre of the frame.
        height, width = np.shape(data.lightness)
        true_x, true_y = np.asarray(u.Quantity(truth["x"]).value), np.asarray(u.Quantity(truth["y"]).value)
        r_centre = np.hypot(true_x - (width - 1) / 2.0, true_y - (height - 1) / 2.0) / psf
        # Distance to the nearest other clump (blend): completeness of crowded clumps is
        # limited by the resolution, that of isolated ones by the method.
        is_clump = np.asarray(truth["kind"], dtype=str) == "clump"
        separation = np.hypot(true_x[:, None] - true_x[None, :], true_y[:, None] - true_y[None, :]) / psf
        np.fill_diagonal(separation, np.inf)
        nearest_clump = np.min(np.where(is_clump[None, :], separation, np.inf), axis=1, initial=np.inf)
        scores = np.asarray(catalog["score"], dtype=np.float64) if len(catalog) else np.zeros(0)
        ids = np.asarray(catalog["id"]) if len(catalog) else np.zeros(0, dtype=np.int64)
        truth_frames.append(pd.DataFrame({
            "galaxy": number, "color": color, "kind": np.asarray(truth["kind"], dtype=str),
            "flux_fraction_g": np.asarray(truth["flux_fraction_g"], dtype=np.float64),
            "n_members": np.asarray(truth["n_members"]) if "n_members" in truth.colnames else 1,
            "r_centre_psf": r_centre,
            "nearest_clump_psf": nearest_clump,
            "detection": [int(ids[j]) if j >= 0 else -1 for j in truth_match],
            "score": [float(scores[j]) if j >= 0 else np.nan for j in truth_match],
            "psf_fwhm": psf,
        }))
    return candidate_frames, truth_frames
