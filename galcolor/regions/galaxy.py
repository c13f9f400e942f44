"""The galaxies of an image: segmentation, neighbors split off, elliptical geometry."""

from __future__ import annotations

import math
import warnings

import numpy as np
from astropy.utils.exceptions import AstropyUserWarning
from photutils.segmentation import SegmentationImage, detect_sources, detect_threshold
from photutils.utils import NoDetectionsWarning
from scipy import ndimage

from ..color import lightness_to_luminance
from .parameters import RegionParameters
from .planes import psf_area
from .segments import deblend

__all__ = ["split_neighbors", "galaxy_segmentation", "host_galaxies", "central_component", "elliptical_coordinates"]


def split_neighbors(segments: SegmentationImage, smoothed: np.ndarray, b: np.ndarray | None, valid: np.ndarray,
                    min_pixels: int, params: RegionParameters, labels: np.ndarray | None = None) -> SegmentationImage:
    """Split off the stars and galaxies that touch a galaxy's segment.

    Each segment is deblended on the PSF-smoothed luminance
    (:func:`~galcolor.regions.segments.deblend`, contrast
    ``params.neighbor_contrast``). A piece becomes a segment of its own when
    its median b* is more than ``params.neighbor_red_excess`` above that of
    the segment's main piece (the one at the image centre for the central
    segment, else the brightest), or when it has at least
    ``params.neighbor_flux_ratio`` of the whole segment's light. Fainter, bluer
    pieces (clumps) stay, so the galaxy keeps its clumps, while a red
    neighbour or a bright star no longer distorts its shape and disk color
    profile, nor passes for a blue clump. Without ``b`` (no measured
    color) only the light decides. ``labels`` limits the splitting to
    those segments (default: all).
    """
    luminance = lightness_to_luminance(np.clip(smoothed, 0.0, 100.0))
    pieces, _ = deblend(luminance, segments, min_pixels, n_levels=params.deblend_levels,
                        contrast=params.neighbor_contrast, labels=labels)
    if pieces.n_labels == segments.n_labels:
        return segments
    height, width = smoothed.shape
    centre = (int(round((height - 1) / 2)), int(round((width - 1) / 2)))
    # per piece: total luminance, median b* over valid pixels (NaN without any), parent segment
    piece_labels = pieces.labels
    light = dict(zip(piece_labels, ndimage.sum(luminance, pieces.data, piece_labels)))
    median_b = dict.fromkeys(piece_labels, np.nan)  # NaN: never redder
    if b is not None:
        valid_pieces = np.where(valid, pieces.data, 0)
        measured = np.unique(valid_pieces)
        measured = measured[measured > 0]
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
            redder = median_b[label] > median_b[main] + params.neighbor_red_excess
            brighter = light[label] >= params.neighbor_flux_ratio * total
            if redder or brighter:
                data[pieces.data == label] = next_label
                next_label += 1
    return SegmentationImage(data)


def galaxy_segmentation(lightness: np.ndarray, smoothed: np.ndarray, mask: np.ndarray, psf_fwhm: float,
                        params: RegionParameters, b: np.ndarray | None = None) -> SegmentationImage | None:
    """Segments of the galaxies to analyse, relabelled 1 (central), 2, ...

    ``smoothed`` is the PSF-smoothed lightness (0 where undefined): the
    segmentation runs on it, with the threshold from the sky of ``lightness``.
    With ``params.split_neighbors``, brighter neighbors touching a galaxy
    are split off, and with ``b`` (a measured b* map) redder ones too
    (:func:`split_neighbors`).
    ``params.galaxies`` keeps the central galaxy or all of them;
    ``params.galaxy_n_sigma`` sets the threshold.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AstropyUserWarning)
        warnings.simplefilter("ignore", NoDetectionsWarning)
        threshold = detect_threshold(lightness, n_sigma=params.galaxy_n_sigma, mask=mask)
        # The sky of a stretched image is ~0 with little spread: keep the
        # threshold above the faintest L that can still be told from sky.
        threshold = np.maximum(threshold, params.galaxy_threshold_floor)
        min_pixels = max(int(round(params.galaxy_min_psf_areas * psf_area(psf_fwhm))), 9)
        segments = detect_sources(smoothed, threshold, min_pixels, mask=mask)
    if segments is None:
        return None
    height, width = lightness.shape
    centre = ((height - 1) / 2.0, (width - 1) / 2.0)

    def by_distance(segments: SegmentationImage) -> tuple[np.ndarray, np.ndarray]:
        """The labels, nearest the centre first, and their distances."""
        data, labels = segments.data, segments.labels
        rows, cols = np.nonzero(data)
        nearest = np.full(labels.max() + 1, np.inf)
        np.minimum.at(nearest, data[rows, cols], np.hypot(rows - centre[0], cols - centre[1]))
        order = np.argsort(nearest[labels], kind="stable")
        return labels[order], nearest[labels[order]]

    if params.split_neighbors:
        # Only the central galaxy is kept: a piece of another segment is no
        # nearer the centre than its segment, so only the nearest need splitting.
        split = None
        if params.galaxies == "central":
            labels, distance = by_distance(segments)
            split = labels[distance == distance[0]]
        segments = split_neighbors(segments, smoothed, b, ~mask, min_pixels, params, labels=split)
    data = segments.data
    labels, _ = by_distance(segments)
    order = [int(label) for label in labels]
    keep = order[:1] if params.galaxies == "central" else order
    mapping = np.zeros(labels.max() + 1, dtype=np.int32)
    for new, label in enumerate(keep, start=1):
        mapping[label] = new
    return SegmentationImage(mapping[data])


def host_galaxies(segments: SegmentationImage, galaxy_segments: SegmentationImage) -> np.ndarray:
    """The label of ``galaxy_segments`` that covers most of each segment (0: mostly outside every galaxy)."""
    return np.asarray([np.bincount(galaxy_segments.data[box][segments.data[box] == label]).argmax()
                       for label, box in zip(segments.labels, segments.slices)], dtype=np.int64)


def central_component(mask: np.ndarray) -> np.ndarray:
    """The connected part of ``mask`` at, or nearest to, the image centre."""
    pieces, count = ndimage.label(mask)
    if count <= 1:
        return mask
    rows, cols = np.nonzero(pieces)
    centre = ((mask.shape[0] - 1) / 2.0, (mask.shape[1] - 1) / 2.0)
    nearest = np.argmin(np.hypot(rows - centre[0], cols - centre[1]))
    return pieces == pieces[rows[nearest], cols[nearest]]


def elliptical_coordinates(valid: np.ndarray, light: np.ndarray) -> tuple[np.ndarray, ...]:
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
