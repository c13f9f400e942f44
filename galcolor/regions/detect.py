"""Find star-forming regions: candidates from the light and the color, measured and scored.

See :mod:`galcolor.regions` for the method, step by step.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Mapping

import numpy as np
from astropy import units as u
from astropy.table import QTable
from photutils.segmentation import SegmentationImage, SourceCatalog, detect_sources
from photutils.utils import NoDetectionsWarning
from scipy import ndimage
from skimage.feature import peak_local_max

from .._version import __version__
from ..catalog import RegionFlag, conform, empty_table
from ..colorization import Colorization
from ..exceptions import GalcolorWarning, InputError
from ..io import Cutout
from ..io.fitsfile import sky_axes
from .candidates import ORIGIN_COLOR, find_candidates, measure_candidates
from .classifier import RegionClassifier, knot_features, load_region_classifier
from .disk import disk_maps
from .galaxy import central_component, galaxy_segmentation, host_galaxies
from .parameters import RegionParameters
from .planes import FWHM_PER_SIGMA, ColorPlanes, color_planes, smooth
from .psf import lightness_psf_fwhm, psf_fwhm_pixels
from .score import ScoreCalibration, load_score_calibration, score_features
from .segments import deblend, split_at_markers

__all__ = ["NoRegionsWarning", "UncalibratedScoreWarning", "RegionMaps", "find_star_forming_regions",
           "merged_candidates"]


class NoRegionsWarning(GalcolorWarning):
    """No star-forming region (or no galaxy) was found; the catalog is empty."""


class UncalibratedScoreWarning(GalcolorWarning):
    """The colorizer's weights have no region-score calibration: scores are 0.5 (``calibration: none``)."""


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
    contrast, light_significance : numpy.ndarray or None
        The lightness contrast (PSF-smoothed luminance minus the smooth
        galaxy model) and its significance (``candidates="light+color"``
        only; NaN outside the galaxies).
    """

    galaxy_mask: np.ndarray
    galaxy_segmentation: SegmentationImage | None
    disk_b: np.ndarray
    blue_excess: np.ndarray
    significance: np.ndarray
    segmentation: SegmentationImage | None
    psf_fwhm: float
    contrast: np.ndarray | None = None
    light_significance: np.ndarray | None = None


def find_star_forming_regions(
    data: Colorization | Cutout,
    params: RegionParameters | None = None,
    *,
    calibration: RegionClassifier | ScoreCalibration | Mapping[str, Any] | None = None,
    return_maps: bool = False,
    **overrides: Any,
) -> QTable | tuple[QTable, RegionMaps]:
    """Find compact knots of light and blue patches in a galaxy and score them as star-forming regions.

    Parameters
    ----------
    data : galcolor.Colorization or galcolor.Cutout
        A colorized image (predicted color), a cutout with ``truth_rgb``
        (true color: the same method on the real color, for comparison), or
        a cutout without color (its light alone).
    params : RegionParameters, optional
        Every parameter of the finder; default ``RegionParameters()``.
    calibration : RegionClassifier, ScoreCalibration or dict, optional
        Score model; default: the shipped one for the evidence in hand (a
        :class:`RegionClassifier` of the kind in ``meta["evidence"]``; a
        :class:`ScoreCalibration` for ``candidates="color"``). A dict maps
        kinds of evidence to classifiers.
    return_maps : bool, optional
        Also return the :class:`RegionMaps`.
    **overrides
        Any field of :class:`RegionParameters` by name, replacing the one in
        ``params``; the most used:

        - ``candidates`` ("light+color"): knots of light and blue patches,
          or ``"color"`` (galcolor 0.1's color-excess method);
        - ``color_evidence`` (True): False scores on the light alone;
        - ``min_significance`` (2.5): detection threshold on the blue excess
          over its uncertainty;
        - ``min_area`` (5): fewest connected pixels in a region;
        - ``min_score`` (0.5): keep regions whose calibrated score is at
          least this (0 keeps every candidate, for precision-recall curves);
        - ``galaxies`` ("central"): the galaxy at (or nearest) the centre, or
          ``"all"`` galaxies in the frame (wide fields);
        - ``psf_fwhm`` (None): PSF FWHM in pixels; default from the header
          (:func:`psf_fwhm_pixels`);
        - ``galaxy_n_sigma`` (2.0): galaxy segmentation threshold in sky sigmas;
        - ``min_lightness`` (8.0): regions are searched only where the
          PSF-smoothed L reaches this.

    Returns
    -------
    astropy.table.QTable or (QTable, RegionMaps)
        One row per region, with the columns of
        :data:`galcolor.catalog.REGION_COLUMNS` and metadata naming the
        source, the model, its weights, the score calibration and every
        parameter (``meta["parameters"]``, with the PSF FWHM that was used:
        :meth:`RegionParameters.from_meta` rebuilds them). No region gives
        an empty table with the full schema and a :class:`NoRegionsWarning`.

    Examples
    --------
    A simulated galaxy, its true color, and the clumps the simulator put
    there:

    >>> from galcolor.datasets import simulate
    >>> from galcolor.regions import find_star_forming_regions
    >>> from galcolor.evaluation import label_candidates
    >>> galaxy = simulate(1, size=96, seed=20, max_clumps=4, star_rate=0)[0]
    >>> regions = find_star_forming_regions(galaxy.to_cutout("r"))
    >>> regions.colnames[:4]
    ['id', 'galaxy_id', 'source', 'x']
    >>> bool(((regions["score"] >= 0.5) & (regions["score"] <= 1)).all())
    True
    >>> correct, _, _ = label_candidates(regions, galaxy.truth)
    >>> len(regions), int(correct.sum()), int((galaxy.truth["kind"] == "clump").sum())
    (3, 3, 4)
    >>> regions.meta["evidence"], regions.meta["calibration"]
    ('true', 'galcolor (true)')

    The same galaxy seen in one band, without any color: its knots of light
    alone, scored by the lightness classifier, which is surer of fewer of
    them:

    >>> grey = galaxy.to_cutout("r")
    >>> grey.truth_rgb = None
    >>> alone = find_star_forming_regions(grey)
    >>> correct, _, _ = label_candidates(alone, galaxy.truth)
    >>> len(alone), int(correct.sum()), alone.meta["evidence"]
    (2, 2, 'lightness')

    The same catalog again from its own metadata:

    >>> from galcolor.regions import RegionParameters
    >>> again = find_star_forming_regions(galaxy.to_cutout("r"), RegionParameters.from_meta(regions.meta))
    >>> bool((again["score"] == regions["score"]).all())
    True
    """
    params = params or RegionParameters()
    if overrides:
        params = params.replace(**overrides)
    planes = color_planes(data, allow_grey=params.candidates == "light+color")
    lightness = np.asarray(planes.lightness, dtype=np.float64)
    finite = np.isfinite(lightness) & np.isfinite(planes.a) & np.isfinite(planes.b)
    mask = np.asarray(planes.mask, dtype=bool) | ~finite
    planes.mask = mask
    planes.lightness = np.where(mask, 0.0, lightness)
    planes.a = np.where(mask, 0.0, planes.a).astype(np.float64)
    planes.b = np.where(mask, 0.0, planes.b).astype(np.float64)
    psf_fwhm, psf_source = _psf(planes, params)
    params = params.replace(psf_fwhm=float(psf_fwhm))
    if params.candidates == "light+color":
        kind = planes.color if params.color_evidence and planes.color != "none" else "lightness"
    else:
        kind = planes.color
    calibration = _calibration(calibration, kind, params, planes)
    meta = {"source": planes.source, "color": planes.color, "evidence": kind,
            "model": str(planes.meta.get("model", "")),
            "weights_sha256": str(planes.meta.get("weights_sha256", "")),
            "galcolor_version": __version__,
            "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "calibration": calibration.source or "user",
            "psf_source": psf_source,
            "parameters": params.to_dict()}
    shape = lightness.shape
    nan_map = np.full(shape, np.nan)

    def nothing(reason: str, maps: RegionMaps) -> QTable | tuple[QTable, RegionMaps]:
        warnings.warn(f"{planes.source}: {reason}; the catalog is empty", NoRegionsWarning, stacklevel=3)
        table = empty_table(meta=meta)
        return (table, maps) if return_maps else table

    if mask.all() or np.ptp(planes.lightness[~mask]) == 0:
        maps = RegionMaps(np.zeros(shape, bool), None, nan_map, nan_map, nan_map, None, float(psf_fwhm))
        return nothing("the image is empty or constant", maps)
    smoothed = np.nan_to_num(smooth(planes.lightness, (~mask).astype(np.float64), psf_fwhm / FWHM_PER_SIGMA))
    # Neighbours are split off by their color only where it is measured (a composite's true color; and in
    # galcolor 0.1's color-only search, its own recipe): the predicted color of a compact source follows its
    # shape, so a bright blue clump painted like a bulge or a star was split off as a red neighbour, and the
    # light alone uses no color at all.
    measured_color = kind == "true" or params.candidates == "color"
    galaxy_segments = galaxy_segmentation(planes.lightness, smoothed, mask, psf_fwhm, params,
                                          b=planes.b if measured_color else None)
    if galaxy_segments is None or galaxy_segments.n_labels == 0:
        maps = RegionMaps(np.zeros(shape, bool), None, nan_map, nan_map, nan_map, None, float(psf_fwhm))
        return nothing("no galaxy was found", maps)
    galaxy_mask = (galaxy_segments.data > 0) & (smoothed >= params.min_lightness)
    if params.galaxies == "central":
        # Above min_lightness a neighbour that touched the galaxy in the
        # faint outskirts comes apart from it: keep the central piece.
        galaxy_mask = central_component(galaxy_mask)
    if not galaxy_mask.any():
        maps = RegionMaps(galaxy_mask, galaxy_segments, nan_map, nan_map, nan_map, None, float(psf_fwhm))
        return nothing(f"no galaxy pixel reaches L = {params.min_lightness}", maps)
    if params.candidates == "light+color":
        segments, origin, deblended, knots, parents = find_candidates(planes, galaxy_mask, psf_fwhm, params,
                                                             use_color=kind != "lightness")
        excess = np.where(knots.valid, knots.disk_b - knots.b_psf, np.nan)
        disk_b = np.where(knots.valid, knots.disk_b, np.nan)
        maps = RegionMaps(galaxy_mask, galaxy_segments, disk_b, excess, knots.blue_significance, segments,
                          float(psf_fwhm), knots.contrast, knots.light_significance)
        if segments is None:
            return nothing("no knot of light or color was found", maps)
        # the columns by name: the catalog is built once, from the rows that are kept
        rows = _measure_knots(planes, segments, origin, deblended, knots, galaxy_segments, psf_fwhm, parents)
        features = knot_features(rows, kind, psf_fwhm)
    else:
        rows, maps = _color_regions(planes, galaxy_mask, galaxy_segments, psf_fwhm, params)
        if rows is None:
            return nothing("no region is bluer than its disk", maps)
        features = score_features(rows, psf_fwhm)
    score = calibration(features) if len(features) else np.zeros(0)
    keep = score >= params.min_score
    if params.candidates == "light+color" and params.merge_radius > 0:
        keep &= ~merged_candidates(u.Quantity(rows["x"]).value, u.Quantity(rows["y"]).value, score,
                                   params.merge_radius * psf_fwhm)
    if not keep.any():  # nothing to build a catalog from
        return nothing(f"no region scores {params.min_score} or more", maps)
    rows["score"] = score
    table = conform(rows[keep] if isinstance(rows, QTable) else {name: values[keep] for name, values in rows.items()})
    table.meta.update(meta)
    return (table, maps) if return_maps else table


def merged_candidates(x: np.ndarray, y: np.ndarray, score: np.ndarray, radius: float) -> np.ndarray:
    """Which candidates lie within ``radius`` pixels of a higher-scoring one that stays.

    Greedy, from the highest score down (ties in input order): the merge
    :attr:`RegionParameters.merge_radius <galcolor.regions.RegionParameters>`
    applies to a catalog, and the region benchmark to its scored candidates.

    Examples
    --------
    >>> import numpy as np
    >>> from galcolor.regions import merged_candidates
    >>> merged_candidates(np.array([0.0, 1.0, 5.0]), np.zeros(3), np.array([0.4, 0.9, 0.2]), 2.0).tolist()
    [True, False, False]
    """
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    merged = np.zeros(len(x), dtype=bool)
    kept: list[int] = []
    for row in np.argsort(-np.asarray(score, dtype=np.float64), kind="stable"):
        if kept and np.min(np.hypot(x[kept] - x[row], y[kept] - y[row])) < radius:
            merged[row] = True
        else:
            kept.append(row)
    return merged


def _psf(planes: ColorPlanes, params: RegionParameters) -> tuple[float, str]:
    """The PSF FWHM in pixels and where it came from (``parameters``, ``header``, ``stars``, ``default``)."""
    if params.psf_fwhm is not None:
        return float(params.psf_fwhm), "parameters"
    has_wcs = planes.wcs is not None and planes.wcs.has_celestial
    if not has_wcs and params.psf_from_stars:
        measured, _ = lightness_psf_fwhm(planes.lightness, planes.mask)
        if measured is not None and math.isfinite(measured) and measured >= 1.0:
            return float(measured), "stars"
    psf_fwhm = psf_fwhm_pixels(planes.header, planes.wcs, default_seeing=params.default_seeing)
    if not (psf_fwhm > 0 and math.isfinite(psf_fwhm)):
        raise InputError(f"{planes.source}: the header gives no usable PSF FWHM ({psf_fwhm}); pass psf_fwhm")
    return float(psf_fwhm), "header" if has_wcs else "default"


def _calibration(calibration: RegionClassifier | ScoreCalibration | Mapping[str, Any] | None, kind: str,
                 params: RegionParameters,
                 planes: ColorPlanes) -> RegionClassifier | ScoreCalibration:
    """The score model for this kind of evidence: the one passed, else the shipped one."""
    wanted = RegionClassifier if params.candidates == "light+color" else ScoreCalibration
    if isinstance(calibration, Mapping):  # one per kind of evidence (process(color="both"))
        calibration = calibration.get(kind)
    if calibration is not None:
        if not isinstance(calibration, wanted):
            raise InputError(f"candidates={params.candidates!r} is scored by a {wanted.__name__}, "
                             f"got a {type(calibration).__name__}")
        if isinstance(calibration, RegionClassifier) and calibration.kind != kind:
            raise InputError(f"{planes.source}: the evidence is {kind}, the classifier is for {calibration.kind}")
        return calibration
    sha = planes.meta.get("weights_sha256") or None
    if wanted is RegionClassifier:
        found = load_region_classifier(kind, weights_sha256=sha if kind == "predicted" else None)
    else:
        found = load_score_calibration(planes.color, weights_sha256=sha)
    if found is None:
        warnings.warn(f"{planes.source}: the weights {str(sha)[:16]}... are not "
                      "a shipped model's and have no region-score calibration; every candidate scores 0.5 "
                      "(the catalog's metadata says calibration: none). Fit one with "
                      f"pipelines/{'fit_region_classifiers' if wanted is RegionClassifier else 'calibrate_regions'}.py "
                      "and pass it as calibration=", UncalibratedScoreWarning,
                      stacklevel=3)
        found = wanted.uninformative(kind)
    return found


def _flags(segments: SegmentationImage, galaxy_segments: SegmentationImage, mask: np.ndarray,
           nucleus: np.ndarray, low_snr_color: np.ndarray, deblended: np.ndarray | None = None) -> np.ndarray:
    """The :class:`~galcolor.catalog.RegionFlag` bits of each segment.

    EDGE: the segment touches the image edge or its galaxy's boundary;
    MASKED: it touches a masked pixel; the other bits come per row.
    """
    height, width = segments.data.shape
    galaxy_edge = galaxy_segments.data > 0
    galaxy_edge = galaxy_edge & ~ndimage.binary_erosion(galaxy_edge)
    masked_near = ndimage.binary_dilation(mask, iterations=1)
    flags = np.zeros(len(segments.labels), dtype=np.int32)
    for row, (label, bbox, box) in enumerate(zip(segments.labels, segments.bbox, segments.slices)):
        region = segments.data[box] == label
        value = 0
        if bbox.ixmin == 0 or bbox.iymin == 0 or bbox.ixmax == width or bbox.iymax == height \
                or (region & galaxy_edge[box]).any():
            value |= RegionFlag.EDGE
        if (region & masked_near[box]).any():
            value |= RegionFlag.MASKED
        if deblended is not None and deblended[row]:
            value |= RegionFlag.DEBLENDED
        if nucleus[row]:
            value |= RegionFlag.NUCLEUS
        if low_snr_color[row]:
            value |= RegionFlag.LOW_SNR_COLOR
        flags[row] = value
    return flags


def _sky_positions(planes: ColorPlanes, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """ICRS ra, dec in degrees of pixel positions (NaN without a celestial WCS)."""
    if planes.wcs is None or not planes.wcs.has_celestial or not len(x):
        return np.full(len(x), np.nan), np.full(len(x), np.nan)
    sky = sky_axes(planes.wcs).pixel_to_world(x, y)
    sky = sky.icrs if hasattr(sky, "icrs") else sky
    return np.asarray(sky.ra.deg, dtype=np.float64), np.asarray(sky.dec.deg, dtype=np.float64)


def _measure_knots(planes: ColorPlanes, segments: SegmentationImage, origin: np.ndarray, deblended: np.ndarray,
                   knots: Any, galaxy_segments: SegmentationImage, psf_fwhm: float,
                   parents: SegmentationImage | None = None) -> dict[str, Any]:
    """The catalog columns, by name, of light-and-color candidates (score still 0)."""
    values = measure_candidates(segments, knots, galaxy_segments, planes.mask, psf_fwhm, parents)
    labels = segments.labels
    x, y = values["x"], values["y"]
    flags = _flags(segments, galaxy_segments, planes.mask, values["r_gal"] < psf_fwhm,
                   values["b_err"] > values["blue_excess"], deblended=deblended)
    ra, dec = _sky_positions(planes, x, y)
    columns = {"id": np.asarray(labels, dtype=np.int64), "galaxy_id": values["galaxy_id"].astype(np.int64),
               "source": np.asarray([planes.source] * len(labels), dtype=str),
               "x": x * u.pix, "y": y * u.pix, "ra": ra * u.deg, "dec": dec * u.deg,
               "area": values["area"] * u.pix ** 2, "r_gal": values["r_gal"] * u.pix}
    for name in ("flux_fraction", "r_gal_norm", "a_mean", "a_err", "b_mean", "b_err", "blue_excess", "significance",
                 "a_excess", "mirror_blue_excess", "mirror_a_excess", "light_significance", "contrast", "size_psf",
                 "elongation"):
        columns[name] = values[name]
    if planes.color == "none":  # no color was searched: the color columns say so
        for name in ("a_mean", "a_err", "b_mean", "b_err", "blue_excess", "significance", "a_excess",
                     "mirror_blue_excess", "mirror_a_excess"):
            columns[name] = np.full(len(labels), np.nan)
    columns.update(origin=np.asarray(origin, dtype=np.int32), score=np.zeros(len(labels)), flags=flags)
    return columns


def _color_regions(planes: ColorPlanes, galaxy_mask: np.ndarray, galaxy_segments: SegmentationImage,
                   psf_fwhm: float, params: RegionParameters) -> tuple[QTable | None, RegionMaps]:
    """galcolor 0.1's candidates: blue excess over the disk-color model, split on the light."""
    disk_b, excess, b_std, significance, contrast, sharp_contrast, luminance = disk_maps(
        planes, np.where(galaxy_mask, galaxy_segments.data, 0), psf_fwhm, params)
    detection = np.where(np.isfinite(significance), significance, 0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NoDetectionsWarning)
        segments = detect_sources(detection, params.min_significance, params.min_area, mask=~galaxy_mask)
    if segments is None:
        return None, RegionMaps(galaxy_mask, galaxy_segments, disk_b, excess, significance, None, float(psf_fwhm))
    parents = segments.data.copy()
    # Split on the unsmoothed contrast: neighbouring knots stay separate peaks.
    deblend_data = np.where(np.isfinite(sharp_contrast), np.clip(sharp_contrast, 0.0, None), 0.0) \
        + 1e-9 * detection
    segments, _ = deblend(deblend_data, segments, params.min_area, n_levels=params.deblend_levels,
                          contrast=params.deblend_contrast)
    if params.split_peaks:
        segments = _split_peaks(segments, deblend_data, psf_fwhm, params)
    table = _measure(planes, segments, parents, galaxy_segments, significance, excess, b_std,
                     contrast, luminance, psf_fwhm)
    return table, RegionMaps(galaxy_mask, galaxy_segments, disk_b, excess, significance, segments, float(psf_fwhm))


def _split_peaks(segments: SegmentationImage, contrast: np.ndarray, psf_fwhm: float,
                 params: RegionParameters) -> SegmentationImage:
    """Split regions at the separate peaks of their lightness contrast.

    In each region, the local maxima of the contrast (smoothed by a
    Gaussian of ``params.peak_smoothing`` PSF FWHM) at least
    ``params.peak_separation`` FWHM apart and with at least
    ``params.peak_min_ratio`` of the region's brightest peak seed a watershed
    of the region (:func:`skimage.segmentation.watershed` on the negative
    contrast). A region stays whole if it has one such peak, or if a piece
    would have fewer than ``params.min_area`` pixels. Knots 1-1.3 FWHM apart
    (common in clumpy disks) dip by only a few per cent between them, below
    the contrast levels :func:`~photutils.segmentation.deblend_sources`
    resolves, but their maxima stay apart.
    """
    sigma = params.peak_smoothing * psf_fwhm / FWHM_PER_SIGMA
    smoothed = ndimage.gaussian_filter(contrast, sigma) if sigma > 0 else contrast
    distance = max(1, int(round(params.peak_separation * psf_fwhm)))

    def markers_of(values: np.ndarray, inside: np.ndarray,
                   box: tuple[slice, slice]) -> tuple[np.ndarray, int]:
        peaks = peak_local_max(values, min_distance=distance, labels=inside.astype(np.int32),
                               exclude_border=False)
        if len(peaks) >= 2:
            heights = values[tuple(peaks.T)]
            peaks = peaks[heights >= params.peak_min_ratio * heights.max()]
        markers = np.zeros(inside.shape, dtype=np.int32)
        markers[tuple(peaks.T)] = np.arange(1, len(peaks) + 1)
        return markers, len(peaks)

    return split_at_markers(segments, smoothed, markers_of, params.min_area)[0]


def _measure(planes: ColorPlanes, segments: SegmentationImage, parents: np.ndarray,
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

    galaxy_ids = host_galaxies(segments, galaxy_segments)
    gx = np.asarray(galaxy_light.x_centroid, dtype=np.float64)
    gy = np.asarray(galaxy_light.y_centroid, dtype=np.float64)
    total = np.asarray(galaxy_light.segment_flux, dtype=np.float64)
    half_light = np.asarray(galaxy_light.flux_radius(0.5).value, dtype=np.float64)
    index = np.searchsorted(galaxy_light.labels, np.maximum(galaxy_ids, 1))
    r_gal = np.hypot(x - gx[index], y - gy[index])

    # deblend_sources keeps a child inside its parent segment
    parent_of = [int(np.bincount(parents[data == label]).argmax()) for label in labels]
    siblings = np.bincount(parent_of)
    flags = _flags(segments, galaxy_segments, planes.mask, r_gal < psf_fwhm, b_err > blue_excess,
                   deblended=siblings[parent_of] > 1)

    ra, dec = _sky_positions(planes, x, y)

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
    nothing_measured = np.full(len(labels), np.nan)
    for name in ("a_excess", "mirror_blue_excess", "mirror_a_excess", "light_significance", "contrast", "size_psf",
                 "elongation"):
        table[name] = nothing_measured
    table["origin"] = np.full(len(labels), ORIGIN_COLOR, dtype=np.int32)
    table["score"] = np.zeros(len(labels))
    table["flags"] = flags
    return table
