"""FITS images, cubes and multi-extension files into a :class:`Cutout`."""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from astropy.io import fits
from scipy import ndimage
from astropy.visualization import make_lupton_rgb
from astropy.wcs import WCS, FITSFixedWarning

from ..exceptions import FileFormatError, InputError, warn
from .bands import (
    band_from_filename,
    band_from_header,
    band_wavelength,
    bands_from_cube_header,
    normalize_band,
    order_by_wavelength,
)
from .convention import SDSS_GRI, flux_pixel_scale, nanomaggy_units
from .cutout import Cutout, pixel_scale_arcsec
from .stretch import AsinhStretch, StretchLike, apply_stretch, resolve_stretch, sky_statistics, stretch_meta

__all__ = ["load_fits", "load_hdus", "FITS_SUFFIXES", "max_pixels", "sky_axes"]

FITS_SUFFIXES = (".fits", ".fit", ".fts")
#: The most HDUs galcolor reads from one FITS file.
MAX_HDUS = 1000
# The most pixels an image HDU may declare by default (see max_pixels).
_DEFAULT_MAX_PIXELS = 2 ** 28

# The band a colorizer should see by default is the one nearest SDSS r: the
# G channel of the gri composites the models are trained on, which dominates
# their lightness.
_PREFERRED_WAVELENGTH_NM = 617.0

# Smallest connected patch of exact zeros treated as "no data" (see _bad_pixels).
_MIN_ZERO_PATCH = 25


@dataclass
class _BandStack:
    """Same-shaped single-band planes from one FITS file."""

    planes: list[np.ndarray]
    names: list[str | None]
    headers: list[fits.Header]  # one per plane (the same header for a cube)
    hdu_indices: list[int]  # one per plane
    layout: str  # "image", "cube" or "extensions"


def load_fits(
    path: str | Path,
    *,
    band: str | int | None = None,
    hdu: int | str | None = None,
    stretch: StretchLike = "auto",
) -> Cutout:
    """Load a FITS file (optionally gzip/bzip2 compressed) into a Cutout.

    Use :func:`galcolor.load`, which dispatches here for ``.fits``, ``.fit``,
    ``.fts`` (and ``.gz``/``.bz2``) paths. Parameters are those of
    :func:`galcolor.load`.
    """
    name = str(path)
    _check_axis_cards(path, name)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            hdulist = fits.open(path, mode="readonly", memmap=False, lazy_load_hdus=True)
            try:
                _read_headers(hdulist, name)
            except BaseException:
                hdulist.close()
                raise
    except FileNotFoundError as error:
        raise FileFormatError(f"{name}: file not found") from error
    except FileFormatError:
        raise
    except Exception as error:  # astropy raises OSError, TypeError, ValueError...
        raise FileFormatError(f"{name}: not a readable FITS file ({error})") from error
    truncated = any("truncated" in str(w.message) for w in caught)
    with hdulist:
        return load_hdus(
            hdulist, band=band, hdu=hdu, stretch=stretch, source=name, truncated=truncated
        )


def _check_axis_cards(path: str | Path, source: str, size: int = 2 ** 21) -> None:
    """Refuse NAXIS and NAXISn cards no file can have, before astropy sees them.

    astropy builds a list of NAXIS axis lengths as it reads a header, so a
    corrupt ``NAXIS = 99999999`` takes minutes before anything can be
    checked. The cards of the first ``size`` bytes (decompressed) are read
    here first: every FITS header card starts at a multiple of 80 bytes.
    """
    import bz2
    import zlib

    try:
        with open(path, "rb") as handle:
            raw = handle.read(size)
    except OSError:
        return  # unreadable: fits.open says so, naming the file
    suffix = Path(path).suffix.lower()
    # decompressor objects give what a stream cut short still holds, as astropy reads it
    decompressor = {".gz": lambda: zlib.decompressobj(16 + zlib.MAX_WBITS),
                    ".bz2": bz2.BZ2Decompressor}.get(suffix)
    head = raw
    if decompressor is not None:
        try:
            head = decompressor().decompress(raw, size)
        except (OSError, EOFError, ValueError, zlib.error):
            return
    for start in range(0, len(head) - 79, 80):
        if head[start:start + 5] != b"NAXIS":
            continue
        card = head[start:start + 80].decode("ascii", "replace")
        keyword, equals, rest = card[:8].strip(), card[8:10], card[10:].split("/")[0].strip()
        if equals != "= " or not (keyword == "NAXIS" or keyword[5:].isdigit()):
            continue
        try:
            value: Any = int(rest)
        except ValueError:
            value = rest
        problem = _axis_problem(keyword, value)
        if problem:
            raise FileFormatError(f"{source}: {problem}")


