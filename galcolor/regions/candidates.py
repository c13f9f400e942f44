"""Candidate knots from the light and from the color, each measured on both.

The contrast method (Mehta et al. 2021 on SDSS; the classical baseline of
clump finding): the lightness, as relative luminance, minus a smooth model
of the galaxy; where that contrast is significant over the pixel noise,
photutils segments it and deblends it into knots. A knot bluer than the
disk but with little light of its own (or whose light the model absorbed)
comes from the color: the b* of the disk beneath (a normalised Gaussian
average of the galaxy's b* with every candidate left out) minus the
PSF-smoothed b*, over its uncertainty. Every candidate, whichever way it was
found, is then measured on the light (contrast, significance, size, shape,
share of the galaxy's light, place in the disk) and on the color (a* and b*
excess over the disk beneath and their significance): the evidence that
:mod:`galcolor.regions.classifier` weighs.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from photutils.segmentation import SegmentationImage, SourceCatalog, detect_sources
from photutils.utils import NoDetectionsWarning
from scipy import ndimage
from skimage.morphology import local_maxima, reconstruction

from ..color import lightness_to_luminance
from .galaxy import host_galaxies
from .parameters import RegionParameters
from .planes import FWHM_PER_SIGMA, ColorPlanes, gaussian_kernel_norm, noise_by_lightness, smooth, smooth_many
from .segments import splittable_labels, deblend, split_at_markers

__all__ = ["KnotMaps", "knot_maps", "find_candidates", "measure_candidates", "ORIGIN_LIGHT", "ORIGIN_COLOR"]

#: Bits of a candidate's ``origin``: found in the light, in the color, or both.
ORIGIN_LIGHT = 1
ORIGIN_COLOR = 2


@dataclass(eq=False)
class KnotMaps:
    """The maps the candidates are found and measured on (all (H, W))."""

    luminance: np.ndarray
    luminance_psf: np.ndarray
    light_noise: np.ndarray  # noise of luminance_psf
    broad_light: np.ndarray  # luminance smoothed at the galaxy-model scale (all galaxy pixels)
    model: np.ndarray  # smooth galaxy light (luminance) with the knots left out
    contrast: np.ndarray  # PSF-smoothed luminance minus the model
    light_significance: np.ndarray  # contrast over its noise
    a_psf: np.ndarray
    b_psf: np.ndarray
    disk_a: np.ndarray  # a*, b* of the disk beneath (knots left out)
    disk_b: np.ndarray
    a_std: np.ndarray  # uncertainty of a PSF-smoothed a*, b* difference
    b_std: np.ndarray
    blue_significance: np.ndarray  # (disk_b - b_psf) / b_std
    valid: np.ndarray
    mirror_a: np.ndarray  # a*, b* (PSF-smoothed) of each pixel's point-symmetric counterpart (else the disk's)
    mirror_b: np.ndarray
    centres: list[tuple[float, float]] | None = None  # (y, x) centre of symmetry of each piece of valid


def _light_noise(luminance: np.ndarray, lightness: np.ndarray, sky: np.ndarray, psf_sigma: float) -> np.ndarray:
    """Noise of the PSF-smoothed luminance, per pixel, as a function of L (measured on the image)."""
    floor = 1e-4
    noise = noise_by_lightness(luminance, lightness, sky, floor)
    # The high-pass residual of a resampled (JPEG) frame understates the
    # noise at PSF scale, where neighbouring pixels are correlated: measure
    # the scatter of the smoothed image itself in the sky as a floor.
    smoothed = ndimage.gaussian_filter(luminance, psf_sigma)
    sky_values = smoothed[sky]
    sky_noise = 1.4826 * float(np.median(np.abs(sky_values - np.median(sky_values)))) if sky_values.size > 50 else 0.0
    return np.maximum(noise * gaussian_kernel_norm(psf_sigma), max(sky_noise, floor))


def _vertex(values: np.ndarray, row: int, col: int, axis: int) -> float:
    """Offset, in [-0.5, 0.5] pixels, of the vertex of a parabola through a maximum and its two neighbours."""
    index = [row, col]
    if index[axis] == 0 or index[axis] == values.shape[axis] - 1:
        return 0.0
    before, after = list(index), list(index)
    before[axis] -= 1
    after[axis] += 1
    low, mid, high = values[tuple(before)], values[row, col], values[tuple(after)]
    curvature = low - 2.0 * mid + high
    return float(np.clip(0.5 * (low - high) / curvature, -0.5, 0.5)) if curvature < 0 else 0.0


def _asymmetry_centre(light: np.ndarray, own: np.ndarray, guess: tuple[int, int], radius: float,
                      window: float) -> tuple[float, float]:
    """The point within ``radius`` of ``guess`` about which ``light`` is most nearly point-symmetric.

    The centre of the CAS asymmetry (Conselice 2000), measured on the
    logarithm of the light: the sum of ``|log I - log I rotated by 180
    degrees|`` over the pixels of ``own`` within ``window`` of ``guess``
    (light below 1 % of the brightest pixel there, and outside ``own``,
    counts as that 1 %), minimised over the whole-pixel centres within
    ``radius`` (a rotation about a pixel maps pixels onto pixels) and
    refined to a fraction of a pixel by a parabola through the minimum and
    its neighbours. On the logarithm every pixel of the disk weighs alike,
    so a knot brighter than the nucleus beside it, symmetric about itself
    only, cannot pull the centre far: on the linear light the centre of a
    synthetic disk with a knot of up to three times the nucleus's peak
    1-3 PSF away landed 1.3 px off (median), on its logarithm 0.3 px.
    """
    gy, gx = guess
    rows, cols = np.nonzero(own)
    span = max(int(np.ceil(radius)) + 1, int(np.ceil(window)))
    near = np.hypot(rows - gy, cols - gx) <= span
    rows, cols = rows[near], cols[near]
    if rows.size == 0:
        return float(gy), float(gx)
    floor = 0.01 * float(np.max(light[rows, cols]))
    if not floor > 0:
        return float(gy), float(gx)
    values = np.log(np.where(own, np.maximum(light, floor), floor))
    reach = max(1, int(np.ceil(radius)))
    pad = 2 * reach + span + 1
    padded = np.pad(values, pad, constant_values=np.log(floor))
    here = values[rows, cols]
    offsets = np.arange(-reach, reach + 1)
    asymmetry = np.full((offsets.size, offsets.size), np.inf)
    # the whole-pixel centres in the galaxy, many at once: one row of mirrored pixels per centre, in blocks of
    # about a million values (a 30 px PSF has ~8,000 centres and ~50,000 pixels in the window)
    centre_y, centre_x = np.meshgrid(gy + offsets, gx + offsets, indexing="ij")
    usable = (centre_y >= 0) & (centre_x >= 0) & (centre_y < own.shape[0]) & (centre_x < own.shape[1])
    usable[usable] = own[centre_y[usable], centre_x[usable]]
    cy, cx = centre_y[usable], centre_x[usable]
    values_at = np.empty(cy.size)
    block = max(1, 2**20 // rows.size)
    for start in range(0, cy.size, block):
        y, x = cy[start:start + block, None], cx[start:start + block, None]
        mirror = padded[2 * y - rows[None, :] + pad, 2 * x - cols[None, :] + pad]
        values_at[start:start + block] = np.abs(here[None, :] - mirror).sum(axis=1)
    asymmetry[usable] = values_at
    if not np.isfinite(asymmetry).any():
        return float(gy), float(gx)
    i, j = np.unravel_index(np.argmin(asymmetry), asymmetry.shape)
    score = -np.where(np.isfinite(asymmetry), asymmetry, asymmetry[i, j])
    return (gy + offsets[i] + _vertex(score, i, j, axis=0), gx + offsets[j] + _vertex(score, i, j, axis=1))


def _symmetric_model(light: np.ndarray, valid: np.ndarray, fallback: np.ndarray, smooth_light: np.ndarray,
                     psf_fwhm: float, centres: list[tuple[float, float]] | None = None
                     ) -> tuple[np.ndarray, list[tuple[float, float]], np.ndarray]:
    """The part of each galaxy's light that its 180-degree rotation shares: min(I, I rotated).

    Bulges, disks, bars and two-armed spirals are point-symmetric about the
    nucleus; a knot is not, so it stands out of this model however close to
    the nucleus it sits. Each connected piece of ``valid`` is rotated about
    its centre of symmetry (:func:`_asymmetry_centre`, searched within 1.5
    PSF FWHM of the peak of ``smooth_light``, the galaxy smoothed well
    beyond the PSF, over 4 FWHM around it); where the mirror image falls
    outside the piece, ``fallback`` is the model. (Rotating about the
    local maximum nearest that peak instead took a knot within about 1.5
    FWHM of the nucleus for the nucleus, so that the knot vanished from the
    contrast. Taking the light beyond the piece as the model where the
    mirror falls outside it, so that a knot that makes the galaxy's edge is
    centred right, found fewer injected knots in real galaxies: 0.865 of
    them against 0.887, 150 frames.) Returns the model and the centre of
    each piece, which a second call on the same ``light`` and ``valid``
    can pass as ``centres`` instead of searching again, and the (2, H, W)
    row and column of each pixel's mirror image (NaN where the model is
    ``fallback``).
    """
    model = fallback.copy()
    mirror = np.full((2,) + light.shape, np.nan)
    found = []
    pieces, _ = ndimage.label(valid)
    rows, cols = np.indices(light.shape, dtype=np.float64)
    radius, window = max(1.5 * psf_fwhm, 2.0), max(4.0 * psf_fwhm, 6.0)
    for number, box in enumerate(ndimage.find_objects(pieces), start=1):
        if box is None:
            continue
        own = pieces[box] == number
        if centres is None:
            broad = np.unravel_index(np.argmax(np.where(own, smooth_light[box], -np.inf)), own.shape)
            py, px = _asymmetry_centre(light[box], own, (int(broad[0]), int(broad[1])), radius, window)
            cy, cx = box[0].start + py, box[1].start + px
        else:
            cy, cx = centres[number - 1]
        found.append((cy, cx))
        mirror_y, mirror_x = 2.0 * cy - rows[box], 2.0 * cx - cols[box]
        inside = ndimage.map_coordinates((pieces == number).astype(np.float64), [mirror_y, mirror_x], order=0,
                                         mode="constant", cval=0.0) > 0.5
        rotated = ndimage.map_coordinates(light, [mirror_y, mirror_x], order=1, mode="nearest")
        use = own & inside
        model[box] = np.where(use, np.minimum(light[box], rotated), model[box])
        mirror[0][box] = np.where(use, mirror_y, mirror[0][box])
        mirror[1][box] = np.where(use, mirror_x, mirror[1][box])
    return model, found, mirror


def knot_maps(planes: ColorPlanes, galaxy_mask: np.ndarray, psf_fwhm: float, params: RegionParameters,
              exclude: np.ndarray | None = None, previous: KnotMaps | None = None) -> KnotMaps:
    """Light contrast, disk color and their significances over ``galaxy_mask``.

    ``exclude`` (pixels of knots found so far) is left out of the galaxy
    model and of the disk color; :func:`find_candidates` calls this twice,
    the second time without the knots of the first, passing the first maps
    as ``previous`` (what does not depend on ``exclude`` is reused).
    """
    psf_sigma = psf_fwhm / FWHM_PER_SIGMA
    valid = galaxy_mask & ~planes.mask
    weights = valid.astype(np.float64)
    model_sigma = max(params.contrast_scale * psf_fwhm / FWHM_PER_SIGMA, 1.5)
    if previous is None:
        luminance = lightness_to_luminance(np.clip(planes.lightness, 0.0, 100.0))
        sky = ~planes.mask & ~ndimage.binary_dilation(galaxy_mask, iterations=max(1, int(round(psf_fwhm))))
        if sky.sum() < 50:
            sky = ~planes.mask
        light_noise = _light_noise(luminance, planes.lightness, sky, psf_sigma)
        spread = [] if planes.b_spread is None else [planes.b_spread] + ([] if planes.a_std is None else [planes.a_std])
        luminance_psf, a_psf, b_psf, *spreads = smooth_many([luminance, planes.a, planes.b] + spread, weights,
                                                             psf_sigma)
        luminance_psf = np.nan_to_num(luminance_psf)
        broad_light = np.nan_to_num(smooth(luminance, weights, model_sigma))
        if planes.b_spread is None:  # true color: the pixel noise of b*, as a function of L
            noise = noise_by_lightness(planes.b, planes.lightness, ~planes.mask, params.min_color_std)
            b_std = a_std = noise * gaussian_kernel_norm(psf_sigma)
        else:  # predicted color: the spread of the prediction
            b_std = spreads[0]
            a_std = b_std if planes.a_std is None else spreads[1]
        b_std = np.maximum(np.nan_to_num(b_std, nan=params.min_color_std), params.min_color_std)
        a_std = np.maximum(np.nan_to_num(a_std, nan=params.min_color_std), params.min_color_std)
    else:
        luminance, luminance_psf, light_noise = previous.luminance, previous.luminance_psf, previous.light_noise
        a_psf, b_psf, a_std, b_std = previous.a_psf, previous.b_psf, previous.a_std, previous.b_std
        broad_light = previous.broad_light
    keep = weights if exclude is None else weights * ~exclude
    model = broad_light if exclude is None else np.nan_to_num(smooth(luminance, keep, model_sigma))
    centres, mirror = None, None
    if params.galaxy_model == "symmetric":
        model, centres, mirror = _symmetric_model(luminance_psf, valid, model, broad_light, psf_fwhm,
                                                  None if previous is None else previous.centres)
    contrast = np.where(valid, luminance_psf - model, np.nan)
    light_significance = contrast / light_noise
    disk_sigma = max(params.disk_color_scale * psf_fwhm / FWHM_PER_SIGMA, 2.0)
    disk_a, disk_b = smooth_many([planes.a, planes.b], keep, disk_sigma)
    blue_significance = np.where(valid, (disk_b - b_psf) / b_std, np.nan)
    mirror_a, mirror_b = _mirrored([a_psf, b_psf], [disk_a, disk_b], mirror, exclude)
    return KnotMaps(luminance, luminance_psf, light_noise, broad_light, model, contrast, light_significance, a_psf, b_psf,
                    disk_a, disk_b, a_std, b_std, blue_significance, valid, mirror_a, mirror_b, centres)


def _mirrored(maps: list[np.ndarray], fallbacks: list[np.ndarray], mirror: np.ndarray | None,
              exclude: np.ndarray | None) -> list[np.ndarray]:
    """Each map at every pixel's point-symmetric counterpart (:func:`_symmetric_model`'s ``mirror``).

    The color a knot would have without its own light: a point-symmetric
    galaxy has the same color on both sides of its centre, so the
    counterpart shows what lies beneath the knot, bulge or disk, at the
    same radius, where the disk color (a broad average, knots left out)
    mixes bulge and disk near the nucleus. Where there is no counterpart in
    the galaxy, or it is itself a knot (``exclude``), the ``fallbacks``.
    """
    if mirror is None:
        return list(fallbacks)
    rows, cols = np.nonzero(np.isfinite(mirror[0]))
    coordinates = mirror[:, rows, cols]
    if exclude is not None:
        near = np.clip(np.rint(coordinates).astype(np.int64), 0, np.asarray(exclude.shape)[:, None] - 1)
        keep = ~exclude[near[0], near[1]]
        rows, cols, coordinates = rows[keep], cols[keep], coordinates[:, keep]
    results = []
    for values, fallback in zip(maps, fallbacks):
        result = fallback.copy()
        if rows.size:
            found = ndimage.map_coordinates(values, coordinates, order=1, mode="nearest")
            result[rows, cols] = np.where(np.isfinite(found), found, fallback[rows, cols])
        results.append(result)
    return results


def _segments(detection: np.ndarray, threshold: float, min_area: int, valid: np.ndarray) -> SegmentationImage | None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NoDetectionsWarning)
        return detect_sources(np.where(np.isfinite(detection), detection, 0.0), threshold, min_area, mask=~valid)


def _relative_contrast(maps: KnotMaps) -> np.ndarray:
    """The contrast over the galaxy model (luminance over the model, minus 1); 0 where the model is not positive."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(maps.model > 0, maps.contrast / maps.model, 0.0)


