"""JPEG, PNG and TIFF images into pixel arrays.

Pillow reads most files; two cases it gets wrong go elsewhere: 16-bit RGB(A)
PNGs, which Pillow silently truncates to 8 bits, are read with pypng, and
TIFFs are read with tifffile (16-bit color, float data).
"""

from __future__ import annotations

import contextlib
import logging
import warnings
from pathlib import Path
from typing import Iterator

import numpy as np
import png
import tifffile
from PIL import Image, UnidentifiedImageError

from ..exceptions import FileFormatError, GalcolorWarning

__all__ = ["read_raster", "RASTER_SUFFIXES"]

RASTER_SUFFIXES = (".jpg", ".jpeg", ".png", ".tif", ".tiff")

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def read_raster(path: str | Path) -> tuple[np.ndarray, np.ndarray | None, str]:
    """Pixels of a raster image, its alpha channel, and its format name.

    Parameters
    ----------
    path : str or pathlib.Path
        A JPEG, PNG or TIFF file.

    Returns
    -------
    pixels : numpy.ndarray
        (H, W) grey or (H, W, 3) RGB; uint8, uint16 or float.
    alpha : numpy.ndarray or None
        (H, W) alpha channel in the file's integer scale, if it has one.
    format : str
        "jpeg", "png" or "tiff".

    Raises
    ------
    galcolor.FileFormatError
        If the file is truncated or not an image. (:func:`galcolor.load`
        checks first that it exists and is not empty.)
    """
    name = str(path)
    path = Path(path)
    suffix = path.suffix.lower()
    try:
        if suffix in (".tif", ".tiff"):
            with _tifffile_log_as_warnings(name):
                return (*_read_tiff(path), "tiff")
        if suffix == ".png" and _is_16bit_color_png(path):
            return (*_read_png16(path), "png")
        return _read_pillow(path)
    except FileFormatError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError,
            Image.DecompressionBombError, png.Error, tifffile.TiffFileError) as error:
        raise FileFormatError(f"{name}: cannot read image ({error})") from error


def _read_pillow(path: Path) -> tuple[np.ndarray, np.ndarray | None, str]:
    with Image.open(path) as image:
        image.load()  # truncated files fail here, not later
        file_format = (image.format or path.suffix.lstrip(".")).lower()
        mode = image.mode
        if mode == "P":
            image = image.convert("RGBA" if "transparency" in image.info else "RGB")
        elif mode == "PA":
            image = image.convert("RGBA")
        elif mode in ("1", "CMYK", "YCbCr", "LAB", "HSV"):
            image = image.convert("L" if mode == "1" else "RGB")
        elif mode == "I;16B" or mode == "I;16L":
            image = image.convert("I;16")
        array = np.asarray(image)
    if array.dtype == np.int32 and array.size and array.min() >= 0 and array.max() <= 65535:
        array = array.astype(np.uint16)  # Pillow's "I" mode for 16-bit grey
    return (*_split_alpha(array), "jpeg" if file_format == "jpg" else file_format)


def _split_alpha(array: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """Separate grey+alpha (H, W, 2) and RGBA (H, W, 4) into color and alpha."""
    if array.ndim == 3 and array.shape[2] in (2, 4):
        color = array[..., 0] if array.shape[2] == 2 else array[..., :3]
        return color, array[..., -1]
    return array, None


def _is_16bit_color_png(path: Path) -> bool:
    with open(path, "rb") as handle:
        head = handle.read(26)
    if len(head) < 26 or not head.startswith(_PNG_SIGNATURE):
        return False
    bit_depth, color_type = head[24], head[25]
    return bit_depth == 16 and color_type in (2, 6)  # truecolor, truecolor + alpha


def _read_png16(path: Path) -> tuple[np.ndarray, np.ndarray | None]:
    width, height, rows, info = png.Reader(filename=str(path)).asDirect()
    planes = info["planes"]
    array = np.vstack([np.asarray(row, dtype=np.uint16) for row in rows]).reshape(height, width, planes)
    return _split_alpha(array)


@contextlib.contextmanager
def _tifffile_log_as_warnings(name: str) -> Iterator[None]:
    """tifffile's log records (a damaged tag it skips, ...) as warnings that name the file, not bare stderr lines."""
    records: list[logging.LogRecord] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    logger = logging.getLogger("tifffile")
    handler, propagate = Collect(logging.WARNING), logger.propagate
    logger.addHandler(handler)
    logger.propagate = False
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate
        for record in records[:3]:
            warnings.warn(f"{name}: {record.getMessage()}", GalcolorWarning, stacklevel=4)
        if len(records) > 3:
            warnings.warn(f"{name}: {len(records) - 3} more tifffile messages", GalcolorWarning, stacklevel=4)


def _read_tiff(path: Path) -> tuple[np.ndarray, np.ndarray | None]:
    with tifffile.TiffFile(path) as tiff:
        page = tiff.pages.first
        array = page.asarray()
        if array.dtype == bool:  # a bilevel image: as Pillow reads mode "1"
            array = array.astype(np.uint8) * np.uint8(255)
        if page.photometric == tifffile.PHOTOMETRIC.PALETTE and page.colormap is not None:
            colormap = np.asarray(page.colormap)
            array = (colormap[:, array].transpose(1, 2, 0) >> 8).astype(np.uint8)
        elif page.photometric == tifffile.PHOTOMETRIC.MINISWHITE:
            array = np.iinfo(array.dtype).max - array if array.dtype.kind == "u" else -array
    return _split_alpha(np.squeeze(array))