def _axis_problem(keyword: str, value: Any) -> str | None:
    """What is wrong with a NAXIS or NAXISn value, None when nothing is (one rule for raw cards and headers)."""
    if not isinstance(value, int) or isinstance(value, bool):
        return f"{keyword} = {value!r} is not an integer"
    if keyword == "NAXIS" and not 0 <= value <= 999:
        return f"NAXIS = {value}; FITS allows 0 to 999 axes"
    if keyword != "NAXIS" and value < 0:
        return f"{keyword} = {value}; an axis length cannot be negative"
    return None


def _read_headers(hdulist: fits.HDUList, source: str) -> None:
    """Read every HDU's header, one at a time, refusing axis lengths no file can have.

    astropy reads the next HDU where the previous one's data end; a header
    that declares a negative NAXISn puts that before its own start, and
    astropy then reads the same header again and again. Each header is
    checked before the next one is read, and at most :data:`MAX_HDUS` are.
    """
    for index in range(MAX_HDUS + 1):
        if index == MAX_HDUS:
            raise FileFormatError(f"{source}: more than {MAX_HDUS} HDUs; galcolor reads at most {MAX_HDUS}")
        try:
            header = hdulist[index].header
        except IndexError:
            return
        axes = header.get("NAXIS", 0)
        problem = _axis_problem("NAXIS", axes)
        if problem is None:
            for axis in range(1, axes + 1):
                problem = _axis_problem(f"NAXIS{axis}", header.get(f"NAXIS{axis}"))
                if problem:
                    break
        if problem:
            raise FileFormatError(f"{source}: HDU {index}: {problem}")


def load_hdus(
    hdulist: fits.HDUList,
    *,
    band: str | int | None = None,
    hdu: int | str | None = None,
    stretch: StretchLike = "auto",
    source: str = "HDUList input",
    truncated: bool = False,
) -> Cutout:
    """Load an open :class:`~astropy.io.fits.HDUList` into a Cutout.

    Parameters are those of :func:`galcolor.load`; ``source`` names the
    input in messages and ``truncated`` says astropy warned that the file is
    shorter than its headers promise.
    """
    notes: list[str] = []
    stack = _find_bands(hdulist, hdu, source, truncated)
    if stack.layout == "image":
        stack.names = [_single_band_name(stack.headers[0], band_from_filename(source), source, notes)]
    bad = [_bad_pixels(plane) for plane in stack.planes]
    index, band_origin = _choose_band(stack, bad, band, source)
    if isinstance(band, str) and len(stack.planes) == 1:
        stack.names = [normalize_band(band)]
    mask = bad[index]
    if mask.all():
        raise InputError(
            f"{source}: band {_band_label(stack.names, index)} has no finite, valid pixels"
        )

    header = stack.headers[index].copy()
    wcs = _celestial_wcs(header, source, notes)
    # the bands of a file share its pixel grid, so the chosen band's WCS gives their pixel scale
    truth_rgb, truth_mask, truth_meta = _truth_composite(stack, bad, source, notes,
                                                         None if wcs is None else pixel_scale_arcsec(wcs))

    n_zero = int(np.count_nonzero((stack.planes[index] == 0) & mask))
    data = stack.planes[index]  # the loader's own float64 copy of the band (_read_plane_data): NaN in place
    data[mask] = np.nan
    stretch_used = resolve_stretch(stretch, data, mask, default="asinh")
    lightness = apply_stretch(stretch_used, data, source)
    lightness[mask] = 0.0

    meta: dict[str, Any] = {
        "format": "fits",
        "hdu": stack.hdu_indices[index],
        "layout": stack.layout,
        "band_names": [_band_label(stack.names, i) for i in range(len(stack.names))],
        "band_index": index,
        "band_origin": band_origin,
        "stretch": stretch_meta(stretch_used),
        "bunit": header.get("BUNIT"),
        "warnings": notes,
    }
    meta.update(truth_meta)
    if n_zero:
        meta["zero_pixels_masked"] = n_zero  # no-data pixels of the band that became L
    for note in notes:
        warn(note)
    return Cutout(
        lightness=lightness,
        mask=mask,
        wcs=wcs,
        header=header,
        band=stack.names[index],
        source=source,
        stretch=stretch_used,
        truth_rgb=truth_rgb,
        truth_mask=truth_mask,
        meta=meta,
    )