def _light_detection(maps: KnotMaps, params: RegionParameters) -> np.ndarray:
    """Relative contrast (luminance over the galaxy model, minus 1) where the contrast is significant.

    A relative threshold, because the smooth model of a centrally peaked
    galaxy falls short of its light all along the inner ridge: significant
    at any S/N, but only by a few per cent, where a knot stands out by tens
    of per cent.
    """
    with np.errstate(invalid="ignore"):
        return np.where(maps.light_significance >= params.light_n_sigma, _relative_contrast(maps), 0.0)


def _split_knots(segments: SegmentationImage, contrast: np.ndarray, noise: np.ndarray, n_sigma: float,
                 min_area: int) -> tuple[SegmentationImage, set[int]]:
    """Segments split at each peak of ``contrast`` that rises ``n_sigma`` ``noise`` above its saddles.

    Two knots 1.5-2.5 PSF FWHM apart, seen in a contrast already smoothed
    by the PSF, dip by a few per cent between them: above the levels that
    :func:`~galcolor.regions.segments.deblend` resolves, yet a dip many
    times the noise. Each peak whose height over the highest saddle to a
    higher peak (its dynamic: the regional maxima of the morphological
    reconstruction of the contrast lowered by that height,
    :func:`skimage.morphology.reconstruction`) is at least ``n_sigma``
    times the segment's median ``noise`` seeds a
    watershed of the segment (:func:`skimage.segmentation.watershed` on the
    negative contrast); a segment stays whole when a piece would have
    fewer than ``min_area`` pixels. Returns the segments and the labels of
    the pieces of every split segment.
    """
    filled = np.where(np.isfinite(contrast), contrast, 0.0)

    def markers_of(values: np.ndarray, inside: np.ndarray,
                   box: tuple[slice, slice]) -> tuple[np.ndarray, int]:
        height = n_sigma * float(np.median(noise[box][inside]))
        # the regional maxima of the contrast lowered by ``height`` and rebuilt under it: one per peak of that dynamic
        # (equal peaks joined by a shallower dip are one plateau there, one knot)
        rebuilt = reconstruction(values - height, values, method="dilation")
        return ndimage.label(local_maxima(rebuilt, connectivity=2, allow_borders=True) & inside,
                             structure=np.ones((3, 3)))

    # a segment with a single regional maximum never splits (deblend's test)
    labels = splittable_labels(filled, segments, min_area)
    return split_at_markers(segments, filled, markers_of, min_area, labels=labels)


