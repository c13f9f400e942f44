"""Stretches: how single-band flux becomes the lightness L a model sees.

galcolor's models were trained on SDSS gri color composites, which are made
with the asinh stretch of Lupton et al. (2004, PASP 116, 133). A single-band
image therefore goes through the same kind of stretch: flux above the sky is
mapped to a display value ``v = asinh(Q (x - sky) / stretch) / Q`` in [0, 1],
and ``v`` is read as an sRGB grey level to give CIELAB L.

With ``stretch="auto"`` the sky level and noise come from sigma-clipped
statistics and the two free parameters are set so that, on real survey data,

* the sky lands near L = 1 with a noise of a few L units, like the dark sky
  of SDSS composites (median L = 1.1 on the Galaxy Zoo images), and
* the brightest part of the image (a robust peak, immune to hot pixels)
  lands at L = 75, the median peak lightness of Galaxy Zoo galaxy cores, so
  cores are bright but not clipped flat.

See ``benchmarks/bench_stretch.py`` for the comparison with real composites.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Callable, Union

import numpy as np
from astropy.stats import sigma_clipped_stats
from scipy import ndimage

from .._filters import median3x3
from ..color import gray_to_lightness
from ..color.lab import LAB_DELTA, LAB_KAPPA, SRGB_GAMMA, SRGB_LINEAR_KNEE
from ..exceptions import InputError

__all__ = [
    "AsinhStretch",
    "IdentityStretch",
    "StretchLike",
    "resolve_stretch",
    "apply_stretch",
    "sky_statistics",
    "DEFAULT_SOFTENING",
    "DEFAULT_WHITE_LIGHTNESS",
    "stretch_meta",
]

#: Width of the linear part of the asinh curve, in units of the sky noise.
DEFAULT_SOFTENING = 5.0
#: Lightness given to the robust peak of the image (median peak L of the
#: galaxy cores in the SDSS Galaxy Zoo validation composites).
DEFAULT_WHITE_LIGHTNESS = 75.0

# Sigma clipping on at most this many pixels: a regular subsample gives the
# same sky to <0.1 sigma and keeps 4k x 4k frames fast.
_MAX_SKY_SAMPLES = 1_000_000


def sky_statistics(data: np.ndarray, mask: np.ndarray | None = None) -> tuple[float, float]:
    """Robust sky level and noise of an image.

    Parameters
    ----------
    data : numpy.ndarray
        Image (any shape); non-finite values are ignored.
    mask : numpy.ndarray of bool, optional
        True where pixels must be ignored.

    Returns
    -------
    sky, noise : float
        Sigma-clipped (3 sigma, 10 iterations) median and standard deviation.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> image = rng.normal(100.0, 2.0, (200, 200))
    >>> image[90:110, 90:110] += 500.0
    >>> sky, noise = sky_statistics(image)
    >>> round(sky), round(noise, 1)
    (100, 2.0)
    """
    values = np.asarray(data).reshape(-1)
    flags = None if mask is None else np.asarray(mask).reshape(-1)
    if values.size > _MAX_SKY_SAMPLES:  # a regular subsample of the frame, never a copy of all of it
        step = values.size // _MAX_SKY_SAMPLES + 1
        values = values[::step]
        flags = None if flags is None else flags[::step]
    good = np.isfinite(values)
    if flags is not None:
        good &= ~flags
    values = np.asarray(values[good], dtype=np.float64)
    if values.size == 0:
        raise InputError("no unmasked finite pixels to estimate the sky from")
    _, median, std = sigma_clipped_stats(values, sigma=3.0, maxiters=10)
    return float(median), float(std)


@dataclass(frozen=True)
class AsinhStretch:
    """Lupton et al. (2004) asinh stretch from flux to a display value.

    ``v = asinh(Q * (x - sky) / stretch) / Q``, clipped to [0, 1]. The
    parameters mean what they mean in
    :func:`astropy.visualization.make_lupton_rgb`: fluxes above the sky much
    smaller than ``stretch / Q`` are mapped linearly, brighter ones
    logarithmically, and ``Q`` sets how soon the curve turns over.

    Parameters
    ----------
    sky : float
        Flux level mapped to black.
    stretch : float
        Linear stretch of the image (flux units), > 0.
    q : float
        Asinh softening parameter Q, > 0.
    noise : float, optional
        Sky noise it was derived from (recorded for provenance only).

    Examples
    --------
    >>> import numpy as np
    >>> s = AsinhStretch(sky=10.0, stretch=5.0, q=8.0)
    >>> s(np.array([10.0, 12.0, 1e6])).round(3)
    array([0.   , 0.235, 1.   ])
    >>> s.lightness(np.array([10.0, 1e6])).round(1)
    array([  0., 100.], dtype=float32)
    """

    sky: float
    stretch: float
    q: float
    noise: float | None = None

    def __post_init__(self) -> None:
        for name in ("sky", "stretch", "q"):
            value = getattr(self, name)
            if not np.isfinite(value):
                raise InputError(f"AsinhStretch.{name} must be finite, got {value}")
        if self.stretch <= 0 or self.q <= 0:
            raise InputError(
                f"AsinhStretch needs stretch > 0 and q > 0, got stretch={self.stretch}, q={self.q}"
            )

    @classmethod
    def from_data(
        cls,
        data: np.ndarray,
        mask: np.ndarray | None = None,
        *,
        softening: float = DEFAULT_SOFTENING,
        white_lightness: float = DEFAULT_WHITE_LIGHTNESS,
        peak: float | None = None,
    ) -> "AsinhStretch":
        """Choose sky, stretch and Q from the image itself (the "auto" stretch).

        Parameters
        ----------
        data : numpy.ndarray
            Single-band image (flux).
        mask : numpy.ndarray of bool, optional
            True for pixels to ignore.
        softening : float, optional
            Width of the linear regime, ``stretch / Q``, in units of the
            sky noise.
        white_lightness : float, optional
            Lightness L given to the robust peak of the image.
        peak : float, optional
            Flux (sky-subtracted) that should reach ``white_lightness``. By
            default the maximum of the 3x3 median-filtered image, which
            ignores cosmic rays and hot pixels.

        Returns
        -------
        AsinhStretch

        Examples
        --------
        >>> import numpy as np
        >>> rng = np.random.default_rng(1)
        >>> image = rng.normal(0.0, 1.0, (64, 64))
        >>> image[28:36, 28:36] += 1000.0
        >>> stretch = AsinhStretch.from_data(image)
        >>> round(float(stretch.lightness(np.array([1000.0]))[0]))
        75
        """
        values = np.asarray(data)
        sky, noise = sky_statistics(values, mask)
        if peak is None:
            peak = _median_filtered_max(values, mask, sky) - sky
        # A constant (or noiseless) image has no scale of its own; any
        # positive width maps it to black, which is what flat sky should be.
        if not noise > 0:
            noise = max(abs(peak), abs(sky), 1.0) * 1e-6
        width = softening * noise
        peak = max(peak, width)
        white = _lightness_to_gray(white_lightness)
        q = math.asinh(peak / width) / white
        return cls(sky=sky, stretch=q * width, q=q, noise=noise)

    def __call__(self, data: np.ndarray) -> np.ndarray:
        """Display value in [0, 1] of each flux value (NaN stays NaN)."""
        display = np.array(data, dtype=np.float64)  # one copy, worked on in place
        display -= self.sky
        display *= self.q / self.stretch
        np.arcsinh(display, out=display)
        display /= self.q
        return np.clip(display, 0.0, 1.0, out=display)

    def lightness(self, data: np.ndarray) -> np.ndarray:
        """CIELAB lightness (float32, [0, 100]) of each flux value."""
        return gray_to_lightness(self(data).astype(np.float32))

    def to_meta(self) -> dict[str, Any]:
        """Parameters as a plain dict (for ``meta`` and FITS headers)."""
        return {"name": "asinh", **asdict(self)}


@dataclass(frozen=True)
class IdentityStretch:
    """Data already are display grey values in [0, 1] (read as sRGB).

    Used for 8- and 16-bit greyscale images after scaling by their maximum
    code value.

    Examples
    --------
    >>> import numpy as np
    >>> IdentityStretch()(np.array([0.0, 0.5, 2.0]))
    array([0. , 0.5, 1. ])
    """

    def __call__(self, data: np.ndarray) -> np.ndarray:
        return np.clip(np.asarray(data, dtype=np.float64), 0.0, 1.0)

    def to_meta(self) -> dict[str, Any]:
        return {"name": "identity"}


StretchLike = Union[str, AsinhStretch, IdentityStretch, Callable[[np.ndarray], np.ndarray]]

# Large frames are median-filtered and stretched this many pixels at a time,
# so that the loader's temporary arrays stay a few MB whatever the frame.
_BLOCK_PIXELS = 1 << 20


def _row_blocks(shape: tuple[int, ...]) -> list[slice]:
    """Slices of rows of an (H, W, ...) array, each about ``_BLOCK_PIXELS`` pixels."""
    height = shape[0] if shape else 1
    width = int(np.prod(shape[1:], dtype=np.int64)) if len(shape) > 1 else 1
    rows = max(1, _BLOCK_PIXELS // max(width, 1))
    return [slice(start, min(start + rows, height)) for start in range(0, height, rows)]


def _median_filtered_max(values: np.ndarray, mask: np.ndarray | None, fill: float) -> float:
    """The maximum of the 3x3 median-filtered image (bad pixels read as ``fill``), a band of rows at a time.

    Equal to ``ndimage.median_filter(filled, size).max()`` on the whole
    image (``size`` 3, or 1 when a side is shorter than 3): each band
    carries one row of its neighbours, so every window it keeps is whole,
    and the image's own edges are reflected as before, however few rows the
    last band has.
    """
    size = 3 if values.ndim and min(values.shape) >= 3 else 1
    mask = None if mask is None else np.asarray(mask)
    best = -np.inf
    height = values.shape[0] if values.ndim else 1
    for rows in _row_blocks(values.shape):
        low, high = max(rows.start - 1, 0), min(rows.stop + 1, height)
        band = np.array(values[low:high], dtype=np.float64)
        bad = ~np.isfinite(band)
        if mask is not None:
            bad |= mask[low:high]
        band[bad] = fill
        # median3x3 gives scipy's values, faster (every loaded image passes here)
        filtered = (median3x3(band, mode="reflect") if size == 3 and band.ndim == 2
                    else ndimage.median_filter(band, size=size, mode="reflect"))
        best = max(best, float(filtered[rows.start - low:rows.stop - low].max()))
    return best


def _lightness_to_gray(lightness: float) -> float:
    """Inverse of :func:`gray_to_lightness` for one value."""
    fy = (lightness + 16.0) / 116.0
    linear = fy**3 if fy > LAB_DELTA else (116.0 * fy - 16.0) / LAB_KAPPA
    if linear > SRGB_LINEAR_KNEE:
        return 1.055 * linear ** (1.0 / SRGB_GAMMA) - 0.055
    return 12.92 * linear


def resolve_stretch(
    stretch: StretchLike, data: np.ndarray, mask: np.ndarray | None, *, default: str = "asinh"
):
    """Turn the ``stretch=`` argument of :func:`galcolor.load` into a callable.

    Parameters
    ----------
    stretch : {"auto", "asinh", "identity"} or callable
        ``"auto"`` means ``default``; ``"asinh"`` fits an :class:`AsinhStretch`
        to the data; ``"identity"`` reads the data as grey values in [0, 1].
        A callable (such as an :class:`AsinhStretch`, or an
        :class:`astropy.visualization.ImageNormalize`) maps flux to display
        values in [0, 1].
    data, mask : numpy.ndarray
        The image the stretch is for.
    default : {"asinh", "identity"}
        What "auto" means for this kind of input.

    Returns
    -------
    callable
    """
    if isinstance(stretch, str):
        name = default if stretch == "auto" else stretch
        if name == "asinh":
            return AsinhStretch.from_data(data, mask)
        if name == "identity":
            return IdentityStretch()
        raise InputError(
            f"unknown stretch {stretch!r}: use 'auto', 'asinh', 'identity' or a callable"
        )
    if callable(stretch):
        return stretch
    raise InputError(f"stretch must be a name or a callable, got {type(stretch).__name__}")


def apply_stretch(stretch, data: np.ndarray, source: str) -> np.ndarray:
    """Apply a stretch callable and turn its display values into L.

    Parameters
    ----------
    stretch : callable
        Maps flux to display values in [0, 1].
    data : numpy.ndarray
        Flux image (NaN where masked).
    source : str
        Name of the input, for error messages.

    Returns
    -------
    numpy.ndarray
        float32 lightness in [0, 100].
    """
    if isinstance(stretch, (AsinhStretch, IdentityStretch)) and data.ndim >= 1:
        # Elementwise: a band of rows at a time, so a large frame never has
        # more than one float64 copy (the caller's) in memory.
        lightness = np.empty(data.shape, dtype=np.float32)
        for rows in _row_blocks(data.shape):
            lightness[rows] = _display_lightness(stretch, data[rows], source)
        return lightness
    return _display_lightness(stretch, data, source)


def _display_lightness(stretch, data: np.ndarray, source: str) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        display = np.ma.filled(stretch(data), np.nan)
    display = np.asarray(display, dtype=np.float64)
    if display.shape != data.shape:
        raise InputError(
            f"{source}: stretch returned shape {display.shape} for an image of shape {data.shape}"
        )
    return gray_to_lightness(np.nan_to_num(display, nan=0.0).astype(np.float32))


def stretch_meta(stretch) -> dict[str, Any]:
    """Describe any stretch for ``Cutout.meta``."""
    if hasattr(stretch, "to_meta"):
        return stretch.to_meta()
    return {"name": "custom", "repr": repr(stretch)}
