"""galcolor's color convention: what "the color" of a pixel means, written down once.

Every galcolor model predicts the color of the SDSS Galaxy Zoo gri
composites it was trained on. That color is a recipe, and the recipe is
this module's :data:`SDSS_GRI`: a Lupton et al. (2004) asinh composite of
calibrated fluxes (nanomaggies per SDSS 0.396 arcsec pixel) with

* band -> channel: i -> R, r -> G, g -> B;
* band weights g 1.5, r 1.1, i 1.0 (multiplying nanomaggies);
* asinh softening ``Q = 8`` and linear scale ``stretch = 0.8`` nanomaggies.

How each part was fixed (``python benchmarks/bench_convention.py``,
``benchmarks/results/convention/convention.md``):

* band -> channel, orientation and the form of the stretch come from the
  SDSS frames of NGC 6976 and Lupton renders of the same field
  (``../shared/data/fits/sdss-ngc6976``): a least-squares fit of weights,
  Q and stretch to the render reproduces it to ~0.04 (rms, display units)
  with i -> R, r -> G, g -> B and equal weights;
* equal weights are the render's choice, not the Galaxy Zoo images': the
  same simulated galaxies composited with equal weights are twice as
  yellow as the real Galaxy Zoo galaxies (median b* 18 against 9), while
  the weights above (fitted to the Lab distribution of the Galaxy Zoo
  galaxies, ``benchmarks/bench_realism.py --tune``) give 8. The model's
  colors are in the Galaxy Zoo balance, so the convention is.

A Lupton composite keeps the ratios of its channels, so the convention can
be inverted pixel by pixel into color indices (:meth:`ColorConvention.color_indices`):
``g - r = -2.5 log10((B / w_g) / (G / w_r))`` in AB magnitudes, whatever
the stretch.

Examples
--------
>>> import numpy as np
>>> from galcolor.io.convention import SDSS_GRI
>>> SDSS_GRI.channels
('i', 'r', 'g')
>>> flux = {"g": np.full((2, 2), 1.0), "r": np.full((2, 2), 2.0), "i": np.full((2, 2), 2.5)}
>>> rgb = SDSS_GRI.composite(flux)
>>> indices = SDSS_GRI.color_indices(rgb)
>>> round(float(indices["g-r"][0, 0]), 3), round(float(-2.5 * np.log10(1.0 / 2.0)), 3)
(0.753, 0.753)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np
from astropy.visualization import make_lupton_rgb

from ..exceptions import InputError
from .bands import band_wavelength, normalize_band
from .lupton import COMPOSITE_Q, COMPOSITE_STRETCH, SDSS_COMPOSITE_WEIGHTS

__all__ = [
    "ColorConvention",
    "SDSS_GRI",
    "COLOR_INDICES",
    "nanomaggy_units",
    "flux_pixel_scale",
    "NATIVE_PIXEL_SCALES_ARCSEC",
]

#: The color indices a convention gives, as (bluer band, redder band).
COLOR_INDICES = (("g", "r"), ("r", "i"))

#: Native pixel of surveys that deliver nanomaggies (AB zero point 22.5)
#: even when their headers say no BUNIT. Their resampled cutouts (the Legacy
#: Survey cutout service at any ``pixscale``, SDSS frames reprojected by
#: interpolation) keep the value of a native pixel, i.e. surface
#: brightness in native-pixel units: a DECaLS galaxy centre of 4.8 per
#: 0.1 arcsec pixel is 17.9 mag arcsec^-2 read per 0.262 arcsec pixel (and
#: an implausible 15.8 read per 0.1 arcsec pixel).
NATIVE_PIXEL_SCALES_ARCSEC = {
    "sdss": 0.396,
    "decals": 0.262,
    "legacy": 0.262,
    "bass": 0.262,
    "mzls": 0.262,
    "des": 0.263,
}


@dataclass(frozen=True)
class ColorConvention:
    """A Lupton et al. (2004) composite recipe: which band lights which channel, and how.

    Attributes
    ----------
    name : str
    channels : tuple of str
        Band of the R, G and B channels.
    weights : dict
        Multiplier of each band's flux (nanomaggies).
    q, stretch : float
        Asinh softening and linear scale of :func:`astropy.visualization.make_lupton_rgb`.
    pixel_scale_arcsec : float
        Pixel the fluxes are expressed per; images at another scale are
        brought to it by the ratio of pixel areas (surface brightness).
    provenance : dict
        How the recipe was fixed.
    """

    name: str
    channels: tuple[str, str, str]
    weights: Mapping[str, float]
    q: float
    stretch: float
    pixel_scale_arcsec: float
    provenance: Mapping[str, Any] = field(default_factory=dict, compare=False)

    def channel_sources(self, bands: Sequence[str | None]) -> dict[str, tuple[str, ...]] | None:
        """Which of the given bands make each channel's flux: its own, two to interpolate, or a neighbour.

        A channel's own band is used when present. A missing band is
        interpolated as a power law in wavelength between the nearest bluer
        and redder bands (i from r and z in a DECaLS grz cube: plain z would
        make every galaxy 0.3-0.5 mag redder in r - i); with a band on one
        side only, the nearest band within a factor 1.35 in wavelength
        stands in. None when a channel cannot be filled or two channels
        would be the same light.

        Examples
        --------
        >>> SDSS_GRI.channel_sources(["g", "r", "z"])
        {'i': ('r', 'z'), 'r': ('r',), 'g': ('g',)}
        >>> SDSS_GRI.channel_sources(["J", "H", "K"]) is None
        True
        """
        known = sorted(
            {normalize_band(b) for b in bands if b is not None and band_wavelength(b) is not None},
            key=band_wavelength,
        )
        sources: dict[str, tuple[str, ...]] = {}
        for channel in self.channels:
            if channel in known:
                sources[channel] = (channel,)
                continue
            wanted = float(band_wavelength(channel))
            bluer = [b for b in known if band_wavelength(b) < wanted]
            redder = [b for b in known if band_wavelength(b) > wanted]
            if bluer and redder:
                sources[channel] = (bluer[-1], redder[0])
                continue
            near = [
                (abs(np.log(band_wavelength(b) / wanted)), b)
                for b in known
                if abs(np.log(band_wavelength(b) / wanted)) < np.log(1.35)
            ]
            if not near:
                return None
            sources[channel] = (min(near)[1],)
        if len(set(sources.values())) < 3:  # one band lighting two channels carries no color
            return None
        return sources

    def channel_fluxes(
        self, planes: Mapping[str, np.ndarray]
    ) -> tuple[dict[str, np.ndarray], dict[str, str]]:
        """Each channel's flux from the bands given, and how it was obtained (see :meth:`channel_sources`).

        An interpolated band is ``f_red * (f_blue / f_red) ** (1 - t)``, t
        the position of its wavelength between the two in log wavelength,
        with the ratio taken from images smoothed over ~2 pixels (and
        clipped to 0.1-10) so that noise in the sky never enters a power.

        Parameters
        ----------
        planes : mapping of band name -> (H, W) array
            Sky-subtracted fluxes.

        Returns
        -------
        (dict, dict)
            Channel band -> flux, and channel band -> how it was obtained
            (``"r"``, ``"interpolated from r and z"``, ``"z"``).

        Examples
        --------
        >>> import numpy as np
        >>> planes = {"g": np.full((8, 8), 1.0), "r": np.full((8, 8), 2.0), "z": np.full((8, 8), 3.0)}
        >>> flux, how = SDSS_GRI.channel_fluxes(planes)
        >>> how["i"], round(float(flux["i"][0, 0]), 3)
        ('interpolated from r and z', 2.47)
        """
        from scipy.ndimage import gaussian_filter

        known = {normalize_band(band): np.asarray(plane, dtype=np.float64) for band, plane in planes.items()}
        sources = self.channel_sources(list(known))
        if sources is None:
            raise InputError(
                f"bands {sorted(known)} cannot make the {self.name} composite ({list(self.channels)})"
            )
        flux: dict[str, np.ndarray] = {}
        how: dict[str, str] = {}
        for channel, used in sources.items():
            if len(used) == 1:
                flux[channel], how[channel] = known[used[0]], used[0]
                continue
            blue, red = used
            t = np.log(band_wavelength(channel) / band_wavelength(blue)) / np.log(
                band_wavelength(red) / band_wavelength(blue)
            )
            smooth = [np.clip(gaussian_filter(np.nan_to_num(known[b]), 2.0), 1e-6, None) for b in used]
            ratio = np.clip(smooth[0] / smooth[1], 0.1, 10.0)
            flux[channel] = known[red] * ratio ** (1.0 - t)
            how[channel] = f"interpolated from {blue} and {red}"
        return flux, how

    def composite(
        self,
        flux: Mapping[str, np.ndarray],
        *,
        pixel_scale_arcsec: float | None = None,
        mask: np.ndarray | None = None,
    ) -> np.ndarray:
        """The composite (H, W, 3) in [0, 1] of sky-subtracted fluxes in nanomaggies per pixel.

        Parameters
        ----------
        flux : mapping of band -> (H, W) array
            One image per channel band (see :meth:`channel_fluxes` for
            files that lack one).
        pixel_scale_arcsec : float, optional
            Pixel scale of the images; fluxes are brought to
            :attr:`pixel_scale_arcsec` pixels. None: already are.
        mask : (H, W) bool array, optional
            Pixels to leave black.
        """
        missing = [band for band in self.channels if band not in flux]
        if missing:
            raise InputError(
                f"the {self.name} composite needs bands {list(self.channels)}; missing {missing}"
            )
        area = (
            1.0 if pixel_scale_arcsec is None else (self.pixel_scale_arcsec / float(pixel_scale_arcsec)) ** 2
        )
        planes = [
            np.nan_to_num(np.asarray(flux[band], dtype=np.float64)) * self.weights[band] * area
            for band in self.channels
        ]
        with np.errstate(invalid="ignore", divide="ignore"):  # astropy divides 0 by 0 on black sky
            rgb = make_lupton_rgb(
                *planes, minimum=0.0, stretch=self.stretch, Q=self.q, output_dtype=np.float64
            )
        rgb = np.nan_to_num(rgb)
        if mask is not None:
            rgb[np.asarray(mask, dtype=bool)] = 0.0
        return rgb.astype(np.float32)

    def color_indices(self, rgb: np.ndarray, *, floor: float = 1.0 / 255.0) -> dict[str, np.ndarray]:
        """Per-pixel color indices (AB mag) of composites in this convention.

        Parameters
        ----------
        rgb : (..., 3) array in [0, 1]
            Display values (sRGB-encoded, as the composites are stored).
        floor : float, optional
            Channels below this value (black sky, 8-bit rounding) carry no
            color: their indices are NaN.

        Returns
        -------
        dict
            ``"g-r"`` and ``"r-i"`` arrays of shape ``rgb.shape[:-1]``.
        """
        rgb = np.asarray(rgb, dtype=np.float64)
        if rgb.shape[-1:] != (3,):
            raise InputError(f"rgb must have 3 channels in its last axis, got shape {rgb.shape}")
        flux = {band: rgb[..., channel] / self.weights[band] for channel, band in enumerate(self.channels)}
        indices = {}
        for blue, red in COLOR_INDICES:
            with np.errstate(divide="ignore", invalid="ignore"):
                value = -2.5 * np.log10(flux[blue] / flux[red])
            dark = (flux[blue] * self.weights[blue] < floor) | (flux[red] * self.weights[red] < floor)
            indices[f"{blue}-{red}"] = np.where(dark, np.nan, value)
        return indices

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "channels": list(self.channels),
            "weights": dict(self.weights),
            "q": self.q,
            "stretch": self.stretch,
            "pixel_scale_arcsec": self.pixel_scale_arcsec,
        }


def _survey(header: Mapping[str, Any]) -> str | None:
    text = " ".join(str(header.get(key) or "") for key in ("SURVEY", "ORIGIN", "TELESCOP")).lower()
    return next((name for name in NATIVE_PIXEL_SCALES_ARCSEC if name in text), None)


def nanomaggy_units(header: Mapping[str, Any]) -> bool:
    """Whether a FITS header's pixels are nanomaggies (BUNIT, or a survey known to deliver them).

    Examples
    --------
    >>> nanomaggy_units({"BUNIT": "nanomaggy"}), nanomaggy_units({"SURVEY": "DECaLS"}), nanomaggy_units({})
    (True, True, False)
    """
    unit = str(header.get("BUNIT") or "").lower()
    return "nanomag" in unit or "nmgy" in unit or _survey(header) is not None


def flux_pixel_scale(header: Mapping[str, Any], wcs_scale_arcsec: float | None) -> tuple[float | None, str]:
    """The pixel (arcsec) a calibrated image's values are per, and why.

    The survey's native pixel when the header names a survey of
    :data:`NATIVE_PIXEL_SCALES_ARCSEC`, else the image's own pixel (from
    its WCS), else unknown (None: the convention's own pixel is assumed).

    Examples
    --------
    >>> flux_pixel_scale({"SURVEY": "DECaLS"}, 0.1)
    (0.262, 'native pixel of decals')
    >>> flux_pixel_scale({"BUNIT": "nanomaggy"}, 0.2)
    (0.2, 'image pixel (WCS)')
    """
    survey = _survey(header)
    if survey is not None:
        return NATIVE_PIXEL_SCALES_ARCSEC[survey], f"native pixel of {survey}"
    if wcs_scale_arcsec is not None:
        return float(wcs_scale_arcsec), "image pixel (WCS)"
    return None, "unknown (the convention's pixel assumed)"


#: The convention of every galcolor model: the SDSS Galaxy Zoo gri composite.
SDSS_GRI = ColorConvention(
    name="sdss-gri",
    channels=("i", "r", "g"),
    weights=dict(SDSS_COMPOSITE_WEIGHTS),
    q=COMPOSITE_Q,
    stretch=COMPOSITE_STRETCH,
    pixel_scale_arcsec=0.396,
    provenance={
        "channels": "fitted to the Lupton renders of SDSS NGC 6976 (benchmarks/bench_convention.py)",
        "weights, q, stretch": "fitted to the Lab distribution of the SDSS Galaxy Zoo galaxies "
        "(benchmarks/bench_realism.py --tune)",
    },
)
