"""The :class:`Cutout`: one galaxy image, ready for a colorizer."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from astropy.coordinates import SkyCoord
from astropy.io import fits
from astropy.wcs import WCS
from astropy.wcs.utils import proj_plane_pixel_scales

from ..exceptions import InputError

__all__ = ["Cutout", "pixel_scale_arcsec"]


def pixel_scale_arcsec(wcs: WCS) -> float:
    """Mean pixel scale of a celestial WCS in arcsec per pixel.

    Examples
    --------
    >>> from astropy.wcs import WCS
    >>> wcs = WCS(naxis=2)
    >>> wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    >>> wcs.wcs.cdelt = [-0.396 / 3600, 0.396 / 3600]
    >>> round(pixel_scale_arcsec(wcs), 3)
    0.396
    """
    return float(np.mean(proj_plane_pixel_scales(wcs)) * 3600.0)


@dataclass(eq=False)
class Cutout:
    """A galaxy image as galcolor sees it: CIELAB lightness plus provenance.

    Build one with :func:`galcolor.load`; every loader returns this.

    Parameters
    ----------
    lightness : numpy.ndarray, shape (H, W), float32
        CIELAB L in [0, 100] (0 at masked pixels).
    mask : numpy.ndarray, shape (H, W), bool
        True where a pixel is bad (NaN/Inf, FITS ``BLANK``, transparent).
    wcs : astropy.wcs.WCS or None
        Celestial WCS of the image (2 axes), if the input had one.
    header : astropy.io.fits.Header or None
        The header of the FITS HDU the image came from.
    band : str or None
        Band of the image that became L (``None`` for color images, or when
        the band is not named).
    source : str
        Path of the file, or a description such as ``"array input"``.
    stretch : callable or None
        The stretch used to turn flux into L (see :mod:`galcolor.io.stretch`);
        ``None`` when L came from a color image.
    truth_rgb : numpy.ndarray, shape (H, W, 3), or None
        Real color in [0, 1] when the input carried it (RGB images, FITS with
        three or more bands).
    truth_mask : numpy.ndarray, shape (H, W), bool, or None
        True where ``truth_rgb`` is not valid (a pixel bad in one of the
        color bands); None when there is no true color.
    meta : dict
        Everything else worth keeping: file format, HDU, stretch parameters,
        band choice, warnings.

    Examples
    --------
    >>> import numpy as np
    >>> import galcolor
    >>> cutout = galcolor.load(np.full((4, 4), 128, dtype=np.uint8))
    >>> cutout.shape, round(float(cutout.lightness[0, 0]), 2)
    ((4, 4), 53.59)
    """

    lightness: np.ndarray
    mask: np.ndarray
    wcs: WCS | None = None
    header: fits.Header | None = None
    band: str | None = None
    source: str = "array input"
    stretch: Any = None
    truth_rgb: np.ndarray | None = None
    truth_mask: np.ndarray | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        lightness = np.asarray(self.lightness, dtype=np.float32)
        if lightness.ndim != 2 or lightness.size == 0:
            raise InputError(
                f"{self.source}: Cutout.lightness must be a non-empty (H, W) array, "
                f"got shape {lightness.shape}"
            )
        mask = np.asarray(self.mask, dtype=bool)
        if mask.shape != lightness.shape:
            raise InputError(
                f"{self.source}: Cutout.mask has shape {mask.shape}, "
                f"lightness has {lightness.shape}"
            )
        if self.truth_rgb is not None:
            truth = np.asarray(self.truth_rgb, dtype=np.float32)
            if truth.shape != lightness.shape + (3,):
                raise InputError(
                    f"{self.source}: Cutout.truth_rgb must have shape {lightness.shape + (3,)}, "
                    f"got {truth.shape}"
                )
            self.truth_rgb = truth
        if self.truth_mask is not None:
            truth_mask = np.asarray(self.truth_mask, dtype=bool)
            if truth_mask.shape != lightness.shape:
                raise InputError(
                    f"{self.source}: Cutout.truth_mask has shape {truth_mask.shape}, "
                    f"lightness has {lightness.shape}"
                )
            self.truth_mask = truth_mask
        if self.wcs is not None and self.wcs.pixel_n_dim != 2:
            raise InputError(
                f"{self.source}: Cutout.wcs must be celestial with 2 pixel axes, "
                f"got {self.wcs.pixel_n_dim}"
            )
        self.lightness = lightness
        self.mask = mask

    @property
    def shape(self) -> tuple[int, int]:
        """(H, W) of the image."""
        return self.lightness.shape

    @property
    def mask_fraction(self) -> float:
        """Fraction of pixels that are masked."""
        return float(self.mask.mean())

    @property
    def truth_invalid(self) -> np.ndarray:
        """Pixels with no usable true color: masked, or bad in the color composite (``mask | truth_mask``).

        Examples
        --------
        >>> import numpy as np
        >>> from galcolor.io import Cutout
        >>> cutout = Cutout(lightness=np.zeros((1, 3)), mask=np.array([[True, False, False]]),
        ...                 truth_rgb=np.zeros((1, 3, 3)), truth_mask=np.array([[False, True, False]]))
        >>> cutout.truth_invalid.tolist()
        [[True, True, False]]
        """
        return self.mask if self.truth_mask is None else self.mask | self.truth_mask

    @property
    def center(self) -> SkyCoord | None:
        """Sky position of the image centre, or None without a WCS."""
        if self.wcs is None:
            return None
        height, width = self.shape
        return self.wcs.pixel_to_world((width - 1) / 2.0, (height - 1) / 2.0)

    @property
    def pixel_scale(self) -> float | None:
        """Mean pixel scale in arcsec per pixel, or None without a WCS."""
        return None if self.wcs is None else pixel_scale_arcsec(self.wcs)

    def __repr__(self) -> str:
        height, width = self.shape
        parts = [f"source={self.source!r}", f"shape=({height}, {width})", f"band={self.band!r}"]
        parts.append(f"stretch={self.meta.get('stretch', {}).get('name')!r}")
        parts.append(f"wcs={'yes' if self.wcs is not None else 'no'}")
        parts.append(f"truth_rgb={'yes' if self.truth_rgb is not None else 'no'}")
        parts.append(f"mask_fraction={self.mask_fraction:.3g}")
        return f"Cutout({', '.join(parts)})"
