"""Synthetic knots injected into real galaxy composites: the completeness test of Galaxy Zoo: Clump Scout.

Adams et al. (2022) measured how many clumps their volunteers find by adding
synthetic clumps to real SDSS images. galcolor does the same to real SDSS
Galaxy Zoo composites (``../shared/data/sdss-gz``), so that the region finder
is calibrated and measured on real galaxies, not on simulation alone:

1. **Undo the display stretch** (approximately): the composites are Lupton
   et al. (2004) asinh images of the i, r, g fluxes. A Lupton composite keeps
   the ratios of the three channels and maps the mean intensity ``I`` through
   one monotonic curve, so ``I`` comes back by inverting that curve
   (tabulated with :func:`astropy.visualization.make_lupton_rgb` itself) and
   each channel as ``rgb * I / mean(rgb)``. The curve is the simulator's
   (``COMPOSITE_Q``, ``COMPOSITE_STRETCH``, which were tuned to match the
   Galaxy Zoo images, ``benchmarks/bench_realism.py``). Saturated pixels
   (a channel at 1) cannot be inverted exactly and are left as they are.
2. **Add knots** in that linear space: circular Gaussians of a given FWHM,
   with a given fraction of the galaxy's r-band (G channel) light, and a color
   relative to the disk beneath them (the median linear color in an annulus
   around the knot): bluer for star-forming knots, neutral or redder for the
   hard negatives (foreground stars, old clusters).
3. **Stretch again** with the same curve; the result is rounded to 8 bits
   like the JPEG it came from (``quantize=True``).

Colors are in magnitudes: a knot with ``delta_gr = -0.5`` is 0.5 mag bluer
in g - r than the disk under it.

Examples
--------
>>> import numpy as np
>>> from galcolor.evaluation.injection import Knot, display_from_linear, inject_knots
>>> y, x = np.mgrid[:64, :64]
>>> disk = np.exp(-np.hypot(x - 32, y - 32) / 8.0)
>>> linear = np.stack([disk * 1.2, disk, disk * 0.7], axis=-1)       # a red-ish disk (i, r, g)
>>> image = display_from_linear(linear)
>>> injected, truth = inject_knots(image, [Knot(40.0, 30.0, fwhm=3.0, flux_fraction=0.05, delta_gr=-0.6)])
>>> round(float(truth["flux_fraction_r"][0]), 3)
0.05
>>> bool(injected[30, 40, 2] / injected[30, 40, 1] > image[30, 40, 2] / image[30, 40, 1])  # bluer there
True
"""

from __future__ import annotations

from ..datasets.injection import (CLUMP_COLORS, HARD_NEGATIVE_COLORS, KNOT_FLUX_FRACTIONS, Knot,
                                  draw_clumps_and_negatives, draw_knots, inject_knots)
from ..io.lupton import display_from_linear, linear_from_display
from ..regions.psf import frame_psf_fwhm

__all__ = ["Knot", "linear_from_display", "display_from_linear", "inject_knots", "draw_knots",
           "draw_clumps_and_negatives", "frame_psf_fwhm",
           "KNOT_FLUX_FRACTIONS", "CLUMP_COLORS", "HARD_NEGATIVE_COLORS"]
