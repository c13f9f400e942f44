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

import functools
import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
from astropy import units as u
from astropy.stats import sigma_clipped_stats
from astropy.table import QTable
from astropy.visualization import make_lupton_rgb
from photutils.segmentation import SourceCatalog, detect_sources

from ..color import rgb_to_lab_numpy
from ..datasets.simulate import COMPOSITE_Q, COMPOSITE_STRETCH
from ..exceptions import InputError
from ..geometry import central_galaxy_mask

__all__ = ["Knot", "linear_from_display", "display_from_linear", "inject_knots", "draw_knots", "frame_psf_fwhm",
           "KNOT_FLUX_FRACTIONS", "CLUMP_COLORS", "HARD_NEGATIVE_COLORS"]

#: Flux fractions (of the galaxy's r light) that :func:`draw_knots` draws from,
#: log-uniformly: Clump Scout's clumps have >= 8 % of the u-band light, which
#: for blue knots is ~2-8 % of the r light; galcolor goes down to 2 %.
KNOT_FLUX_FRACTIONS = (0.02, 0.12)
#: Colors of star-forming knots relative to the disk beneath: (g - r, r - i)
#: excess ranges in mag, drawn uniformly (young clumps are 0.3-0.8 mag bluer
#: in g - r than their disks; Guo et al. 2015, Adams et al. 2022).
CLUMP_COLORS = ((-0.8, -0.3), (-0.4, -0.1))
#: ... and of hard negatives (foreground stars, old clusters): neutral to red.
HARD_NEGATIVE_COLORS = ((0.0, 0.5), (0.0, 0.3))
#: Pixel value of a saturated channel (a Lupton composite clips at 1).
_SATURATED = 1.0 - 1.0 / 512.0


@dataclass(frozen=True)
class Knot:
    """One injected point-like source.

    Attributes
    ----------
    x, y : float
        Position in pixels (0-based, x = column).
    fwhm : float
        Gaussian FWHM in pixels (the PSF's, for an unresolved knot).
    flux_fraction : float
        Its r-band (G channel) flux over the galaxy's.
    delta_gr, delta_ri : float
        g - r and r - i of the knot minus those of the disk beneath, in mag
        (negative: bluer).
    kind : str
        ``"clump"`` or ``"star"`` (a hard negative).
    """

    x: float
    y: float
    fwhm: float
    flux_fraction: float
    delta_gr: float
    delta_ri: float = 0.0
    kind: str = "clump"


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


def display_from_linear(linear: np.ndarray, *, q: float = COMPOSITE_Q, stretch: float = COMPOSITE_STRETCH
                        ) -> np.ndarray:
    """The Lupton composite in [0, 1] of linear (i, r, g) intensities, shape (H, W, 3)."""
    linear = np.clip(np.asarray(linear, dtype=np.float64), 0.0, None)
    with np.errstate(invalid="ignore", divide="ignore"):  # astropy divides 0 by 0 on black sky
        rgb = make_lupton_rgb(linear[..., 0], linear[..., 1], linear[..., 2], minimum=0.0, stretch=stretch,
                              Q=q, output_dtype=np.float64)
    return np.nan_to_num(rgb)


def _gaussian(shape: tuple[int, int], x: float, y: float, fwhm: float) -> np.ndarray:
    sigma = fwhm / (2.0 * math.sqrt(2.0 * math.log(2.0)))
    rows, cols = np.mgrid[:shape[0], :shape[1]]
    profile = np.exp(-((cols - x) ** 2 + (rows - y) ** 2) / (2.0 * sigma ** 2))
    return profile / (2.0 * math.pi * sigma ** 2)


def _central_galaxy(rgb: np.ndarray) -> np.ndarray:
    """The central galaxy's pixels (L > 15) of a composite."""
    return central_galaxy_mask(rgb_to_lab_numpy(np.asarray(rgb, dtype=np.float32))[..., 0])


def _disk_color(linear: np.ndarray, x: float, y: float, fwhm: float) -> np.ndarray:
    """Median linear (i, r, g) of the annulus 1-2.5 FWHM around a position, normalised to r = 1."""
    rows, cols = np.mgrid[:linear.shape[0], :linear.shape[1]]
    distance = np.hypot(cols - x, rows - y)
    ring = (distance >= fwhm) & (distance <= 2.5 * fwhm) & (linear[..., 1] > 0)
    if ring.sum() < 5:
        raise InputError(f"no disk light around ({x:.1f}, {y:.1f}) to take a knot color from")
    ratios = linear[ring] / linear[ring][:, 1:2]
    return np.median(ratios, axis=0)