def _image_shape(hdu) -> tuple[int, ...]:
    if not getattr(hdu, "is_image", False):
        return ()
    try:
        return tuple(int(n) for n in hdu.shape)
    except Exception:
        return ()


def max_pixels() -> int:
    """The most pixels an image HDU may declare: ``GALCOLOR_MAX_PIXELS``, default 2**28.

    2**28 pixels (16,384 x 16,384) take 2 GB as float64, the type the loader
    works in; a header that declares more (a survey mosaic, or a corrupt
    NAXIS) is refused before any data are read. Set the environment
    variable ``GALCOLOR_MAX_PIXELS`` to raise the limit.

    Examples
    --------
    >>> from galcolor.io.fitsfile import max_pixels
    >>> max_pixels() == 2 ** 28  # without GALCOLOR_MAX_PIXELS
    True
    """
    text = os.environ.get("GALCOLOR_MAX_PIXELS", "")
    try:
        return max(1, int(float(text))) if text else _DEFAULT_MAX_PIXELS
    except ValueError:
        raise InputError(f"GALCOLOR_MAX_PIXELS must be a number of pixels, got {text!r}") from None


def _read_plane_data(hdu, index: int, source: str, truncated: bool) -> np.ndarray:
    """The data of an image HDU as float64, BLANK pixels as NaN."""
    shape = _image_shape(hdu)
    declared = int(np.prod(shape, dtype=np.float64)) if shape else 0
    limit = max_pixels()
    if declared > limit:
        raise InputError(f"{source}: HDU {index} declares {declared:,} pixels (shape {shape}), more "
                         f"than galcolor's limit of {limit:,}; cut it smaller, or raise the limit with the "
                         "environment variable GALCOLOR_MAX_PIXELS")
    try:
        raw = hdu.data
    except Exception as error:
        reason = "file is truncated" if truncated else "data are corrupt"
        raise FileFormatError(f"{source}: HDU {index} cannot be read, {reason} ({error})") from error
    if raw is None:
        raise InputError(f"{source}: HDU {index} has no data")
    data = np.array(raw, dtype=np.float64)
    blank = hdu.header.get("BLANK")
    if blank is not None and np.issubdtype(raw.dtype, np.integer):
        # astropy turns BLANK into NaN when it scales; unscaled integers keep it.
        data[np.asarray(raw) == blank] = np.nan
    return data


def _find_bands(hdulist: fits.HDUList, hdu: int | str | None, source: str, truncated: bool) -> _BandStack:
    if hdu is not None:
        try:
            selected = hdulist[hdu]
        except (KeyError, IndexError) as error:
            names = [f"{i}:{h.name}" for i, h in enumerate(hdulist)]
            raise InputError(f"{source}: no HDU {hdu!r}; the file has {names}") from error
        index = hdulist.index_of(hdu) if isinstance(hdu, str) else int(hdu) % len(hdulist)
        candidates = [(index, selected)]
        if len(_squeezed(_image_shape(selected))) not in (2, 3):
            raise InputError(
                f"{source}: HDU {hdu!r} is not a 2-D image or 3-D cube "
                f"(shape {_image_shape(selected)})"
            )
    else:
        candidates = [
            (i, h) for i, h in enumerate(hdulist)
            if len(_squeezed(_image_shape(h))) in (2, 3) and np.prod(_image_shape(h)) > 0
        ]
        if not candidates:
            raise InputError(f"{source}: no HDU holds a 2-D image or 3-D cube")

    first_index, first = candidates[0]
    shape = _squeezed(_image_shape(first))
    if len(shape) == 3:
        cube = _read_plane_data(first, first_index, source, truncated).reshape(shape)
        names = bands_from_cube_header(first.header, shape[0])
        return _BandStack(list(cube), names, [first.header] * shape[0], [first_index] * shape[0], "cube")

    # One band per extension: same-shaped 2-D HDUs that each name a band.
    if hdu is None:
        same = [(i, h) for i, h in candidates if _squeezed(_image_shape(h)) == shape]
        names = [band_from_header(h.header)[0] for _, h in same]
        if len(same) >= 2 and all(names) and len(set(names)) == len(names):
            planes = [_read_plane_data(h, i, source, truncated).reshape(shape) for i, h in same]
            return _BandStack(planes, names, [h.header for _, h in same], [i for i, _ in same], "extensions")
    plane = _read_plane_data(first, first_index, source, truncated).reshape(shape)
    return _BandStack([plane], [None], [first.header], [first_index], "image")


