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


def split_neighbors(segments: SegmentationImage, smoothed: np.ndarray, b: np.ndarray, valid: np.ndarray,
                    min_pixels: int, params: RegionParameters, labels: np.ndarray | None = None) -> SegmentationImage:
    """Split off the stars and galaxies that touch a galaxy's segment.

    Each segment is deblended on the PSF-smoothed luminance
    (:func:`~galcolor.regions.segments.deblend`, contrast
    ``params.neighbor_contrast``). A piece becomes a segment of its own when
    the b* of its light that the galaxy's far side does not match (a piece
    reaching into the faint disk around a star is mostly disk by area, not
    by that light) is more than ``params.neighbor_red_excess`` above the
    median b* of the segment's main piece (for the central segment the brightest of the piece
    at the image centre and those peaking within
    ``params.neighbor_centre_radius`` of it, else the brightest), or when
    it has at least ``params.neighbor_flux_ratio`` of the whole segment's
    light; either way only when at least ``params.neighbor_asymmetry`` of
    its light is not matched on the far side of the main piece's peak
    (:func:`_unmatched_light`): a star or galaxy on the disk is not,
    a part of the disk itself is. Fainter, bluer pieces (clumps) stay, so
    the galaxy keeps its clumps, while a red neighbour or a bright star no
    longer distorts its shape and disk color profile, nor passes for a blue
    clump. (Without the symmetry test a bright knot took half a disk into
    its own piece, which then held 40 % of the light and was split off with
    the knot; so were the parts of a blue galaxy redder than its main
    piece, and a galaxy whose frame centre fell on a knot beside its
    nucleus. With the sky measured around the sources as well, clumps
    injected into Galaxy Zoo val frames inside the galaxy went from 788 of
    824 to 802.) ``labels`` limits the splitting to those segments
    (default: all).
    """
    luminance = lightness_to_luminance(np.clip(smoothed, 0.0, 100.0))
    pieces, _ = deblend(luminance, segments, min_pixels, n_levels=params.deblend_levels,
                        contrast=params.neighbor_contrast, labels=labels)
    if pieces.n_labels == segments.n_labels:
        return segments
    height, width = smoothed.shape
    centre = (int(round((height - 1) / 2)), int(round((width - 1) / 2)))
    # per piece: total luminance, median b* over its valid pixels (NaN without any), parent segment
    piece_labels = pieces.labels
    light = dict(zip(piece_labels, ndimage.sum(luminance, pieces.data, piece_labels)))
    median_b = _median_by_label(b, np.where(valid, pieces.data, 0), piece_labels)
    parent_of = dict(zip(piece_labels, ndimage.maximum(segments.data, pieces.data, piece_labels).astype(int)))
    peak = dict(zip(piece_labels, ndimage.maximum_position(luminance, pieces.data, piece_labels)))
    data = segments.data.copy()
    next_label = int(data.max()) + 1
    central = pieces.data[centre]
    reach = params.neighbor_centre_radius * min(height, width)
    for parent in segments.labels:
        labels = [label for label in piece_labels if parent_of[label] == parent]
        if len(labels) < 2:
            continue
        main = max(labels, key=light.get)
        if central in labels:
            near = [label for label in labels if label == central or math.dist(peak[label], centre) <= reach]
            main = max(near, key=light.get)
        total = sum(light[label] for label in labels)
        for label in labels:
            if label == main:
                continue
            unmatched, excess_b = _unmatched_light(luminance, b, valid, pieces.data == label, peak[main])
            if unmatched < params.neighbor_asymmetry:
                continue  # a part of the disk, matched on the far side
            redder = excess_b > median_b[main] + params.neighbor_red_excess
            brighter = light[label] >= params.neighbor_flux_ratio * total
            if redder or brighter:
                data[pieces.data == label] = next_label
                next_label += 1
    return SegmentationImage(data)


def _median_by_label(values: np.ndarray, labelled: np.ndarray, labels: np.ndarray) -> dict[int, float]:
    """Median of ``values`` over the pixels of each label of ``labelled`` (NaN for a label with none)."""
    result = dict.fromkeys(labels, np.nan)
    present = np.unique(labelled)
    present = present[present > 0]
    if present.size:
        result.update(zip(present, ndimage.median(values, labelled, present)))
    return result