def inject_knots(rgb: np.ndarray, knots: Sequence[Knot], *, q: float = COMPOSITE_Q,
                 stretch: float = COMPOSITE_STRETCH, galaxy: np.ndarray | None = None,
                 quantize: bool = False) -> tuple[np.ndarray, QTable]:
    """Add knots to a Lupton composite; return the new composite and the truth table.

    Parameters
    ----------
    rgb : numpy.ndarray, shape (H, W, 3)
        A composite in [0, 1] (an 8-bit image divided by 255).
    knots : sequence of Knot
    q, stretch : float, optional
        Lupton parameters of the composite.
    galaxy : numpy.ndarray of bool, optional
        Pixels of the galaxy whose r light ``flux_fraction`` refers to;
        default: the central galaxy (L > 15) of the composite.
    quantize : bool, optional
        Round to 8-bit levels, as the JPEG the image came from.

    Returns
    -------
    rgb : numpy.ndarray, shape (H, W, 3)
        The new composite, in [0, 1]; pixels that were saturated keep their value.
    truth : astropy.table.QTable
        One row per knot: ``id``, ``kind``, ``x``, ``y`` (pix), ``fwhm`` (pix),
        ``flux_fraction_r``, ``delta_gr``, ``delta_ri``, and the disk color
        beneath it (``disk_gr``, ``disk_ri``, mag, from the linear channels).
    """
    rgb = np.asarray(rgb, dtype=np.float64)
    linear = linear_from_display(rgb, q=q, stretch=stretch)
    if galaxy is None:
        galaxy = _central_galaxy(rgb)
    galaxy_r = float(linear[..., 1][galaxy].sum())
    if not galaxy_r > 0:
        raise InputError("the composite has no galaxy light to scale knots to")
    added = np.zeros_like(linear)
    rows = []
    for number, knot in enumerate(knots, start=1):
        if not (knot.fwhm > 0 and knot.flux_fraction > 0):
            raise InputError(f"knot {number}: fwhm and flux_fraction must be positive, got {knot}")
        color = _disk_color(linear, knot.x, knot.y, knot.fwhm)  # (i, r, g) / r of the disk
        # g - r bluer by delta_gr: the g/r ratio grows by 10^(-0.4 delta_gr); likewise r - i for i/r
        knot_color = color * np.array([10.0 ** (0.4 * knot.delta_ri), 1.0, 10.0 ** (-0.4 * knot.delta_gr)])
        profile = _gaussian(linear.shape[:2], knot.x, knot.y, knot.fwhm)
        added += profile[..., None] * (knot.flux_fraction * galaxy_r) * knot_color
        rows.append({"id": number, "kind": knot.kind, "x": knot.x, "y": knot.y, "fwhm": knot.fwhm,
                     "flux_fraction_r": knot.flux_fraction, "delta_gr": knot.delta_gr, "delta_ri": knot.delta_ri,
                     "disk_gr": -2.5 * math.log10(color[2]), "disk_ri": -2.5 * math.log10(1.0 / color[0])})
    injected = display_from_linear(linear + added, q=q, stretch=stretch)
    saturated = (rgb >= _SATURATED).any(axis=-1)
    injected[saturated] = rgb[saturated]
    if quantize:
        injected = np.round(injected * 255.0) / 255.0
    truth = QTable(rows=rows) if rows else QTable(names=("id", "kind", "x", "y", "fwhm"),
                                                   dtype=(np.int64, str, float, float, float))
    for name in ("x", "y", "fwhm"):
        truth[name] = u.Quantity(truth[name], u.pix)
    return injected, truth


