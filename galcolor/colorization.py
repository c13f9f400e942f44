"""The result of :func:`galcolor.colorize`: :class:`Colorization`.

A :class:`Colorization` holds the input's unchanged lightness, the predicted
chrominance (a*, b*) and its per-pixel uncertainty on the input's pixel grid,
the mask, WCS and header of the input, and a record of how it was made. It
writes itself as a color image (:meth:`Colorization.save`), as a FITS file
with every map and the WCS (:meth:`Colorization.to_fits`), and draws itself
(:meth:`Colorization.plot`).
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from astropy.io import fits
from astropy.wcs import WCS

from ._atomic import atomic_write
from .color import lab_to_rgb_numpy
from .exceptions import InputError
from .io.bands import normalize_band

__all__ = ["Colorization", "RASTER_FORMATS", "COLOR_PLANES", "PRODUCT_PLANES"]

#: The color planes of a FITS product (:meth:`Colorization.to_fits`): what marks a file as one ...
COLOR_PLANES = ("A", "B", "A_STD", "B_STD")
#: ... and every image HDU it holds, by EXTNAME.
PRODUCT_PLANES = ("L",) + COLOR_PLANES + ("MASK",)
#: File name endings :meth:`Colorization.save` writes, and the format of each.
RASTER_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".tif": "TIFF", ".tiff": "TIFF"}

# Header keywords of the input copied to every FITS product (besides the WCS).
_COPIED_KEYWORDS = ("OBJECT", "TELESCOP", "INSTRUME", "FILTER", "DATE-OBS", "MJD-OBS", "EQUINOX",
                    "RADESYS", "SEEING", "PSF_FWHM", "PSFFWHM", "FWHM")


# The RGB cube of a product is converted and written this many pixels at a time.
_BAND_PIXELS = 1 << 20

#: The float32 planes of a color product (:meth:`Colorization.to_fits`), in HDU order, and what each holds.
_PRODUCT_PLANES = {"L": "CIELAB lightness L* of the input (0-100)", "A": "predicted CIELAB a*",
                   "B": "predicted CIELAB b*", "A_STD": "standard deviation of predicted a*",
                   "B_STD": "standard deviation of predicted b*"}


@dataclass(eq=False)
class Colorization:
    """A colorized galaxy image: lightness, predicted ab, its uncertainty, provenance.

    Made by :func:`galcolor.colorize` and :class:`galcolor.Colorizer`; every
    array has the input's (H, W) and lines up with the input's pixels.

    Parameters
    ----------
    lightness : numpy.ndarray, shape (H, W), float32
        CIELAB L of the input, unchanged (0 at masked pixels).
    ab : numpy.ndarray, shape (H, W, 2), float32
        Predicted a*, b* (0 at masked pixels).
    ab_std : numpy.ndarray, shape (H, W, 2), float32
        Standard deviation of the prediction of a* and b*: the spread of the
        test-time-augmented predictions combined with the spread of the
        classification head's distribution when the model has one (0 at
        masked pixels; all 0 for a regression model without TTA).
    mask : numpy.ndarray, shape (H, W), bool
        True where the input pixel was bad; such pixels are masked in every
        product (transparent in PNG/TIFF, NaN in FITS).
    wcs : astropy.wcs.WCS or None
        The input's celestial WCS.
    header : astropy.io.fits.Header or None
        The input's FITS header.
    source : str
        Where the input came from.
    meta : dict
        How it was made: ``model``, ``weights_sha256``, ``stretch``, ``tta``,
        ``device``, ``galcolor_version``, ``date``, ``scale`` (network pixels
        per input pixel), ``tiles`` and more.

    Examples
    --------
    >>> import numpy as np
    >>> from galcolor import Colorization
    >>> result = Colorization(lightness=np.full((2, 2), 50, np.float32),
    ...                       ab=np.zeros((2, 2, 2), np.float32), ab_std=np.zeros((2, 2, 2), np.float32),
    ...                       mask=np.zeros((2, 2), bool))
    >>> result.rgb.shape, round(float(result.rgb[0, 0, 0]), 3)
    ((2, 2, 3), 0.466)
    """

    lightness: np.ndarray
    ab: np.ndarray
    ab_std: np.ndarray
    mask: np.ndarray
    wcs: WCS | None = None
    header: fits.Header | None = None
    source: str = "array input"
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.lightness = np.asarray(self.lightness, dtype=np.float32)
        if self.lightness.ndim != 2:
            raise InputError(f"{self.source}: lightness must be (H, W), got {self.lightness.shape}")
        shape = self.lightness.shape
        self.ab = np.asarray(self.ab, dtype=np.float32)
        self.ab_std = np.asarray(self.ab_std, dtype=np.float32)
        self.mask = np.asarray(self.mask, dtype=bool)
        for name, value, expected in (("ab", self.ab, shape + (2,)), ("ab_std", self.ab_std, shape + (2,)),
                                      ("mask", self.mask, shape)):
            if value.shape != expected:
                raise InputError(f"{self.source}: {name} must have shape {expected}, got {value.shape}")
        self._rgb: np.ndarray | None = None

    # ------------------------------------------------------------------ views

    @property
    def shape(self) -> tuple[int, int]:
        """(H, W) of the image."""
        return self.lightness.shape

    @property
    def lab(self) -> np.ndarray:
        """CIELAB image, shape (H, W, 3): L, a*, b*."""
        return np.concatenate([self.lightness[..., None], self.ab], axis=-1)

    @property
    def rgb(self) -> np.ndarray:
        """sRGB image in [0, 1], shape (H, W, 3), float32; 0 at masked pixels."""
        if self._rgb is None:
            rgb = lab_to_rgb_numpy(self.lab)  # float32, a new array
            rgb[self.mask] = 0.0
            self._rgb = rgb
        return self._rgb

    @property
    def chroma_std(self) -> np.ndarray:
        """Uncertainty of the predicted color, sqrt(std(a*)^2 + std(b*)^2), shape (H, W)."""
        return np.hypot(self.ab_std[..., 0], self.ab_std[..., 1])

    @property
    def origin(self) -> str:
        """``"lower"`` when the input was a FITS image (row 0 at the bottom), else ``"upper"``."""
        return "lower" if self.header is not None or self.meta.get("input_format") == "fits" else "upper"

    def __repr__(self) -> str:
        height, width = self.shape
        return (f"Colorization(source={self.source!r}, shape=({height}, {width}), "
                f"model={self.meta.get('model')!r}, tta={self.meta.get('tta')!r}, "
                f"wcs={'yes' if self.wcs is not None else 'no'}, mask_fraction={float(self.mask.mean()):.3g})")

    # ---------------------------------------------------------- color indices

    def _convention_check(self) -> None:
        style = self.meta.get("style")
        if style:
            raise InputError(f"{self.source}: color indices are defined in galcolor's convention (sdss-gri); "
                             f"this colorization is in the {style!r} survey style: colorize without a style")

    def _draws(self, samples: int, seed: int, correlated: bool) -> np.ndarray:
        """(samples, H, W, 2) a*, b* drawn from the prediction and its uncertainty."""
        rng = np.random.default_rng(seed)
        shape = (samples, 1, 1, 2) if correlated else (samples,) + self.ab.shape
        return self.ab[None] + rng.standard_normal(shape).astype(np.float32) * self.ab_std[None]

    def color_indices(self, *, samples: int = 32, seed: int = 0) -> dict[str, np.ndarray]:
        """Per-pixel color indices g - r and r - i (AB mag) of the predicted color, with uncertainties.

        The model's color is the SDSS Galaxy Zoo gri composite
        (:data:`galcolor.io.convention.SDSS_GRI`), a Lupton composite that
        keeps the ratios of its channels, so each pixel's predicted RGB
        inverts to flux ratios:
        ``g - r = -2.5 log10((B / w_g) / (G / w_r))``. The uncertainty is
        the standard deviation over ``samples`` draws of a*, b* from the
        prediction and ``ab_std``. Pixels with no color (masked, black) are
        NaN. Only for colorizations in galcolor's convention (no survey
        style).

        Parameters
        ----------
        samples : int, optional
            Draws for the uncertainty (default 32).
        seed : int, optional

        Returns
        -------
        dict
            ``"g-r"``, ``"r-i"``, ``"g-r_std"``, ``"r-i_std"``: (H, W) float arrays.

        Examples
        --------
        >>> import numpy as np
        >>> from galcolor import Colorization
        >>> result = Colorization(lightness=np.full((4, 4), 60, np.float32),
        ...                       ab=np.tile(np.float32([6.0, 20.0]), (4, 4, 1)),
        ...                       ab_std=np.full((4, 4, 2), 2.0, np.float32), mask=np.zeros((4, 4), bool))
        >>> indices = result.color_indices()
        >>> round(float(indices["g-r"][0, 0]), 2), bool(0 < indices["g-r_std"][0, 0] < 0.2)
        (0.6, True)
        """
        from .io.convention import SDSS_GRI

        self._convention_check()
        indices = SDSS_GRI.color_indices(self.rgb)
        drawn = [SDSS_GRI.color_indices(lab_to_rgb_numpy(np.concatenate([self.lightness[..., None], ab], axis=-1)))
                 for ab in self._draws(samples, seed, correlated=False)]
        result: dict[str, np.ndarray] = {}
        for name, value in indices.items():
            value = value.copy()
            value[self.mask] = np.nan
            result[name] = value
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN pixels (black sky)
                std = np.nanstd(np.stack([draw[name] for draw in drawn]), axis=0)
            std[np.isnan(value)] = np.nan
            result[f"{name}_std"] = std
        return result

    def integrated_colors(self, region: np.ndarray | None = None, *, samples: int = 64, seed: int = 0
                          ) -> dict[str, float]:
        """Galaxy-integrated g - r and r - i (AB mag) of the predicted color, with uncertainties.

        The predicted composite is turned back into fluxes per band with the
        convention's asinh stretch (:func:`galcolor.io.lupton.linear_from_display`)
        and summed over ``region``, so bright pixels weigh as much as their
        light: the color an aperture would measure. The uncertainty draws
        a*, b* once per sample for the whole image (errors of a colorizer
        are correlated across a galaxy; independent pixel errors would
        average away and understate it).

        Parameters
        ----------
        region : (H, W) bool array, optional
            Pixels to sum (default: the galaxy at the image centre,
            :func:`galcolor.geometry.central_galaxy_mask`).
        samples : int, optional
        seed : int, optional

        Returns
        -------
        dict
            ``"g-r"``, ``"r-i"``, ``"g-r_std"``, ``"r-i_std"``, ``"pixels"``.

        Examples
        --------
        >>> import galcolor
        >>> from galcolor.io import example_hdulist
        >>> colors = galcolor.colorize(example_hdulist(), tta=False).integrated_colors()
        >>> sorted(colors)
        ['g-r', 'g-r_std', 'pixels', 'r-i', 'r-i_std']
        """
        from .geometry import central_galaxy_mask
        from .io.convention import COLOR_INDICES, SDSS_GRI
        from .io.lupton import linear_from_display

        self._convention_check()
        region = central_galaxy_mask(self.lightness, self.mask) if region is None else np.asarray(region, bool)
        if region.shape != self.shape:
            raise InputError(f"{self.source}: region must have shape {self.shape}, got {region.shape}")
        region = region & ~self.mask
        if not region.any():
            return {"g-r": float("nan"), "r-i": float("nan"), "g-r_std": float("nan"), "r-i_std": float("nan"),
                    "pixels": 0}

        def colors(ab: np.ndarray) -> dict[str, float]:
            rgb = lab_to_rgb_numpy(np.concatenate([self.lightness[region][:, None], ab[region]], axis=-1)[None])[0]
            linear = linear_from_display(np.clip(rgb, 0.0, 1.0)[None], q=SDSS_GRI.q, stretch=SDSS_GRI.stretch)[0]
            flux = {band: linear[:, k].sum() / SDSS_GRI.weights[band] for k, band in enumerate(SDSS_GRI.channels)}
            with np.errstate(divide="ignore", invalid="ignore"):
                return {f"{blue}-{red}": float(-2.5 * np.log10(flux[blue] / flux[red])) for blue, red in COLOR_INDICES}

        result = colors(self.ab)
        drawn = [colors(ab) for ab in self._draws(samples, seed, correlated=True)]
        for name in list(result):
            result[f"{name}_std"] = float(np.nanstd([draw[name] for draw in drawn]))
        result["pixels"] = int(region.sum())
        return result

    # ---------------------------------------------------------------- writers

    def save(self, path: str | os.PathLike, *, bits: int = 8, quality: int = 95,
             origin: str = "auto") -> Path:
        """Write the color image as PNG, JPEG or TIFF, atomically.

        Parameters
        ----------
        path : str or os.PathLike
            Output file; the format comes from its ending (``.png``,
            ``.jpg``/``.jpeg``, ``.tif``/``.tiff``).
        bits : {8, 16}, optional
            Bits per channel (16 for PNG and TIFF only).
        quality : int, optional
            JPEG quality (default 95).
        origin : {"auto", "upper", "lower"}, optional
            Which input row goes to the top of the picture. ``"lower"`` puts
            row 0 at the bottom, as FITS images are displayed (north up for
            survey cutouts); ``"auto"`` (default) uses :attr:`origin`.

        Returns
        -------
        pathlib.Path
            The file written. Masked pixels are transparent in PNG and TIFF
            (an alpha channel is added when any pixel is masked) and black in
            JPEG.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> import numpy as np
        >>> from galcolor import Colorization
        >>> result = Colorization(np.full((4, 4), 60, np.float32), np.zeros((4, 4, 2), np.float32),
        ...                       np.zeros((4, 4, 2), np.float32), np.eye(4, dtype=bool))
        >>> path = result.save(pathlib.Path(tempfile.mkdtemp()) / "galaxy.png")
        >>> from PIL import Image
        >>> Image.open(path).mode
        'RGBA'
        """
        from PIL import Image

        path = Path(path)
        kind = RASTER_FORMATS.get(path.suffix.lower())
        if kind is None:
            raise InputError(f"{path}: unknown image format {path.suffix!r}; use one of "
                             f"{sorted(RASTER_FORMATS)} (or to_fits for FITS)")
        if bits not in (8, 16):
            raise InputError(f"{path}: bits must be 8 or 16, got {bits}")
        if bits == 16 and kind == "JPEG":
            raise InputError(f"{path}: JPEG holds 8 bits per channel; use PNG or TIFF for 16")
        if origin == "auto":
            origin = self.origin
        if origin not in ("upper", "lower"):
            raise InputError(f"origin must be 'auto', 'upper' or 'lower', got {origin!r}")
        rgb = self.rgb
        alpha = None if kind == "JPEG" or not self.mask.any() else (~self.mask).astype(np.float32)
        if alpha is not None:
            rgb = np.concatenate([rgb, alpha[..., None]], axis=-1)
        if origin == "lower":
            rgb = rgb[::-1]
        top = 65535.0 if bits == 16 else 255.0
        pixels = np.round(np.clip(rgb, 0.0, 1.0) * top).astype(np.uint16 if bits == 16 else np.uint8)
        with atomic_write(path) as temporary:
            if bits == 16 and kind == "TIFF":
                import tifffile

                tifffile.imwrite(temporary, np.ascontiguousarray(pixels),
                                 photometric="rgb", extrasamples=["unassalpha"] if alpha is not None else None)
            elif bits == 16:
                import png  # pypng: Pillow cannot write 16-bit color PNG

                planes = pixels.shape[-1]
                writer = png.Writer(width=pixels.shape[1], height=pixels.shape[0], bitdepth=16,
                                    greyscale=False, alpha=planes == 4)
                with open(temporary, "wb") as stream:
                    writer.write(stream, pixels.reshape(pixels.shape[0], -1).tolist())
            else:
                options = {"quality": quality} if kind == "JPEG" else {}
                Image.fromarray(np.ascontiguousarray(pixels)).save(temporary, format=kind, **options)
        return path

    def _product_header(self) -> fits.Header:
        """WCS, selected input keywords and galcolor provenance for every HDU."""
        header = fits.Header()
        if self.wcs is not None:
            header.update(self.wcs.to_header(relax=True))
        if self.header is not None:
            for key in _COPIED_KEYWORDS:
                if key in self.header and key not in header:
                    header[key] = (self.header[key], self.header.comments[key])
        meta = self.meta
        band = meta.get("band")
        if band:
            # the band read from the file name when the header's FILTER disagreed
            # (galcolor.io.bands): a copied stale FILTER would say the wrong band
            header["GCBAND"] = (str(band), "band that became the lightness L")
            stated = header.get("FILTER")
            if stated is not None and normalize_band(str(stated)) != str(band):
                header["FILTER"] = (str(band), f"band used as L; the input said {str(stated)!r}"[:46])
        provenance = [
            ("ORIGIN", "galcolor", "software that made this file"),
            ("GCVERS", str(meta.get("galcolor_version", "")), "galcolor version"),
            ("GCMODEL", str(meta.get("model", "")), "colorizer model"),
            ("GCSHA256", str(meta.get("weights_sha256", "")), ""),
            ("GCTTA", bool(meta.get("tta", False)), "test-time augmentation (8 rotations/flips)"),
            ("GCSTRTCH", str(meta.get("stretch", "")), "stretch from flux to lightness"),
            ("GCSCALE", float(meta.get("scale", 1.0)), "network pixels per input pixel"),
            ("GCDEVICE", str(meta.get("device", "")), "device the network ran on"),
            ("DATE", str(meta.get("date", "")), "when the colorization was made (UTC)"),
            ("GCCONV", str(meta.get("convention") or "sdss-gri"), "color convention (galcolor.io.convention)"),
            ("GCSTYLE", str(meta.get("style") or "none"), "survey style of the color (galcolor.styles)"),
        ]
        if meta.get("novelty") is not None:
            provenance.append(("GCNOVEL", float(meta["novelty"]), "input novelty; >0: ab_std widened"))
        for key, value, comment in provenance:
            header[key] = (value, comment)
        header["GCSOURCE"] = str(self.source)
        header.add_comment("Color predicted from a grey image by galcolor: an inference with an "
                           "uncertainty (A_STD, B_STD), not a measurement.")
        return header

    def to_fits(self, path: str | os.PathLike, *, overwrite: bool = False, rgb: bool = True) -> Path:
        """Write every map to one FITS file with the input's WCS, atomically.

        HDUs: primary ``L`` (CIELAB lightness), ``RGB`` (3, H, W cube of sRGB
        in [0, 1]; left out with ``rgb=False``), ``A``, ``B`` (predicted a*,
        b*), ``A_STD``, ``B_STD`` (their standard deviations) and ``MASK`` (1
        where the input was bad). Planes are float32 (MASK uint8): 33 bytes
        per pixel, about 8 times a float32 single-band input (1.2 GB for
        6000 x 6000 pixels); 21 without the RGB cube, which is L, a* and b*
        converted (:attr:`rgb`) and not needed to read the product back.
        Every image carries the input's celestial WCS (the cube's third axis
        is the RGB channel), selected input keywords and provenance keywords
        (``GCVERS``, ``GCMODEL``, ``GCSHA256``, ``GCTTA``, ``GCSTRTCH``,
        ``GCSCALE``, ``GCDEVICE``, ``DATE``, ``GCSOURCE``). Masked pixels are NaN.

        Parameters
        ----------
        path : str or os.PathLike
            Output file (``.fits``, ``.fits.gz``...).
        overwrite : bool, optional
            Replace an existing file (default False: refuse).
        rgb : bool, optional
            Write the ``RGB`` cube (default True).

        Returns
        -------
        pathlib.Path

        Examples
        --------
        >>> import tempfile, pathlib
        >>> import numpy as np
        >>> from astropy.io import fits
        >>> from galcolor import Colorization
        >>> result = Colorization(np.full((4, 4), 60, np.float32), np.ones((4, 4, 2), np.float32),
        ...                       np.zeros((4, 4, 2), np.float32), np.zeros((4, 4), bool))
        >>> path = result.to_fits(pathlib.Path(tempfile.mkdtemp()) / "galaxy.fits")
        >>> [hdu.name for hdu in fits.open(path)]
        ['L', 'RGB', 'A', 'B', 'A_STD', 'B_STD', 'MASK']
        """
        path = Path(path)
        if path.exists() and not overwrite:
            raise InputError(f"{path}: file exists (pass overwrite=True to replace it)")
        header = self._product_header()
        compressed = path.suffix.lower() in (".gz", ".bz2")
        with atomic_write(path) as temporary:
            if compressed:  # astropy cannot append to a compressed file: every HDU at once
                hdus = [self._plane_hdu(name, header) for name in _PRODUCT_PLANES]
                if rgb:
                    cube = np.moveaxis(self.rgb, -1, 0).astype(np.float32, copy=True)
                    cube[:, self.mask] = np.nan
                    hdus.insert(1, fits.ImageHDU(cube, header=self._rgb_header(header)))
                hdus.append(self._mask_hdu(header))
                fits.HDUList(hdus).writeto(temporary, output_verify="exception")
            else:  # one HDU at a time, the cube a band of rows at a time: about one plane in memory
                self._plane_hdu("L", header).writeto(temporary, output_verify="exception")
                if rgb:
                    self._stream_rgb(temporary, header)
                for name in list(_PRODUCT_PLANES)[1:]:
                    hdu = self._plane_hdu(name, header)
                    fits.append(temporary, hdu.data, hdu.header, verify=False)
                    del hdu
                hdu = self._mask_hdu(header)
                fits.append(temporary, hdu.data, hdu.header, verify=False)
        return path

    def _plane_hdu(self, name: str, header: fits.Header) -> fits.PrimaryHDU | fits.ImageHDU:
        """One float32 plane of :meth:`to_fits` (a copy, NaN where masked); ``L`` is the primary HDU."""
        planes = {"L": self.lightness, "A": self.ab[..., 0], "B": self.ab[..., 1],  # views, not copies
                  "A_STD": self.ab_std[..., 0], "B_STD": self.ab_std[..., 1]}
        values = planes[name].astype(np.float32, copy=True)
        values[self.mask] = np.nan
        if name == "L":
            hdu = fits.PrimaryHDU(values, header=header.copy())
            hdu.name = "L"
        else:
            hdu = fits.ImageHDU(values, header=header.copy(), name=name)
        hdu.header["CONTENT"] = _PRODUCT_PLANES[name]
        return hdu

    def _mask_hdu(self, header: fits.Header) -> fits.ImageHDU:
        hdu = fits.ImageHDU(self.mask.astype(np.uint8), header=header.copy(), name="MASK")
        hdu.header["CONTENT"] = "1 where the input pixel was bad (masked in every map)"
        return hdu

    def _stream_rgb(self, path: Path, header: fits.Header) -> None:
        """Append the ``RGB`` cube to ``path`` channel by channel, a band of rows at a time.

        The colors of a band are converted once per channel unless
        :attr:`rgb` is already computed: the whole (H, W, 3) image is never
        held for the file's sake.
        """
        height, width = self.shape
        cube_header = fits.ImageHDU(np.zeros((3, 1, 1), np.float32), header=self._rgb_header(header)).header
        cube_header["NAXIS1"], cube_header["NAXIS2"] = width, height
        stream = fits.StreamingHDU(str(path), cube_header)
        rows = max(1, _BAND_PIXELS // max(width, 1))
        try:
            for channel in range(3):
                for top in range(0, height, rows):
                    band = slice(top, min(top + rows, height))
                    if self._rgb is not None:
                        values = self._rgb[band, :, channel].astype(np.float32, copy=True)
                    else:
                        lab = np.concatenate([self.lightness[band, :, None], self.ab[band]], axis=-1)
                        values = np.ascontiguousarray(lab_to_rgb_numpy(lab)[..., channel], dtype=np.float32)
                    values[self.mask[band]] = np.nan
                    stream.write(values)
        finally:
            stream.close()

    def _rgb_header(self, header: fits.Header) -> fits.Header:
        """The header of the ``RGB`` cube of :meth:`to_fits`: its WCS given a channel axis, and EXTNAME."""
        cube_header = header.copy()
        if self.wcs is not None:
            cube_wcs = self.wcs.sub([1, 2, 0])  # a third, linear axis: the channel
            cube_wcs.wcs.ctype[2] = ""
            cube_wcs.wcs.cname = ["", "", "RGB channel"]
            cube_wcs.wcs.crpix[2], cube_wcs.wcs.crval[2] = 1.0, 1.0
            if cube_wcs.wcs.has_cd():
                cd = cube_wcs.wcs.cd.copy()
                cd[2, 2] = 1.0
                cube_wcs.wcs.cd = cd
            else:
                cube_wcs.wcs.cdelt[2] = 1.0
            for key in self.wcs.to_header(relax=True):
                cube_header.remove(key, ignore_missing=True, remove_all=True)
            cube_header.update(cube_wcs.to_header(relax=True))
        cube_header["EXTNAME"] = "RGB"
        cube_header["CONTENT"] = "sRGB color image in [0, 1], planes R, G, B"
        return cube_header

    @classmethod
    def read_fits(cls, path: str | os.PathLike) -> "Colorization":
        """Read a color product written by :meth:`to_fits` back.

        Parameters
        ----------
        path : str or os.PathLike
            A FITS file with the ``L``, ``A``, ``B``, ``A_STD``, ``B_STD`` and
            ``MASK`` HDUs of :meth:`to_fits`.

        Returns
        -------
        Colorization
            The maps (NaN pixels masked), the celestial WCS, the header of
            the ``L`` HDU and the provenance keywords as ``meta``.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> import numpy as np
        >>> from galcolor import Colorization
        >>> result = Colorization(np.full((4, 4), 60, np.float32), np.ones((4, 4, 2), np.float32),
        ...                       np.zeros((4, 4, 2), np.float32), np.zeros((4, 4), bool))
        >>> path = result.to_fits(pathlib.Path(tempfile.mkdtemp()) / "galaxy.fits")
        >>> again = Colorization.read_fits(path)
        >>> bool(np.array_equal(again.ab, result.ab))
        True
        """
        path = Path(path)
        needed = PRODUCT_PLANES
        try:
            with fits.open(path, memmap=False) as hdus:
                names = [hdu.name for hdu in hdus]
                missing = [name for name in needed if name not in names]
                if missing:
                    raise InputError(f"{path}: not a galcolor color product (no {', '.join(missing)} HDU); "
                                     "write one with Colorization.to_fits or galcolor colorize --format fits")
                planes = {name: np.asarray(hdus[name].data, dtype=np.float32) for name in needed}
                header = hdus["L"].header.copy()
        except OSError as error:
            raise InputError(f"{path}: cannot read as FITS ({error})") from error
        mask = planes["MASK"].astype(bool)
        for name in ("L",) + COLOR_PLANES:
            mask |= ~np.isfinite(planes[name])
        ab = np.stack([planes["A"], planes["B"]], axis=-1)
        ab_std = np.stack([planes["A_STD"], planes["B_STD"]], axis=-1)
        for values in (planes["L"], ab, ab_std):
            values[~np.isfinite(values)] = 0.0
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            wcs = WCS(header).celestial
        meta = {"model": header.get("GCMODEL", ""), "weights_sha256": header.get("GCSHA256", ""),
                "tta": bool(header.get("GCTTA", False)), "stretch": header.get("GCSTRTCH", ""),
                "scale": header.get("GCSCALE", 1.0), "device": header.get("GCDEVICE", ""),
                "galcolor_version": header.get("GCVERS", ""), "date": header.get("DATE", ""),
                "input_format": "fits", "product": str(path),
                "convention": header.get("GCCONV", "sdss-gri"),
                "style": None if header.get("GCSTYLE", "none") == "none" else header.get("GCSTYLE"),
                "novelty": header.get("GCNOVEL")}
        return cls(lightness=planes["L"], ab=ab, ab_std=ab_std, mask=mask,
                   wcs=wcs if wcs.has_celestial else None, header=header,
                   source=str(header.get("GCSOURCE", path)), meta=meta)

    # ------------------------------------------------------------------ plots

    def plot(self, *, figsize: tuple[float, float] | None = None, sky: bool = True):
        """Draw grey | color | uncertainty side by side; return the figure.

        Parameters
        ----------
        figsize : (float, float), optional
            Figure size in inches (default 12 x 4.4).
        sky : bool, optional
            With a WCS, draw right ascension and declination axes
            (``astropy.visualization.wcsaxes``); default True.

        Returns
        -------
        matplotlib.figure.Figure

        Examples
        --------
        >>> import numpy as np
        >>> from galcolor import Colorization
        >>> result = Colorization(np.full((8, 8), 60, np.float32), np.ones((8, 8, 2), np.float32),
        ...                       np.ones((8, 8, 2), np.float32), np.zeros((8, 8), bool))
        >>> figure = result.plot()
        >>> [axes.get_title() for axes in figure.axes[:3]]
        ['grey input (L)', 'galcolor color', 'color uncertainty']
        """
        from matplotlib.figure import Figure

        figure = Figure(figsize=figsize or (12.0, 4.4), layout="constrained")
        projection = self.wcs if (sky and self.wcs is not None) else None
        axes = [figure.add_subplot(1, 3, index + 1, projection=projection) for index in range(3)]
        origin = self.origin
        grey = np.ma.masked_array(self.lightness, self.mask)
        axes[0].imshow(grey, cmap="gray", vmin=0.0, vmax=100.0, origin=origin)
        axes[0].set_title("grey input (L)")
        rgba = np.concatenate([self.rgb, (~self.mask)[..., None].astype(np.float32)], axis=-1)
        axes[1].imshow(rgba, origin=origin)
        axes[1].set_title("galcolor color")
        spread = np.ma.masked_array(self.chroma_std, self.mask)
        image = axes[2].imshow(spread, cmap="magma", origin=origin, vmin=0.0,
                               vmax=max(float(np.percentile(self.chroma_std[~self.mask], 99.5))
                                        if (~self.mask).any() else 1.0, 1e-6))
        axes[2].set_title("color uncertainty")
        figure.colorbar(image, ax=axes[2], shrink=0.8, label=r"$\sqrt{\sigma_{a^*}^2 + \sigma_{b^*}^2}$")
        for ax in axes:
            if projection is not None:
                ax.coords[0].set_axislabel("RA")
                ax.coords[1].set_axislabel("Dec")
                ax.coords[0].set_ticks(number=3)
                ax.coords[1].set_ticks(number=4)
            else:
                ax.set_xticks([])
                ax.set_yticks([])
        figure.suptitle(f"{Path(str(self.source)).name}: model {self.meta.get('model', '?')}, "
                        f"TTA {'on' if self.meta.get('tta') else 'off'}", fontsize=10)
        return figure
