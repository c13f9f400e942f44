"""The default ab bin grid of the classification heads, fitted to SDSS galaxies."""

from __future__ import annotations

from ..color import AbGrid
from . import _sdss_prior

__all__ = ["default_galaxy_grid"]


def default_galaxy_grid() -> AbGrid:
    """The 4-unit ab grid and prior measured on SDSS galaxy pixels.

    614 bins of 4 x 4 Lab units, holding 99.93% of the 18.3 million galaxy
    pixels (L > 15) of the 6,704 SDSS Galaxy Zoo training composites, with
    their pixel counts as the prior. It ships inside the package (see
    ``galcolor/models/_sdss_prior.py`` for how it was measured), so building
    a classification model needs neither the data nor a network.

    Returns
    -------
    galcolor.color.AbGrid
        A new grid (callers may keep or modify it freely).

    See Also
    --------
    galcolor.color.AbGrid.from_samples : fit a grid to other data.

    Notes
    -----
    The prior counts galaxy pixels only. The dark sky that fills most of a
    cutout is grey (ab ~ 0); counting it would put most of the prior mass in
    the grey bin, and rebalancing would then mainly weigh the sky down
    instead of weighing rare galaxy colors up. The most populated bin is
    (a*, b*) = (4, 8): galaxy light is mostly old, yellowish stars.

    Examples
    --------
    >>> grid = default_galaxy_grid()
    >>> grid
    AbGrid(614 bins, step 4, a* in [-88, 80], b* in [-96, 84])
    >>> round(float(grid.prior.sum()), 6)
    1.0
    """
    cells = _sdss_prior.CELLS
    step = _sdss_prior.STEP
    centers = [[a * step, b * step] for a, b, _ in cells]
    counts = [count for _, _, count in cells]
    return AbGrid(centers, step, counts)
