"""The SDSS Galaxy Zoo color composite: its Lupton et al. (2004) asinh recipe, forward and inverted.

The Galaxy Zoo images the colorizer learned from are
:func:`~astropy.visualization.make_lupton_rgb` composites of the i, r, g
fluxes (i -> R, r -> G, g -> B). The recipe is written down once, here: the
simulator draws its composites with it, the injection test inverts it to add
knots to real composites, and the region finder inverts it to measure the
PSF of a frame from its stars.

A Lupton composite keeps the ratios of the three channels and maps their
mean intensity ``I`` through one monotonic curve, so ``I`` comes back by
inverting that curve (tabulated with ``make_lupton_rgb`` itself) and each
channel as ``rgb * I / mean(rgb)``. Saturated pixels (a channel at 1) cannot
be inverted exactly.

Examples
--------
>>> import numpy as np
>>> from galcolor.io.lupton import display_from_linear, linear_from_display
>>> linear = np.array([[[0.02, 0.01, 0.005]]])
>>> back = linear_from_display(display_from_linear(linear))
>>> bool(np.allclose(back, linear, rtol=1e-4))
True
"""

from __future__ import annotations

import functools

import numpy as np
from astropy.visualization import make_lupton_rgb

from ..exceptions import InputError

__all__ = ["COMPOSITE_Q", "COMPOSITE_STRETCH", "SDSS_COMPOSITE_WEIGHTS", "SATURATED", "linear_from_display",
           "display_from_linear", "linear_from_grey"]

#: Lupton et al. (2004) parameters and band weights (multiplying nanomaggies)
#: of the gri composites, tuned so that the lightness and color of simulated
#: galaxy pixels match the SDSS Galaxy Zoo images: a grid search over weights,
#: Q and stretch minimising the summed Wasserstein distances of L, a*, b*
#: (``python benchmarks/bench_realism.py --tune``).
COMPOSITE_Q = 8.0
COMPOSITE_STRETCH = 0.8
SDSS_COMPOSITE_WEIGHTS = {"i": 1.0, "r": 1.1, "g": 1.5}
#: Pixel value of a saturated channel (a Lupton composite clips at 1), 8-bit rounding allowed.
SATURATED = 1.0 - 1.0 / 512.0


@functools.lru_cache(maxsize=4)
def _stretch_curve(q: float, stretch: float) -> tuple[np.ndarray, np.ndarray]:
    """(linear intensity, displayed mean intensity) of grey pixels, from make_lupton_rgb itself."""
    intensity = np.concatenate([[0.0], np.geomspace(1e-6, 1e3, 4000)])
    grey = intensity[None, :]
    with np.errstate(invalid="ignore", divide="ignore"):
        shown = make_lupton_rgb(grey, grey, grey, minimum=0.0, stretch=stretch, Q=q, output_dtype=np.float64)
    return intensity, np.nan_to_num(shown[0, :, 0])


def linear_from_display(rgb: np.ndarray, *, q: float = COMPOSITE_Q, stretch: float = COMPOSITE_STRETCH
                        ) -> np.ndarray:
    """Linear (i, r, g) intensities of a Lupton composite in [0, 1], shape (H, W, 3).

    The inverse of :func:`display_from_linear` for pixels below saturation.
    """
    rgb = np.asarray(rgb, dtype=np.float64)
    if rgb.ndim != 3 or rgb.shape[-1] != 3:
        raise InputError(f"rgb must be (H, W, 3), got shape {rgb.shape}")
    if rgb.size and (np.nanmax(rgb) > 1.0 + 1e-6 or np.nanmin(rgb) < 0.0):
        raise InputError("rgb must be in [0, 1] (divide 8-bit images by 255)")
    intensity, shown = _stretch_curve(q, stretch)
    mean = rgb.mean(axis=-1)
    linear_mean = np.interp(mean, shown, intensity)
    with np.errstate(invalid="ignore", divide="ignore"):
        scale = np.where(mean > 0, linear_mean / mean, 0.0)
    return rgb * scale[..., None]


def linear_from_grey(grey: np.ndarray, *, q: float = COMPOSITE_Q, stretch: float = COMPOSITE_STRETCH
                     ) -> np.ndarray:
    """Linear intensity of a grey display value in [0, 1] (the mean of a composite's channels).

    For a single-band image shown with the composite's stretch (a Galaxy
    Zoo frame turned grey), an approximate linear intensity: the grey
    value is read as the mean channel.
    """
    intensity, shown = _stretch_curve(q, stretch)
    return np.interp(np.clip(np.asarray(grey, dtype=np.float64), 0.0, 1.0), shown, intensity)


def display_from_linear(linear: np.ndarray, *, q: float = COMPOSITE_Q, stretch: float = COMPOSITE_STRETCH
                        ) -> np.ndarray:
    """The Lupton composite in [0, 1] of linear (i, r, g) intensities, shape (H, W, 3)."""
    linear = np.clip(np.asarray(linear, dtype=np.float64), 0.0, None)
    with np.errstate(invalid="ignore", divide="ignore"):  # astropy divides 0 by 0 on black sky
        rgb = make_lupton_rgb(linear[..., 0], linear[..., 1], linear[..., 2], minimum=0.0, stretch=stretch,
                              Q=q, output_dtype=np.float64)
    return np.nan_to_num(rgb)