def _squeezed(shape: tuple[int, ...]) -> tuple[int, ...]:
    """Drop leading length-1 axes (radio-style (1, 1, H, W) images)."""
    shape = tuple(shape)
    while len(shape) > 2 and shape[0] == 1:
        shape = shape[1:]
    return shape


def _single_band_name(
    header: fits.Header, filename_band: str | None, source: str, notes: list[str]
) -> str | None:
    header_band, keyword = band_from_header(header)
    if header_band and filename_band and header_band != filename_band:
        notes.append(
            f"{source}: header says {keyword}={header[keyword]!r} but the file name says band "
            f"{filename_band!r}; using {filename_band!r}"
        )
        return filename_band
    return header_band or filename_band


def _band_label(names: list[str | None], index: int) -> str:
    """A band's name, or "plane N" for unnamed cube planes."""
    return names[index] if names[index] is not None else f"plane {index}"


def _bad_pixels(plane: np.ndarray) -> np.ndarray:
    """NaN/Inf pixels, plus no-data patches of exact zeros.

    Survey cutouts fill pixels outside the footprint with 0.0 (DECaLS
    ``example_bad_pix`` has 75% of its g band so). Real float data with sky
    noise essentially never hold the exact value 0 in a connected patch, so
    zero patches of ``_MIN_ZERO_PATCH`` pixels or more are masked, unless the
    whole image is zero (a constant image is valid input).
    """
    bad = ~np.isfinite(plane)
    zeros = plane == 0
    if zeros.any() and not (zeros | bad).all():
        labels, n_patches = ndimage.label(zeros)
        if n_patches:
            sizes = np.bincount(labels.ravel())
            large = sizes >= _MIN_ZERO_PATCH
            large[0] = False
            bad |= large[labels]
    return bad


def _choose_band(
    stack: _BandStack, bad: list[np.ndarray], band: str | int | None, source: str
) -> tuple[int, str]:
    n_bands = len(stack.planes)
    if band is None:
        if n_bands == 1:
            return 0, "only band"
        # Skip bands that are mostly no-data when another band is usable.
        usable = [i for i in range(n_bands) if bad[i].mean() <= 0.5] or list(range(n_bands))
        wavelengths = [band_wavelength(name) for name in stack.names]
        if all(wavelengths[i] is not None for i in usable):
            index = min(usable, key=lambda i: abs(wavelengths[i] - _PREFERRED_WAVELENGTH_NM))
            return index, "default (nearest r with valid data)"
        middle = (n_bands - 1) // 2
        return min(usable, key=lambda i: abs(i - middle)), "default (middle plane)"
    if isinstance(band, (int, np.integer)) and not isinstance(band, bool):
        if not -n_bands <= band < n_bands:
            raise InputError(f"{source}: band index {band} out of range for {n_bands} band(s)")
        return int(band) % n_bands, "argument"
    if isinstance(band, str):
        if n_bands == 1:
            return 0, "argument"
        wanted = normalize_band(band)
        if wanted in stack.names:
            return stack.names.index(wanted), "argument"
        available = [_band_label(stack.names, i) for i in range(n_bands)]
        raise InputError(f"{source}: no band {band!r}; available bands are {available}")
    raise InputError(f"{source}: band must be a name, an index or None, got {band!r}")


