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

One module per step: :mod:`~galcolor.regions.planes` (inputs, PSF),
:mod:`~galcolor.regions.galaxy` (1), :mod:`~galcolor.regions.disk` (2, 3),
:mod:`~galcolor.regions.detect` (4 and the entry point),
:mod:`~galcolor.regions.score` (5), and every knob in one
:class:`RegionParameters`, which each catalog records whole. Matching to a
simulated truth, completeness and purity are on the evaluation side
(:mod:`galcolor.evaluation.regions`): this package never imports the colorizer.

Catalog columns and their units are defined once, in :mod:`galcolor.catalog`.
"""

from .classifier import (
    COLOR_FEATURES,
    EVIDENCE_KINDS,
    LIGHT_FEATURES,
    RegionClassifier,
    feature_names,
    fit_region_classifier,
    knot_features,
    load_region_classifier,
)
from .detect import NoRegionsWarning, RegionMaps, UncalibratedScoreWarning, find_star_forming_regions
from .parameters import RegionParameters
from .psf import frame_psf_fwhm, lightness_psf_fwhm, psf_fwhm_pixels
from .score import SCORE_FEATURES, ScoreCalibration, fit_score_calibration, load_score_calibration, score_features

__all__ = [
    "find_star_forming_regions",
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
