"""``galcolor.load``: any galaxy image into a :class:`Cutout`."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable, Union

import numpy as np
from astropy.io import fits

from ..color import rgb_lightness
from ..exceptions import FileFormatError, GalcolorError, InputError, warnings_named
from .cutout import Cutout
from .fitsfile import FITS_SUFFIXES, load_fits, load_hdus
from .raster import RASTER_SUFFIXES, read_raster
from .stretch import StretchLike, apply_stretch, resolve_stretch, stretch_meta

__all__ = ["load", "SourceLike", "SUPPORTED_SUFFIXES", "is_readable_name", "file_kind"]

SourceLike = Union[str, os.PathLike, np.ndarray, fits.HDUList, fits.PrimaryHDU, fits.ImageHDU, fits.CompImageHDU, Cutout]

SUPPORTED_SUFFIXES = FITS_SUFFIXES + RASTER_SUFFIXES
_COMPRESSION_SUFFIXES = (".gz", ".bz2")

# The three channels of an RGB image a user may pick as "the band".
_RGB_CHANNELS = {"R": 0, "G": 1, "B": 2}


def load(
    source: SourceLike,
    *,
    band: str | int | None = None,
    hdu: int | str | None = None,
    stretch: StretchLike = "auto",
) -> Cutout:
    """Load a galaxy image into a :class:`Cutout` (CIELAB lightness + provenance).

    Parameters
    ----------
    source : str, os.PathLike, numpy.ndarray, astropy HDU/HDUList or Cutout
        A path to ``.fits``/``.fit``/``.fts`` (optionally ``.gz``/``.bz2``)
        or ``.jpg``/``.jpeg``/``.png``/``.tif``/``.tiff``; an (H, W) array of
        flux (float) or grey levels (uint8/uint16); an (H, W, 3) RGB array
        (uint8, uint16 or float in [0, 1]); an astropy HDU or HDUList; or a
        Cutout, returned unchanged.
    band : str or int, optional
        Which band becomes the lightness. For FITS cubes and multi-extension
        files, a band name (``"r"``) or plane index; by default the band
        nearest SDSS r (or the middle plane when bands are unnamed). For a
        single-band file, a name relabels the band. For RGB images, ``"R"``,
        ``"G"`` or ``"B"`` (or 0-2) reads that channel as grey instead of
        using the color lightness.
    hdu : int or str, optional
        FITS HDU to read (index or EXTNAME); by default the first HDU with a
        2-D image or 3-D cube.
    stretch : {"auto", "asinh", "identity"} or callable, optional
        How single-band data become L. ``"auto"``: the asinh stretch of
        :class:`galcolor.io.AsinhStretch` for flux (FITS, float arrays) and
        grey levels read as sRGB for 8/16-bit images. A callable maps the
        data (NaN where masked) to display values in [0, 1], e.g. an
        :class:`~galcolor.io.AsinhStretch` or an
        :class:`astropy.visualization.ImageNormalize`.

    Returns
    -------
    Cutout

    Raises
    ------
    galcolor.FileFormatError
        (an ``OSError``) if a file is missing, empty, truncated, corrupt or of
        an unknown format.
    galcolor.InputError
        (a ``ValueError``) if the content is unusable: wrong shape, no finite
        pixels, an unknown band or HDU.

    See Also
    --------
    galcolor.Cutout, galcolor.io.AsinhStretch

    Notes
    -----
    Inputs are only ever read. Masked pixels (NaN/Inf, FITS ``BLANK``, fully
    transparent pixels) have ``mask = True`` and L = 0. When a FITS input has
    three or more bands, ``truth_rgb`` is their Lupton et al. (2004) color
    composite (reddest band in R, bluest in B), so color predictions can be
    compared with real color.

    Examples
    --------
    >>> import numpy as np
    >>> import galcolor
    >>> rng = np.random.default_rng(0)
    >>> image = rng.normal(0.0, 1.0, (64, 64)).astype(np.float32)
    >>> image[24:40, 24:40] += 200.0
    >>> cutout = galcolor.load(image)
    >>> cutout.shape, cutout.meta["stretch"]["name"]
    ((64, 64), 'asinh')
    >>> bool(cutout.lightness[32, 32] > 50 > cutout.lightness[2, 2])
    True
    """
    if isinstance(source, Cutout):
        return source
    if isinstance(source, (str, os.PathLike)):
        name = str(source)
        return _naming(name, FileFormatError, _load_path, Path(source), band=band, hdu=hdu, stretch=stretch)
    hdus = (fits.PrimaryHDU, fits.ImageHDU, fits.CompImageHDU)
    if isinstance(source, (fits.HDUList, *hdus, np.ndarray)) or hasattr(source, "__array__"):
        name = ("HDUList input" if isinstance(source, fits.HDUList) else
                f"{type(source).__name__} input" if isinstance(source, hdus) else "array input")
        return _naming(name, InputError, _load_source, source, name, band=band, hdu=hdu, stretch=stretch)
    raise InputError(f"cannot load a {type(source).__name__}: pass a path, an array, an HDU or a Cutout")


def _naming(name: str, wrapper: type[GalcolorError], function: Callable[..., Cutout], *args: Any,
            **kwargs: Any) -> Cutout:
    """Call a loader so that whatever goes wrong names the input: the one place errors are wrapped.

    A galcolor error that does not name the input gets its name in front;
    any other exception (astropy's ``VerifyError``, a decoder's ``OSError``
    or ``ValueError``, a ``zlib.error`` of a cut-short stream, ...) becomes a
    ``wrapper`` (:class:`~galcolor.FileFormatError` for files,
    :class:`~galcolor.InputError` for in-memory data) naming the input and
    the original, which stays chained. Warnings raised while loading are
    issued again with the input's name in front, in their own category.
    """
    try:
        with warnings_named(name):  # outside the recording: the warnings reach the caller's filters
            result = function(*args, **kwargs)
    except GalcolorError as error:
        if name in str(error):
            raise
        raise type(error)(f"{name}: {error}") from error
    except MemoryError as error:
        raise wrapper(f"{name}: too large to load in this machine's memory") from error
    except Exception as error:  # noqa: BLE001 - a corrupt file may raise anything; it is named here
        raise wrapper(f"{name}: cannot be read ({type(error).__name__}: {error})") from error
    return result


def _load_source(source: Any, name: str, *, band, hdu, stretch) -> Cutout:
    """An in-memory source (HDU, HDUList or array), called ``name`` in messages, into a Cutout."""
    if isinstance(source, fits.HDUList):
        return load_hdus(source, band=band, hdu=hdu, stretch=stretch, source=name)
    if isinstance(source, (fits.PrimaryHDU, fits.ImageHDU, fits.CompImageHDU)):
        return load_hdus(fits.HDUList([source]), band=band, hdu=None, stretch=stretch, source=name)
    return _load_array(np.asarray(source), band=band, stretch=stretch, source=name, meta={"format": "array"})


def file_kind(path: str | os.PathLike) -> str:
    """"fits" or "raster" from the file name; :class:`~galcolor.FileFormatError` otherwise.

    Examples
    --------
    >>> from galcolor.io.load import file_kind
    >>> file_kind("NGC1300_r.fits.bz2"), file_kind("NGC1300.JPG")
    ('fits', 'raster')
    """
    path = Path(path)
    suffixes = [s.lower() for s in path.suffixes[-2:]]
    last = suffixes[-1] if suffixes else ""
    if last in FITS_SUFFIXES or (
        last in _COMPRESSION_SUFFIXES and len(suffixes) == 2 and suffixes[0] in FITS_SUFFIXES
    ):
        return "fits"
    if last in RASTER_SUFFIXES:
        return "raster"
    raise FileFormatError(
        f"{path}: unknown file type {''.join(path.suffixes[-2:]) or '(no extension)'}; "
        f"galcolor reads {', '.join(SUPPORTED_SUFFIXES)} (FITS also .gz/.bz2)"
    )


def is_readable_name(name: str) -> bool:
    """A visible file name whose extension galcolor reads.

    Hidden names (``.name``) are not: galcolor's own atomic writes use them
    for temporary files.

    Examples
    --------
    >>> from galcolor.io.load import is_readable_name
    >>> is_readable_name("NGC1300_r.fits.gz"), is_readable_name(".NGC1300_r.fits.tmp"), is_readable_name("notes.txt")
    (True, False, False)
    """
    if name.startswith("."):
        return False
    try:
        file_kind(name)
    except FileFormatError:
        return False
    return True


def _load_path(path: Path, *, band, hdu, stretch) -> Cutout:
    name = str(path)
    if path.is_dir():  # whatever its name: a folder is not an image
        raise FileFormatError(f"{name}: is a directory, not an image file (galcolor pipeline reads folders)")
    if not path.exists():
        if path.is_symlink():
            raise FileFormatError(f"{name}: a symbolic link to nothing (its target is missing, or a loop)")
        raise FileFormatError(f"{name}: file not found")
    kind = file_kind(path)
    if path.stat().st_size == 0:
        raise FileFormatError(f"{name}: file is empty (0 bytes)")
    if kind == "fits":
        return load_fits(path, band=band, hdu=hdu, stretch=stretch)
    if hdu is not None:
        raise InputError(f"{name}: hdu= only applies to FITS files")
    pixels, alpha, file_format = read_raster(path)
    mask = None if alpha is None else alpha == 0
    return _load_array(pixels, band=band, stretch=stretch, source=name,
                       meta={"format": file_format}, mask=mask)


def _integer_scale(array: np.ndarray) -> float | None:
    """Full-scale value of 8/16-bit image data, None for flux-like data."""
    if array.dtype == np.uint8:
        return 255.0
    if array.dtype == np.uint16:
        return 65535.0
    return None


def _load_array(
    array: np.ndarray,
    *,
    band,
    stretch: StretchLike,
    source: str,
    meta: dict[str, Any],
    mask: np.ndarray | None = None,
) -> Cutout:
    if array.size == 0:
        raise InputError(f"{source}: image is empty (shape {array.shape})")
    if array.dtype.kind not in "uif":
        raise InputError(f"{source}: pixel type {array.dtype} is not numeric image data")
    is_rgb = array.ndim == 3 and array.shape[2] == 3
    if array.ndim != 2 and not is_rgb:
        raise InputError(
            f"{source}: expected a 2-D image (H, W) or an RGB image (H, W, 3), got shape {array.shape}"
        )
    bad = np.zeros(array.shape[:2], dtype=bool) if mask is None else mask.copy()
    if array.dtype.kind == "f":
        finite = np.isfinite(array)
        bad |= ~finite if array.ndim == 2 else ~finite.all(axis=2)
    if bad.all():
        raise InputError(f"{source}: image has no finite, unmasked pixels")
    meta = {**meta, "warnings": []}
    if is_rgb:
        return _cutout_from_rgb(array, bad, band=band, stretch=stretch, source=source, meta=meta)

    scale = _integer_scale(array)
    data = array.astype(np.float64) / (scale or 1.0)
    data[bad] = np.nan
    stretch_used = resolve_stretch(stretch, data, bad, default="asinh" if scale is None else "identity")
    lightness = apply_stretch(stretch_used, data, source)
    lightness[bad] = 0.0
    meta["stretch"] = stretch_meta(stretch_used)
    return Cutout(lightness=lightness, mask=bad, band=band if isinstance(band, str) else None,
                  source=source, stretch=stretch_used, meta=meta)


def _cutout_from_rgb(rgb: np.ndarray, bad: np.ndarray, *, band, stretch, source: str, meta) -> Cutout:
    scale = _integer_scale(rgb)
    if scale is None and rgb.dtype.kind != "f":
        raise InputError(f"{source}: RGB images must be uint8, uint16 or float in [0, 1], got {rgb.dtype}")
    color = rgb.astype(np.float32) / np.float32(scale or 1.0)
    color[bad] = 0.0
    if scale is None:
        low, high = float(color.min()), float(color.max())
        # 1e-3 allows rounding from an upstream float pipeline, nothing more.
        if low < -1e-3 or high > 1 + 1e-3:
            raise InputError(
                f"{source}: float RGB values must lie in [0, 1], got range [{low:.4g}, {high:.4g}]"
            )
        color = np.clip(color, 0.0, 1.0)
    if band is None:
        lightness = rgb_lightness(rgb if rgb.dtype == np.uint8 else color)
        meta["stretch"] = {"name": "none (lightness of the color image)"}
        stretch_used = None
    else:
        key = band.upper() if isinstance(band, str) else band
        channel = _RGB_CHANNELS.get(key, key) if isinstance(key, str) else key
        if channel not in (0, 1, 2):
            raise InputError(f"{source}: an RGB image has bands 'R', 'G', 'B' (or 0-2), not {band!r}")
        data = color[..., channel].astype(np.float64)
        data[bad] = np.nan
        stretch_used = resolve_stretch(stretch, data, bad, default="identity")
        lightness = apply_stretch(stretch_used, data, source)
        meta["stretch"] = stretch_meta(stretch_used)
        meta["rgb_channel"] = "RGB"[channel]
    lightness = np.asarray(lightness, dtype=np.float32)
    lightness[bad] = 0.0
    return Cutout(lightness=lightness, mask=bad, band=None, source=source, stretch=stretch_used,
                  truth_rgb=color, meta=meta)
