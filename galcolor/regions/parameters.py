"""Every knob of the region finder, in one frozen dataclass.

A catalog written by :func:`~galcolor.regions.find_star_forming_regions`
holds its :class:`RegionParameters` whole in ``meta["parameters"]``, so
that :meth:`RegionParameters.from_meta` rebuilds them and the same input
gives the same rows again.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Mapping

from ..exceptions import InputError

__all__ = ["RegionParameters"]


@dataclass(frozen=True)
class RegionParameters:
    """The parameters of :func:`~galcolor.regions.find_star_forming_regions`.

    The first group is what a user sets most often; the rest are the tuning
    of the galaxy segmentation, the disk-color model and the splitting of
    regions, with the values the benchmarks were measured with (see
    ``docs/benchmarks.rst``). Lengths are in PSF FWHMs unless said otherwise.

    Attributes
    ----------
    candidates : {"light+color", "color"}
        Where candidates come from: compact knots in the light (the contrast
        method) plus blue patches the light missed, each scored on both kinds
        of evidence by a :class:`~galcolor.regions.RegionClassifier`; or
        ``"color"``, galcolor 0.1's method (blue excess over a disk-color
        model only, scored by a logistic :class:`~galcolor.regions.ScoreCalibration`),
        kept for comparison.
    color_evidence : bool
        Score with the color (the ``predicted`` or ``true`` classifier); False
        scores the light alone (the ``lightness`` classifier), the baseline
        that says what color adds. A cutout without color is always scored
        on its light.
    min_significance : float
        Detection threshold on the blue excess over its uncertainty (also
        the threshold that keeps knots out of the disk-color fit).
    min_area : int
        Fewest connected pixels in a region.
    min_score : float
        Keep regions whose calibrated score is at least this (0 keeps every
        candidate, for precision-recall curves).
    merge_radius : float
        Of candidates closer together than this many PSF FWHM, only the
        highest-scoring one stays in the catalog (``candidates="light+color"``):
        at the PSF's resolution they are one knot, as the region benchmark
        counts blends. 0 keeps every candidate.
    core_radius : float
        A candidate of the light is the core of its segment: the pixels
        within this many PSF FWHM of the segment's peak of contrast, where
        its position, light and color are measured
        (``candidates="light+color"``; the shape of its light, ``area``,
        ``size_psf`` and ``elongation``, is the whole segment's). A compact
        knot lies within it, however far the segment it sits in reaches
        along an arm or the disk; 0 measures whole segments.
    galaxies : {"central", "all"}
        Analyse the galaxy at (or nearest) the centre, or every galaxy in
        the frame (wide fields).
    psf_fwhm : float or None
        PSF FWHM in pixels; None: from the header
        (:func:`~galcolor.regions.psf_fwhm_pixels`) when it has a WCS, else
        measured on the stars of the frame (``psf_from_stars``). A catalog
        records the value that was used (and ``meta["psf_source"]`` how).
    psf_from_stars : bool
        Without a WCS (a JPEG), measure the PSF on the frame's stars
        (:func:`~galcolor.regions.lightness_psf_fwhm`) before falling back
        to ``default_seeing`` at SDSS's pixel scale.
    light_n_sigma : float
        Detection threshold of light candidates: the lightness contrast over
        its noise (PSF-smoothed).
    galaxy_model : {"symmetric", "smooth"}
        The smooth galaxy the contrast is taken against: the light the
        galaxy shares with its 180-degree rotation (knots stand out of it
        even next to the nucleus), or a Gaussian smoothing of
        ``contrast_scale`` (Mehta et al. 2021), which also stands in where
        the rotation leaves the galaxy.
    min_contrast : float
        ... and its lightness must exceed the smooth galaxy model there by
        this fraction (a centrally peaked galaxy exceeds its own smoothed
        model by a few per cent along its inner ridge).
    contrast_scale : float
        FWHM, in PSF FWHMs, of the Gaussian galaxy model the contrast is
        taken against.
    disk_color_scale : float
        FWHM, in PSF FWHMs, of the Gaussian average of the disk color
        beneath a candidate (candidates left out).
    galaxy_n_sigma : float
        Galaxy segmentation threshold in sky sigmas (sigma-clipped).
    min_lightness : float
        Regions are searched only where the PSF-smoothed L reaches this
        (galcolor's galaxy-pixel convention is 15, but clumps in the
        outskirts of simulated disks sit at L ~ 8-15; in fainter outskirts
        the color of a pixel is mostly noise, true or predicted).
    default_seeing : float
        PSF FWHM in arcsec assumed when the header names none (SDSS's
        median r-band seeing).
    min_color_std : float
        Floor of the color uncertainty (CIELAB units): a regression model
        without TTA reports ``ab_std = 0``, and no color inferred from grey
        is better than ~1.
    galaxy_threshold_floor : float
        Lowest galaxy segmentation threshold in L: the sky of a stretched
        image is ~0 with little spread, and the faintest L that can still
        be told from sky is about this.
    galaxy_min_psf_areas : float
        Fewest pixels of a galaxy segment, in PSF areas (pi FWHM^2 / 4).
    split_neighbors : bool
        Split brighter stars and galaxies off a galaxy's segment, and redder
        ones where the color is measured (true color) ...
    neighbor_contrast : float
        ... deblending its luminance with this photutils contrast ...
    neighbor_red_excess : float
        ... when a piece's median b* exceeds the galaxy's by more than this
        (CIELAB units) ...
    neighbor_flux_ratio : float
        ... or it has at least this fraction of its segment's light, whatever
        its color: clumps have a few per cent of their galaxy's light (in the
        simulator the median clump has 6 % of its galaxy's g-band light, and
        1.6 % of clumps have 40 % or more).
    disk_scale : float
        Gaussian sigma of the local-disk smoothing.
    profile_step : float
        Width of the elliptical annuli of the disk-color profile.
    profile_sectors : int
        Angle sectors (between the major and the minor axis) of the
        disk-color profile; 1 is the all-angle profile alone.
    sector_step : float
        Annulus width of the sector corrections, in units of ``profile_step``.
    sector_min_psf_areas : float
        Fewest pixels, in PSF areas, of an annulus in one sector.
    knot_light_ratio : float
        A pixel is left out of the disk-color fit as part of a knot when it
        is bluer than the fit by ``min_significance`` and its PSF-smoothed
        luminance exceeds this many times the galaxy's elliptical luminance
        profile there.
    fold_scale : float
        Gaussian sigma of the smoothing of the disk color's residual over
        the galaxy folded onto one quadrant, in PSF sigmas ...
    fold_prior_pixels : float
        ... and the prior weight, in pixels, that pulls it to 0 where the
        quadrant is empty.
    disk_iterations : int
        Most rounds of the disk-color fit with knots excluded.
    deblend_contrast : float
        photutils deblending contrast of the regions on the lightness contrast.
    deblend_levels : int
        photutils deblending levels (regions and neighbors).
    split_peaks : bool
        Split deblended regions further at the peaks of their lightness
        contrast. ``candidates="light+color"``: at every peak that rises
        ``light_n_sigma`` times the noise above its saddles to higher
        peaks. ``candidates="color"``: at the local maxima of the contrast,
        smoothed by a Gaussian of ``peak_smoothing`` FWHM, at least
        ``peak_separation`` FWHM apart and with at least ``peak_min_ratio``
        of the region's brightest peak.
    peak_smoothing, peak_separation, peak_min_ratio : float

    Examples
    --------
    >>> from galcolor.regions import RegionParameters
    >>> params = RegionParameters(min_score=0.0)
    >>> params.min_score, params.min_significance
    (0.0, 2.5)
    >>> RegionParameters.from_meta({"parameters": params.to_dict()}) == params
    True
    >>> params.replace(galaxies="all").galaxies
    'all'
    """

    candidates: str = "light+color"
    color_evidence: bool = True
    min_significance: float = 2.5
    min_area: int = 5
    min_score: float = 0.5
    merge_radius: float = 1.5
    core_radius: float = 1.0
    galaxies: str = "central"
    psf_fwhm: float | None = None
    psf_from_stars: bool = True
    light_n_sigma: float = 3.0
    galaxy_model: str = "symmetric"
    min_contrast: float = 0.05
    contrast_scale: float = 3.0
    disk_color_scale: float = 3.0
    galaxy_n_sigma: float = 2.0
    min_lightness: float = 8.0
    default_seeing: float = 1.4
    min_color_std: float = 1.0
    galaxy_threshold_floor: float = 2.0
    galaxy_min_psf_areas: float = 4.0
    split_neighbors: bool = True
    neighbor_contrast: float = 0.05
    neighbor_red_excess: float = 3.0
    neighbor_flux_ratio: float = 0.4
    disk_scale: float = 2.0
    profile_step: float = 0.5
    profile_sectors: int = 3
    sector_step: float = 1.0
    sector_min_psf_areas: float = 4.0
    knot_light_ratio: float = 1.0
    fold_scale: float = 0.5
    fold_prior_pixels: float = 4.0
    disk_iterations: int = 4
    deblend_contrast: float = 0.02
    deblend_levels: int = 32
    split_peaks: bool = True
    peak_smoothing: float = 0.5
    peak_separation: float = 0.5
    peak_min_ratio: float = 0.3

    def __post_init__(self) -> None:
        if self.candidates not in ("light+color", "color"):
            raise InputError(f"candidates must be 'light+color' or 'color', got {self.candidates!r}")
        if self.galaxies not in ("central", "all"):
            raise InputError(f"galaxies must be 'central' or 'all', got {self.galaxies!r}")
        if self.min_area < 1:
            raise InputError(f"min_area must be >= 1 pixel, got {self.min_area}")
        if not 0.0 <= self.min_score <= 1.0:
            raise InputError(f"min_score must be in [0, 1], got {self.min_score}")
        if not (self.merge_radius >= 0.0 and math.isfinite(self.merge_radius)):
            raise InputError(f"merge_radius must be >= 0 PSF FWHM, got {self.merge_radius}")
        if not (self.core_radius >= 0.0 and math.isfinite(self.core_radius)):
            raise InputError(f"core_radius must be >= 0 PSF FWHM, got {self.core_radius}")
        if self.psf_fwhm is not None and not (self.psf_fwhm > 0 and math.isfinite(self.psf_fwhm)):
            raise InputError(f"psf_fwhm must be a positive number of pixels, got {self.psf_fwhm}")
        if self.profile_sectors < 1 or self.disk_iterations < 1 or self.deblend_levels < 1:
            raise InputError("profile_sectors, disk_iterations and deblend_levels must be >= 1")

    def replace(self, **changes: Any) -> "RegionParameters":
        """A copy with some parameters changed (unknown names are an error)."""
        unknown = sorted(set(changes) - {f.name for f in dataclasses.fields(self)})
        if unknown:
            raise InputError(f"unknown region parameter(s) {unknown}; known: "
                             f"{[f.name for f in dataclasses.fields(self)]}")
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-ready values by name (what a catalog's metadata holds)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> "RegionParameters":
        """Inverse of :meth:`to_dict`; names this version does not know are an error."""
        known = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise InputError(f"unknown region parameter(s) {unknown}")
        converted: dict[str, Any] = {}
        for name, value in values.items():
            kind = known[name].type
            if value is None or kind == "str":
                converted[name] = value
            elif kind == "bool":
                converted[name] = bool(value)
            elif kind == "int":
                converted[name] = int(value)
            else:
                converted[name] = float(value)
        return cls(**converted)

    @classmethod
    def from_meta(cls, meta: Mapping[str, Any]) -> "RegionParameters":
        """The parameters that made a catalog, from its metadata (``table.meta``).

        Raises
        ------
        galcolor.InputError
            When the metadata holds no ``parameters``.
        """
        try:
            values = meta["parameters"]
        except (KeyError, TypeError) as error:
            raise InputError("the catalog's metadata holds no 'parameters'") from error
        return cls.from_dict(values)