def _truth_composite(stack: _BandStack, bad: list[np.ndarray], source: str, notes: list[str],
                     pixel_scale: float | None) -> tuple[np.ndarray | None, np.ndarray | None, dict[str, Any]]:
    """The true color of a multi-band file in galcolor's convention (:data:`~galcolor.io.convention.SDSS_GRI`).

    i, r, g light R, G, B; a missing band is interpolated between its
    neighbours or replaced by the nearest one
    (:meth:`~galcolor.io.convention.ColorConvention.channel_sources`: i from
    r and z in a DECaLS grz cube; ``meta["truth_substitutes"]`` says so).
    Fluxes in nanomaggies (``BUNIT``, or a survey known to deliver them)
    are composited with the convention's own stretch, brought to the SDSS
    pixel by the ratio of pixel areas
    (:func:`~galcolor.io.convention.flux_pixel_scale` says which pixel);
    other units, or bands that cannot be matched, get the convention's
    weights (matched bands) or none (unnamed planes, in wavelength order)
    with an asinh stretch set from the data, and the metadata name the
    departure. ``pixel_scale`` is the file's (arcsec, from its WCS; None
    without one). Returns (rgb, mask, metadata) or (None, None, metadata).
    """
    if len(stack.planes) < 3:
        return None, None, {}
    names = [name for name in stack.names if name is not None]
    sources = SDSS_GRI.channel_sources(names) if len(set(names)) == len(names) else None

    def subtracted(index: int, mask: np.ndarray) -> np.ndarray:
        sky, _ = sky_statistics(stack.planes[index], mask)
        return np.where(mask, 0.0, stack.planes[index] - sky)

    if sources is not None:
        indices = sorted({stack.names.index(band) for used in sources.values() for band in used})
        mask = np.logical_or.reduce([bad[i] for i in indices])
        if mask.all():
            notes.append(f"{source}: no pixel is valid in all the color bands; no true color")
            return None, None, {}
        flux, how = SDSS_GRI.channel_fluxes({stack.names[i]: subtracted(i, mask) for i in indices})
        labels = ["+".join(sources[channel]) for channel in SDSS_GRI.channels]
        substitutes = {channel: text for channel, text in how.items() if text != channel}
        header = stack.headers[indices[0]]
        if nanomaggy_units(header):
            scale, scale_origin = flux_pixel_scale(header, pixel_scale)
            rgb = SDSS_GRI.composite(flux, pixel_scale_arcsec=scale, mask=mask)
            convention = f"{SDSS_GRI.name} (fluxes per {scale_origin})"
        else:
            planes = [flux[channel] * SDSS_GRI.weights[channel] for channel in SDSS_GRI.channels]
            rgb = _data_stretched_composite(planes, mask)
            convention = f"{SDSS_GRI.name} bands and weights, stretch from the data (units not nanomaggies)"
    else:
        order = order_by_wavelength(stack.names)
        indices = [order[-1], order[(len(order) - 1) // 2], order[0]]
        mask = np.logical_or.reduce([bad[i] for i in indices])
        if mask.all():
            notes.append(f"{source}: no pixel is valid in all three color bands; no true color")
            return None, None, {}
        rgb = _data_stretched_composite([subtracted(i, mask) for i in indices], mask)
        labels = [_band_label(stack.names, i) for i in indices]
        substitutes = {}
        convention = "bands in wavelength order, equal weights, stretch from the data (bands not matched to g, r, i)"
    meta: dict[str, Any] = {"truth_bands": labels, "truth_convention": convention}
    if substitutes:
        meta["truth_substitutes"] = substitutes  # channel band -> how its flux was obtained
    return rgb, mask, meta


def _data_stretched_composite(planes: list[np.ndarray], mask: np.ndarray) -> np.ndarray:
    """Lupton composite of (R, G, B) planes with the "auto" asinh stretch of their mean (units unknown)."""
    stretch = AsinhStretch.from_data(np.mean(planes, axis=0), mask)
    with np.errstate(invalid="ignore", divide="ignore"):  # astropy divides 0 by 0 on black sky
        rgb = make_lupton_rgb(*planes, minimum=0.0, stretch=stretch.stretch, Q=stretch.q, output_dtype=np.float64)
    rgb = np.nan_to_num(rgb)
    rgb[mask] = 0.0
    return rgb.astype(np.float32)


def _celestial_wcs(header: fits.Header, source: str, notes: list[str]) -> WCS | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FITSFixedWarning)
            wcs = WCS(header)
    except Exception as error:
        notes.append(f"{source}: WCS in the header could not be read ({error}); no WCS")
        return None
    if not wcs.has_celestial:
        return None
    return sky_axes(wcs)


def sky_axes(wcs: WCS) -> WCS:
    """The celestial part of a WCS that has one: ``wcs`` itself when it has only the two sky axes, in order.

    ``WCS.celestial`` builds a new WCS (a deep copy) every time; a plain
    two-axis sky WCS needs none.

    Examples
    --------
    >>> from astropy.wcs import WCS
    >>> sky = WCS(naxis=2)
    >>> sky.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    >>> sky_axes(sky) is sky
    True
    """
    return wcs if wcs.naxis == 2 and (wcs.wcs.lng, wcs.wcs.lat) == (0, 1) else wcs.celestial