def draw_knots(rng: np.random.Generator, rgb: np.ndarray, *, fwhm: float, n: int | None = None,
               kind: str = "clump", min_separation: float = 2.0, q: float = COMPOSITE_Q,
               stretch: float = COMPOSITE_STRETCH) -> list[Knot]:
    """Random knots for one composite: positions on the galaxy's light, off its nucleus.

    ``n`` knots (default 1-3) at galaxy pixels drawn with weight proportional
    to their r light, at least 1 FWHM from the light-weighted centre and
    ``min_separation`` FWHM from each other; flux fractions log-uniform in
    :data:`KNOT_FLUX_FRACTIONS`; colors uniform in :data:`CLUMP_COLORS`
    (``kind="clump"``) or :data:`HARD_NEGATIVE_COLORS` (``kind="star"``).
    Fewer knots come back when the galaxy has no room for more.
    """
    if kind not in ("clump", "star"):
        raise InputError(f"kind must be 'clump' or 'star', got {kind!r}")
    n = int(rng.integers(1, 4)) if n is None else n
    linear = linear_from_display(rgb, q=q, stretch=stretch)
    galaxy = _central_galaxy(rgb)
    rows, cols = np.nonzero(galaxy)
    if rows.size == 0:
        return []
    light = linear[rows, cols, 1]
    cy, cx = np.average(rows, weights=light), np.average(cols, weights=light)
    off_nucleus = np.hypot(rows - cy, cols - cx) >= fwhm
    rows, cols, light = rows[off_nucleus], cols[off_nucleus], light[off_nucleus]
    colors = CLUMP_COLORS if kind == "clump" else HARD_NEGATIVE_COLORS
    knots: list[Knot] = []
    for _ in range(20 * n):
        if len(knots) == n or rows.size == 0:
            break
        pick = rng.choice(rows.size, p=light / light.sum())
        x, y = float(cols[pick]), float(rows[pick])
        if any(math.hypot(x - k.x, y - k.y) < min_separation * fwhm for k in knots):
            continue
        fraction = float(math.exp(rng.uniform(*np.log(KNOT_FLUX_FRACTIONS))))
        knots.append(Knot(x, y, fwhm=fwhm, flux_fraction=fraction, delta_gr=float(rng.uniform(*colors[0])),
                          delta_ri=float(rng.uniform(*colors[1])), kind=kind))
    return knots


def frame_psf_fwhm(rgb: np.ndarray, *, q: float = COMPOSITE_Q, stretch: float = COMPOSITE_STRETCH,
                   min_peak_sigma: float = 30.0, max_elongation: float = 1.15) -> tuple[float | None, int]:
    """PSF FWHM of a composite, in pixels, from the point sources in its frame; and how many were used.

    Galaxy Zoo frames are scaled to each galaxy's size, so their PSF in
    pixels differs from frame to frame and no header says it. Stars are
    measured on the linear intensity (:func:`linear_from_display`; the asinh
    stretch widens a bright core): sources 5 sky sigmas above the
    sigma-clipped sky with >= 9 pixels, not the central galaxy, round
    (elongation below ``max_elongation``), bright (peak above
    ``min_peak_sigma`` sky sigmas) and not near saturation; the result is the
    median of their :attr:`~photutils.segmentation.SourceCatalog.fwhm`. Two
    biases pull opposite ways: small round galaxies pass these cuts too (too
    wide), and the moments of a segment cut at 5 sigma miss a faint star's
    wings (too narrow; ~25 % for a star peaking at 20 sky sigmas, ~1 % when
    bright). None when no source passes.

    Examples
    --------
    >>> import numpy as np
    >>> from galcolor.evaluation.injection import display_from_linear, frame_psf_fwhm
    >>> rng = np.random.default_rng(0)
    >>> y, x = np.mgrid[:128, :128]
    >>> sky = 0.002 * rng.normal(size=(128, 128))
    >>> stars = sum(np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * 2.5 ** 2)) for cx, cy in ((20, 30), (100, 90)))
    >>> frame = display_from_linear(np.clip(sky + stars, 0, None)[..., None] * np.ones(3))
    >>> fwhm, n = frame_psf_fwhm(frame)
    >>> n, round(fwhm / (2.355 * 2.5), 2)  # a Gaussian's FWHM is 2.355 sigma; moments give it to ~2 %
    (2, 0.99)
    """
    intensity = linear_from_display(rgb, q=q, stretch=stretch).mean(axis=-1)
    _, sky, noise = sigma_clipped_stats(intensity, sigma=3.0)
    if not noise > 0:
        return None, 0
    data = intensity - sky
    segments = detect_sources(data, 5.0 * noise, n_pixels=9)
    if segments is None:
        return None, 0
    centre = segments.data[(data.shape[0] - 1) // 2, (data.shape[1] - 1) // 2]
    catalog = SourceCatalog(data, segments)
    saturated = set(np.unique(segments.data[(np.asarray(rgb) >= _SATURATED).any(axis=-1)]).tolist())
    widths = [float(source.fwhm.value) for source in catalog
              if source.label != centre and source.label not in saturated
              and float(source.elongation.value) < max_elongation and float(source.max_value) > min_peak_sigma * noise]
    return (float(np.median(widths)) if widths else None), len(widths)