def _cores(segments: SegmentationImage, contrast: np.ndarray, radius: float) -> SegmentationImage:
    """Each segment cut to its pixels within ``radius`` of its peak of ``contrast`` (labels kept).

    A knot on a ridge of the contrast (an arm, a bar, the disk beside the
    nucleus) that is the ridge's only peak does not come apart from it at
    any threshold, so deblending leaves it in a segment many PSFs long:
    its centroid and mean color would be the ridge's. The core around the
    peak is where a compact knot is, whatever the segment's extent.
    """
    data = segments.data.copy()
    values = np.where(np.isfinite(contrast), contrast, -np.inf)
    for label, box in zip(segments.labels, segments.slices):
        inside = segments.data[box] == label
        peak = np.unravel_index(np.argmax(np.where(inside, values[box], -np.inf)), inside.shape)
        rows, cols = np.ogrid[:inside.shape[0], :inside.shape[1]]
        data[box][inside & (np.hypot(rows - peak[0], cols - peak[1]) > radius)] = 0
    return SegmentationImage(data)


def find_candidates(planes: ColorPlanes, galaxy_mask: np.ndarray, psf_fwhm: float, params: RegionParameters,
                    use_color: bool = True
                    ) -> tuple[SegmentationImage | None, np.ndarray, np.ndarray, KnotMaps, SegmentationImage | None]:
    """Candidate knots: segments of the light contrast, deblended, plus blue patches the light missed.

    Returns the segmentation (None when there is no candidate; a knot of
    light is the core of its segment, ``params.core_radius``), the
    ``origin`` bits of each label (:data:`ORIGIN_LIGHT`, :data:`ORIGIN_COLOR`),
    whether each label is one of several knots deblended from one segment of
    the light, the maps, computed with the candidates left out of the galaxy model
    and the disk color, and the segments the candidates were found in (the
    whole segment of light of each core; same labels).
    """
    min_area = params.min_area
    maps = knot_maps(planes, galaxy_mask, psf_fwhm, params)
    first = _segments(_light_detection(maps, params), params.min_contrast, min_area, maps.valid)
    if first is not None:  # once more with the knots out of the galaxy model: it no longer eats their light
        grow = max(1, int(round(0.5 * psf_fwhm)))
        maps = knot_maps(planes, galaxy_mask, psf_fwhm, params,
                         exclude=ndimage.binary_dilation(first.data > 0, iterations=grow), previous=maps)
    light = _segments(_light_detection(maps, params), params.min_contrast, min_area, maps.valid)
    split = set()
    if light is not None:
        light, pieces = deblend(np.nan_to_num(maps.contrast), light, min_area, n_levels=params.deblend_levels,
                                contrast=params.deblend_contrast)
        split = {int(label) for label in light.labels[pieces]}
        if params.split_peaks:
            light, peaks_split = _split_knots(light, maps.contrast, maps.light_noise, params.light_n_sigma, min_area)
            split |= peaks_split
    # the segments of light before their cores: a blue patch within one is that knot's color, not a candidate
    whole = np.zeros(galaxy_mask.shape, dtype=np.int32) if light is None else light.data.astype(np.int32)
    if light is not None and params.core_radius > 0:
        light = _cores(light, maps.contrast, params.core_radius * psf_fwhm)
    data = whole.copy() if light is None else light.data.astype(np.int32)
    origin = {int(label): ORIGIN_LIGHT for label in np.unique(data) if label}
    if use_color and planes.color != "none":
        blue = _segments(maps.blue_significance, params.min_significance, min_area, maps.valid)
        if blue is not None:
            next_label = int(data.max()) + 1
            for label, box in zip(blue.labels, blue.slices):
                inside = blue.data[box] == label
                overlap = whole[box][inside]
                if (overlap > 0).mean() >= 0.5:  # mostly a light candidate: that one is blue too
                    for hit in np.unique(overlap[overlap > 0]):
                        origin[int(hit)] |= ORIGIN_COLOR
                    continue
                own = inside & (whole[box] == 0)
                if own.sum() < min_area:
                    continue
                data[box][own] = next_label
                origin[next_label] = ORIGIN_COLOR
                next_label += 1
    if not origin:
        return None, np.zeros(0, dtype=np.int32), np.zeros(0, dtype=bool), maps, None
    segments = SegmentationImage(data)
    # without cores, the candidates are their segments
    parents = segments if light is None or params.core_radius <= 0 \
        else SegmentationImage(np.where(whole > 0, whole, data))
    return (segments, np.asarray([origin[int(label)] for label in segments.labels], dtype=np.int32),
            np.isin(segments.labels, list(split)), maps, parents)


