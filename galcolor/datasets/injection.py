"""Synthetic knots injected into real galaxy composites, in the composite's linear flux.

The recipe of :mod:`galcolor.evaluation.injection` (the region benchmark's
completeness test, after Galaxy Zoo: Clump Scout), kept here, below the
training and the evaluation that both inject knots: the colorizer learns on
galaxies with knots injected the same way as the benchmark measures it
(:class:`galcolor.training.KnotInjection`). See
:mod:`galcolor.evaluation.injection` for the method and its references.

Examples
--------
>>> import numpy as np
>>> from galcolor.datasets.injection import Knot, inject_knots
>>> from galcolor.io.lupton import display_from_linear
>>> y, x = np.mgrid[:64, :64]
>>> disk = np.exp(-np.hypot(x - 32, y - 32) / 8.0)
>>> image = display_from_linear(np.stack([disk * 1.2, disk, disk * 0.7], axis=-1))
>>> injected, truth = inject_knots(image, [Knot(40.0, 30.0, fwhm=3.0, flux_fraction=0.05, delta_gr=-0.6)])
>>> len(truth), str(truth["kind"][0])
(1, 'clump')
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
from astropy import units as u
from astropy.table import QTable

from ..color import rgb_to_lab_numpy
from ..io.lupton import COMPOSITE_Q, COMPOSITE_STRETCH, display_from_linear, linear_from_display
from ..io.lupton import SATURATED as _SATURATED
from ..exceptions import InputError
from ..geometry import central_galaxy_mask

__all__ = ["Knot", "inject_knots", "draw_knots", "draw_clumps_and_negatives", "KNOT_FLUX_FRACTIONS", "CLUMP_COLORS",
           "HARD_NEGATIVE_COLORS"]

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
                 quantize: bool = False, linear: np.ndarray | None = None) -> tuple[np.ndarray, QTable]:
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
    linear : numpy.ndarray, optional
        ``linear_from_display(rgb, q=q, stretch=stretch)``, when the caller
        has it already.

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
    linear = linear_from_display(rgb, q=q, stretch=stretch) if linear is None else np.asarray(linear)
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
               stretch: float = COMPOSITE_STRETCH, linear: np.ndarray | None = None,
               galaxy: np.ndarray | None = None) -> list[Knot]:
    """Random knots for one composite: positions on the galaxy's light, off its nucleus.

    ``n`` knots (default 1-3) at galaxy pixels drawn with weight proportional
    to their r light, at least 1 FWHM from the light-weighted centre and
    ``min_separation`` FWHM from each other; flux fractions log-uniform in
    :data:`KNOT_FLUX_FRACTIONS`; colors uniform in :data:`CLUMP_COLORS`
    (``kind="clump"``) or :data:`HARD_NEGATIVE_COLORS` (``kind="star"``).
    Fewer knots come back when the galaxy has no room for more. ``linear``
    and ``galaxy`` (as :func:`inject_knots` takes them) save computing them
    again.
    """
    if kind not in ("clump", "star"):
        raise InputError(f"kind must be 'clump' or 'star', got {kind!r}")
    n = int(rng.integers(1, 4)) if n is None else n
    linear = linear_from_display(rgb, q=q, stretch=stretch) if linear is None else np.asarray(linear)
    galaxy = _central_galaxy(rgb) if galaxy is None else np.asarray(galaxy, dtype=bool)
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


def draw_clumps_and_negatives(rng: np.random.Generator, rgb: np.ndarray, *, fwhm: float,
                              negatives: tuple[int, int], linear: np.ndarray | None = None,
                              galaxy: np.ndarray | None = None) -> list[Knot]:
    """1-3 clumps and ``negatives`` (a (low, high) count range) hard negatives for one composite.

    The hard negatives (:func:`draw_knots` with ``kind="star"``) keep 2
    FWHM from every clump; the ones that do not are dropped. The recipe of
    the region benchmark's injected frames and of
    :class:`~galcolor.training.KnotInjection`.
    """
    knots = draw_knots(rng, rgb, fwhm=fwhm, linear=linear, galaxy=galaxy)
    n_negatives = int(rng.integers(negatives[0], negatives[1] + 1))
    if n_negatives:
        knots += [k for k in draw_knots(rng, rgb, fwhm=fwhm, n=n_negatives, kind="star", linear=linear,
                                        galaxy=galaxy)
                  if all(math.hypot(k.x - o.x, k.y - o.y) >= 2.0 * fwhm for o in knots)]
    return knots
