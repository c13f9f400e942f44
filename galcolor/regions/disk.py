"""The color of the disk beneath each region, and the blue excess over it.

The disk color is modelled in three parts, with knots excluded (iterated):
the median b* in elliptical annuli corrected per angle sector, its residual
averaged over the galaxy folded about its axes, and a Gaussian smoothing of
what is left (arms, bars); see :func:`disk_maps`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import ndimage

from ..color import lightness_to_luminance
from .galaxy import elliptical_coordinates
from .parameters import RegionParameters
from .planes import FWHM_PER_SIGMA, ColorPlanes, gaussian_kernel_norm, noise_by_lightness, psf_area, smooth

__all__ = ["disk_profile", "disk_maps"]


def _folded_correction(values: np.ndarray, model: np.ndarray, major: np.ndarray, minor: np.ndarray,
                       use: np.ndarray, sigma: float, prior_pixels: float) -> np.ndarray:
    """``model`` plus its residual over ``use`` averaged over the galaxy folded onto one quadrant.

    Bulge and disk are both symmetric about the galaxy's axes, so the four
    mirror images of a pixel share its smooth color, whatever the shapes
    of bulge and disk. Folded onto one quadrant (``major``, ``minor``: the
    absolute offsets along the axes, in pixels), the residual of ``values``
    from ``model`` is averaged with a Gaussian of ``sigma`` pixels (mirrored
    at the axes) and pulled to 0 by ``prior_pixels`` pixels of
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
    prior = prior_pixels / (2.0 * math.pi * sigma ** 2)  # one pixel's kernel weight at its own place
    correction = total / (weight + prior)
    return model + ndimage.map_coordinates(correction, [major, minor], order=1, mode="nearest")


def _sector_profile(values: np.ndarray, radius: np.ndarray, angle: np.ndarray, use: np.ndarray,
                    step: float, min_pixels: int, sectors: int, sector_step: float) -> np.ndarray:
    """The all-angle :func:`_radial_profile` plus a correction per folded angle sector.

    A round red bulge in an inclined bluer disk reaches further out in
    elliptical radius along the minor axis than along the major axis, so
    one profile per annulus is too red on the major axis and too blue on
    the minor axis (and the disk beside the bulge on the major axis looks
    like a pair of blue clumps). In each of ``sectors`` sectors
    the median of ``values`` minus the all-angle profile is taken in annuli
    of ``sector_step * step`` that hold at least ``min_pixels`` pixels (so
    that a clump cannot be its own background), with the correction 0 at
    the centre, where all sectors meet; between sector centres the
    correction is interpolated linearly in angle.
    """
    overall = _radial_profile(values, radius, use, step)
    residual = values - overall
    edges = np.linspace(0.0, math.pi / 2, sectors + 1)
    centres = 0.5 * (edges[:-1] + edges[1:])
    corrections = []
    for low, high in zip(edges[:-1], edges[1:]):
        inside = use & (angle >= low) & (angle <= high)
        knots, medians = _annulus_medians(radius[inside], residual[inside], sector_step * step, min_pixels)
        corrections.append(np.interp(radius, [0.0] + knots, [0.0] + medians))
    position = np.interp(angle, centres, np.arange(sectors, dtype=np.float64))
    lower = np.floor(position).astype(int)
    upper = np.minimum(lower + 1, sectors - 1)
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


def disk_profile(b: np.ndarray, galaxy_labels: np.ndarray, disk_pixels: np.ndarray,
                 geometry: list[tuple[Any, ...]], step: float, min_pixels: int | None,
                 params: RegionParameters, fold_sigma: float | None = None) -> np.ndarray:
    """Each galaxy's median ``b`` in elliptical annulus sectors over its ``disk_pixels``, 0 elsewhere.

    ``min_pixels=None`` takes the all-angle profile (:func:`_radial_profile`);
    a ``fold_sigma`` adds the :func:`_folded_correction` of the sector profile.
    ``geometry`` holds, per galaxy, its bounding box, label and
    :func:`~galcolor.regions.galaxy.elliptical_coordinates`.
    """
    profile = np.zeros(b.shape)
    for box, label, radius, angle, major, minor in geometry:
        own = galaxy_labels[box] == label
        use = own & disk_pixels[box]
        if min_pixels is None:
            values = _radial_profile(b[box], radius, use, step)
        else:
            values = _sector_profile(b[box], radius, angle, use, step, min_pixels, params.profile_sectors,
                                     params.sector_step)
            if fold_sigma is not None:
                values = _folded_correction(b[box], values, major, minor, use, fold_sigma,
                                            params.fold_prior_pixels)
        profile[box] = np.where(own, values, profile[box])
    return profile