def _galaxy_light(luminance: np.ndarray, segment: np.ndarray, mask: np.ndarray) -> tuple[float, float, float, float]:
    """Light-weighted centroid (x, y), total luminance and half-light radius of one galaxy segment.

    The half-light radius is that of the circle about the centroid holding
    half the segment's light (pixels sorted by distance, light summed).
    """
    rows, cols = np.nonzero(segment & ~mask)
    light = np.clip(luminance[rows, cols], 0.0, None)
    total = float(light.sum())
    if rows.size == 0 or total <= 0:
        return float("nan"), float("nan"), float("nan"), float("nan")
    cx, cy = float((cols * light).sum() / total), float((rows * light).sum() / total)
    distance = np.hypot(cols - cx, rows - cy)
    order = np.argsort(distance)
    cumulative = np.cumsum(light[order])
    half = float(distance[order][np.searchsorted(cumulative, 0.5 * total)])
    return cx, cy, total, max(half, 0.5)


def measure_candidates(segments: SegmentationImage, maps: KnotMaps, galaxy_segments: SegmentationImage,
                       mask: np.ndarray, psf_fwhm: float,
                       parents: SegmentationImage | None = None) -> dict[str, np.ndarray]:
    """The light and color measurements of each candidate, by column name (one value per label).

    The shape of the light (``area``, ``size_psf``, ``elongation``) is
    measured over the segment each candidate was found in (``parents``,
    same labels; default ``segments``): a knot alone in its segment fills
    it, a knot on an arm has the arm's extent. Everything else over
    ``segments``, the candidates' cores.

    Light: centroid of the positive contrast, area, ``light_significance``
    (peak), ``contrast`` (peak contrast over the galaxy model there),
    ``flux_fraction`` (the knot's contrast light over its galaxy's
    luminance), ``size_psf`` (FWHM of the contrast's second moments over
    the PSF's), ``elongation``, ``r_gal`` and ``r_gal_norm`` (distance from
    the galaxy's light centroid, in pixels and half-light radii). Color:
    contrast-weighted ``a_mean``, ``b_mean`` of the PSF-smoothed color,
    ``blue_excess`` (disk b* minus the knot's, positive: bluer),
    ``a_excess`` (disk a* minus the knot's, positive: less red), their
    uncertainties ``a_err``, ``b_err``, ``significance`` (peak blue
    excess over its uncertainty), and ``mirror_blue_excess``,
    ``mirror_a_excess``: the same against the color at the knot's
    point-symmetric counterpart in the galaxy (:func:`_mirrored`), what
    lies beneath it at the same radius.
    """
    labels = segments.labels
    data = segments.data
    positive = np.where(np.isfinite(maps.contrast), np.clip(maps.contrast, 0.0, None), 0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        light = SourceCatalog(positive + 1e-12, segments)
        shape = light if parents is None or parents is segments else SourceCatalog(positive + 1e-12, parents)
    x = np.asarray(light.x_centroid, dtype=np.float64)
    y = np.asarray(light.y_centroid, dtype=np.float64)
    flux = np.asarray(light.segment_flux, dtype=np.float64)
    area = np.asarray(shape.area.value, dtype=np.float64)
    second = np.asarray(shape.semimajor_axis.value, dtype=np.float64) ** 2 \
        + np.asarray(shape.semiminor_axis.value, dtype=np.float64) ** 2
    size_psf = FWHM_PER_SIGMA * np.sqrt(np.clip(second / 2.0, 0.0, None)) / psf_fwhm
    elongation = np.nan_to_num(np.asarray(shape.elongation.value, dtype=np.float64), nan=1.0)

    inside = data > 0
    position = np.searchsorted(labels, data[inside])  # labels are sorted

    def finite(values: np.ndarray) -> np.ndarray:
        return np.where(np.isfinite(values), values, 0.0)[inside]

    def label_sum(values: np.ndarray) -> np.ndarray:
        return np.bincount(position, weights=finite(values), minlength=len(labels)).astype(np.float64)

    def label_max(values: np.ndarray) -> np.ndarray:
        result = np.full(len(labels), -np.inf)
        np.maximum.at(result, position, finite(values))
        return result

    weight = positive + 1e-6 * (data > 0)
    weight_sum = label_sum(weight)

    def weighted(values: np.ndarray) -> np.ndarray:
        return label_sum(np.where(np.isfinite(values), values, 0.0) * weight) / weight_sum

    galaxy_ids = np.maximum(host_galaxies(segments, galaxy_segments), 1)
    galaxies = {label: _galaxy_light(maps.luminance, galaxy_segments.data == label, mask)
                for label in np.unique(galaxy_ids)}
    gx, gy, total, half_light = (np.asarray([galaxies[g][k] for g in galaxy_ids], dtype=np.float64)
                                 for k in range(4))
    r_gal = np.hypot(x - gx, y - gy)
    b_mean, a_mean = weighted(maps.b_psf), weighted(maps.a_psf)
    disk_b, disk_a = weighted(maps.disk_b), weighted(maps.disk_a)
    mirror_b, mirror_a = weighted(maps.mirror_b), weighted(maps.mirror_a)
    b_err, a_err = weighted(maps.b_std), weighted(maps.a_std)
    with np.errstate(invalid="ignore", divide="ignore"):
        return {
            "x": x, "y": y, "area": area, "galaxy_id": galaxy_ids,
            "light_significance": label_max(maps.light_significance),
            "contrast": label_max(_relative_contrast(maps)),
            "flux_fraction": flux / total,
            "size_psf": size_psf,
            "elongation": elongation,
            "r_gal": r_gal,
            "r_gal_norm": r_gal / np.maximum(half_light, 1e-6),
            "a_mean": a_mean, "b_mean": b_mean, "a_err": a_err, "b_err": b_err,
            "blue_excess": disk_b - b_mean,
            "a_excess": disk_a - a_mean,
            "mirror_blue_excess": mirror_b - b_mean,
            "mirror_a_excess": mirror_a - a_mean,
            "significance": label_max(maps.blue_significance),
        }