def _unmatched_light(luminance: np.ndarray, b: np.ndarray, valid: np.ndarray, piece: np.ndarray,
                     centre: tuple[int, int]) -> tuple[float, float]:
    """The share of a piece's light its point-symmetric counterpart about ``centre`` does not match, and its b*.

    The light is ``max(0, I - I rotated by 180 degrees)`` (light beyond the
    image counts as none); the share is its sum over the piece's; the b*
    is the mean over the piece's valid pixels weighted by it (NaN without
    any). A star or galaxy on a disk has nearly all its light unmatched,
    and that light is its own, whatever the faint disk around it that its
    piece takes in; a part of the disk itself is matched but for its knots.
    """
    rows, cols = np.nonzero(piece)
    mirror_rows, mirror_cols = 2 * centre[0] - rows, 2 * centre[1] - cols
    inside = ((mirror_rows >= 0) & (mirror_rows < luminance.shape[0])
              & (mirror_cols >= 0) & (mirror_cols < luminance.shape[1]))
    mirrored = np.zeros(rows.size)
    mirrored[inside] = luminance[mirror_rows[inside], mirror_cols[inside]]
    own = luminance[rows, cols]
    excess = np.clip(own - mirrored, 0.0, None)
    total = float(own.sum())
    weights = np.where(valid[rows, cols], excess, 0.0)
    color = float(np.average(b[rows, cols], weights=weights)) if weights.sum() > 0 else math.nan
    return (float(excess.sum()) / total if total > 0 else 1.0), color


def _sky_segments(lightness: np.ndarray, smoothed: np.ndarray, mask: np.ndarray, psf_fwhm: float, min_pixels: int,
                  params: RegionParameters) -> SegmentationImage | None:
    """Segments of ``smoothed`` above the sky of ``lightness`` plus ``params.galaxy_n_sigma`` of its noise.

    The sky level and noise are sigma-clipped statistics of the pixels
    outside the sources (:func:`photutils.segmentation.detect_threshold`),
    the sources being the segments found at the previous threshold, grown
    by one PSF FWHM (:meth:`~photutils.segmentation.SegmentationImage.make_source_mask`),
    ``params.sky_iterations`` times. Clipping alone takes a galaxy that
    fills most of the frame for the sky: in the 212 px centres of Galaxy Zoo
    frames the threshold was L 27-53 where the sky is L 1-3, and the
    segment kept only the galaxy's core (36 of 824 injected clumps fell
    outside it). Stops early when fewer than 5 % of the pixels (or 100)
    would be left for the sky.
    """
    sky = mask
    grow = 2 * max(1, int(round(psf_fwhm))) + 1
    enough = max(100, int(0.05 * lightness.size))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AstropyUserWarning)
        warnings.simplefilter("ignore", NoDetectionsWarning)
        for iteration in range(params.sky_iterations + 1):
            threshold = detect_threshold(lightness, n_sigma=params.galaxy_n_sigma, mask=sky)
            # The sky of a stretched image is ~0 with little spread: keep the
            # threshold above the faintest L that can still be told from sky.
            threshold = np.maximum(threshold, params.galaxy_threshold_floor)
            segments = detect_sources(smoothed, threshold, min_pixels, mask=mask)
            if segments is None or iteration == params.sky_iterations:
                return segments
            sources = mask | segments.make_source_mask(size=grow)
            if np.count_nonzero(~sources) < enough or np.array_equal(sources, sky):
                return segments
            sky = sources
    return segments


def galaxy_segmentation(lightness: np.ndarray, smoothed: np.ndarray, mask: np.ndarray, psf_fwhm: float,
                        params: RegionParameters, b: np.ndarray | None = None) -> SegmentationImage | None:
    """Segments of the galaxies to analyse, relabelled 1 (central), 2, ...

    ``smoothed`` is the PSF-smoothed lightness (0 where undefined): the
    segmentation runs on it, with the threshold from the sky of ``lightness``.
    With ``b`` (the b* map) and ``params.split_neighbors``, redder or
    brighter neighbors touching a galaxy are split off (:func:`split_neighbors`).
    ``params.galaxies`` keeps the central galaxy or all of them;
    ``params.galaxy_n_sigma`` sets the threshold.
    """
    min_pixels = max(int(round(params.galaxy_min_psf_areas * psf_area(psf_fwhm))), 9)
    segments = _sky_segments(lightness, smoothed, mask, psf_fwhm, min_pixels, params)
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

    if b is not None and params.split_neighbors:
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
