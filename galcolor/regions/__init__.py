"""Star-forming regions: compact knots of light and blue patches, scored on light and color.

Young star-forming clumps are compact knots, bluer than the disk around
them. :func:`find_star_forming_regions` finds them in a galaxy image seen in
one band, with its predicted color (a :class:`~galcolor.Colorization`), with
its true color (a :class:`~galcolor.Cutout` that carries ``truth_rgb``), or
with no color at all (a plain :class:`~galcolor.Cutout`), with the same code:

1. **Galaxy.** photutils segmentation of the PSF-smoothed lightness above a
   sigma-clipped sky threshold; stars and galaxies touching a galaxy's
   segment are split off when deblending finds them redder than it, or
   with 40 % of the segment's light or more; the main galaxy is the segment
   at (or nearest) the image centre, or every large segment with
   ``galaxies="all"``. The PSF comes from the header, or from the frame's
   own stars when there is no WCS (:mod:`~galcolor.regions.psf`).
2. **Candidates from the light** (the contrast method of Mehta et al. 2021):
   the PSF-smoothed luminance minus a smooth model of the galaxy, the light
   it shares with its own 180-degree rotation (bulge, disk, bar and two
   arms are point-symmetric; a knot is not, even beside the nucleus);
   segmented where it is significant over the pixel noise and exceeds the
   model by ``min_contrast``, and deblended with photutils.
   **Candidates from the color**: patches bluer than the disk beneath them
   (a normalised Gaussian average of b* with the candidates left out) that
   the light missed (:mod:`~galcolor.regions.candidates`).
3. **Evidence**: every candidate is measured on the light (significance,
   contrast, size against the PSF, elongation, share of the galaxy's light,
   place in the disk in half-light radii) and on the color (a*, b* excess
   over the disk beneath and its significance against ``ab_std`` or the
   pixel noise).
4. **Score**: a calibrated probability from boosted trees on that evidence
   (:class:`RegionClassifier`), one per kind of evidence (``predicted``,
   ``true``, ``lightness``), fitted on simulated galaxies and on real SDSS
   galaxies with injected knots (``pipelines/fit_region_classifiers.py``);
   ``meta["evidence"]`` and ``meta["calibration"]`` say which one scored a
   catalog. Of candidates closer together than ``merge_radius`` (1.5 PSF
   FWHM) only the highest-scoring one stays: one knot at the PSF's
   resolution (:func:`merged_candidates`).

galcolor 0.1's method, candidates only where the color already shows an
excess over a disk-color model (:mod:`~galcolor.regions.disk`), is kept as
``candidates="color"`` with its logistic :class:`ScoreCalibration`, for
comparison.

Every knob is in one :class:`RegionParameters`, which each catalog records
whole. Matching to a simulated or injected truth, completeness and purity
are on the evaluation side (:mod:`galcolor.evaluation.regions`,
:mod:`galcolor.evaluation.knots`): this package never imports the colorizer.

Catalog columns and their units are defined once, in :mod:`galcolor.catalog`.
"""

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

if TYPE_CHECKING:  # imported on first use (galcolor._lazy): the parameters need no photutils
    from .classifier import (COLOR_FEATURES, EVIDENCE_KINDS, LIGHT_FEATURES, RegionClassifier, feature_names,
                             fit_region_classifier, knot_features, load_region_classifier)
    from .detect import (NoRegionsWarning, RegionMaps, UncalibratedScoreWarning, find_star_forming_regions,
                         merged_candidates)
    from .parameters import RegionParameters
    from .psf import frame_psf_fwhm, lightness_psf_fwhm, psf_fwhm_pixels
    from .score import (SCORE_FEATURES, ScoreCalibration, fit_score_calibration, load_score_calibration,
                        score_features)

__getattr__, __dir__ = lazy_exports(__name__, {
    **dict.fromkeys(["COLOR_FEATURES", "EVIDENCE_KINDS", "LIGHT_FEATURES", "RegionClassifier", "feature_names",
                     "fit_region_classifier", "knot_features", "load_region_classifier"], ".classifier"),
    **dict.fromkeys(["NoRegionsWarning", "RegionMaps", "UncalibratedScoreWarning", "find_star_forming_regions",
                     "merged_candidates"], ".detect"),
    "RegionParameters": ".parameters",
    **dict.fromkeys(["frame_psf_fwhm", "lightness_psf_fwhm", "psf_fwhm_pixels"], ".psf"),
    **dict.fromkeys(["SCORE_FEATURES", "ScoreCalibration", "fit_score_calibration", "load_score_calibration",
                     "score_features"], ".score")})

__all__ = [
    "find_star_forming_regions",
    "merged_candidates",
    "RegionParameters",
    "RegionMaps",
    "NoRegionsWarning",
    "UncalibratedScoreWarning",
    "ScoreCalibration",
    "SCORE_FEATURES",
    "load_score_calibration",
    "fit_score_calibration",
    "score_features",
    "psf_fwhm_pixels",
    "RegionClassifier",
    "EVIDENCE_KINDS",
    "LIGHT_FEATURES",
    "COLOR_FEATURES",
    "feature_names",
    "knot_features",
    "fit_region_classifier",
    "load_region_classifier",
    "lightness_psf_fwhm",
    "frame_psf_fwhm",
]