def disk_maps(planes: ColorPlanes, galaxy_labels: np.ndarray, psf_fwhm: float,
              params: RegionParameters) -> tuple[np.ndarray, ...]:
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
    A knot is bluer than the model by ``params.min_significance`` and brighter
    than the elliptical light profile (``params.knot_light_ratio``); blue but faint
    patches stay in the fit, which learns them. ``galaxy_labels`` numbers
    the pixels of each analysed galaxy (0 elsewhere): each has its own
    profile.
    """
    psf_sigma = psf_fwhm / FWHM_PER_SIGMA
    disk_sigma = max(params.disk_scale * psf_fwhm, 3.0)
    galaxy_mask = galaxy_labels > 0
    valid = galaxy_mask & ~planes.mask
    weights = valid.astype(np.float64)
    b_psf = smooth(planes.b, weights, psf_sigma)
    luminance = lightness_to_luminance(planes.lightness)
    luminance_psf = smooth(luminance, weights, psf_sigma)

    if planes.b_spread is None:
        sky = ~planes.mask
        noise = noise_by_lightness(planes.b, planes.lightness, sky, params.min_color_std)
        b_std = noise * gaussian_kernel_norm(psf_sigma)
    else:
        b_std = smooth(planes.b_spread, weights, psf_sigma)
    b_std = np.maximum(np.nan_to_num(b_std, nan=params.min_color_std), params.min_color_std)

    labels = np.where(valid, galaxy_labels, 0)
    geometry = [(box, label, *elliptical_coordinates(labels[box] == label, luminance[box]))
                for label, box in enumerate(ndimage.find_objects(labels), start=1) if box is not None]
    step = max(params.profile_step * psf_fwhm, 1.0)
    sector_pixels = max(int(round(params.sector_min_psf_areas * psf_area(psf_fwhm))), 10)
    # Knots are brighter than the disk around them. The color geometry of
    # a round red bulge in an inclined disk leaves blue-looking pairs on the
    # major axis that are fainter than the elliptical light profile there:
    # excluding them from the disk fit would only keep the fit from
    # learning them, so the fit excludes bright blue pixels only.
    knot_light = params.knot_light_ratio * disk_profile(luminance_psf, labels, valid, geometry, step, None,
                                                        params)
    # Pixels bluer than the sector profile alone and brighter than the light
    # profile stay out of the disk fit throughout: in the folded part a pair
    # of knots at mirror places would otherwise be each other's background.
    # (Any blue is enough here: a knot near the bulge need not be
    # significant against the sector profile.)
    with np.errstate(invalid="ignore"):
        sector = disk_profile(b_psf, labels, valid, geometry, step, sector_pixels, params)
        seed = valid & (b_psf < sector) & (luminance_psf > knot_light)
    seed = ndimage.binary_dilation(seed, iterations=1) & valid
    fold_sigma = max(params.fold_scale * psf_sigma, 0.5)
    candidates = np.zeros_like(galaxy_mask)
    for _ in range(params.disk_iterations):
        disk_pixels = valid & ~candidates & ~seed
        profile = disk_profile(b_psf, labels, disk_pixels, geometry, step, sector_pixels, params, fold_sigma)
        residual = smooth(np.where(disk_pixels, b_psf - profile, 0.0), disk_pixels.astype(np.float64),
                           disk_sigma)
        disk_b = profile + np.nan_to_num(residual)
        excess = disk_b - b_psf
        with np.errstate(invalid="ignore"):
            new = valid & (excess > params.min_significance * b_std) & (luminance_psf > knot_light)
        new = ndimage.binary_dilation(new, iterations=1) & valid
        if np.array_equal(new, candidates):
            break
        candidates = new
    disk_luminance = smooth(luminance, weights * ~candidates, disk_sigma)
    excess = np.where(valid, disk_b - b_psf, np.nan)
    significance = excess / b_std
    contrast = np.where(valid, luminance_psf - disk_luminance, np.nan)
    sharp_contrast = np.where(valid, luminance - disk_luminance, np.nan)
    return np.where(valid, disk_b, np.nan), excess, b_std, significance, contrast, sharp_contrast, luminance
