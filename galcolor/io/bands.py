"""Photometric band names: where to find them and how to order them.

FITS files name their bands in many ways (``FILTER``, ``BAND``, ``EXTNAME``,
``BANDS``/``BAND0..N`` for cubes) and sometimes lie: the three SDSS frames of
NGC 6976 in ``../shared/data/fits/sdss-ngc6976`` all say ``FILTER = 'g'``
although the file names (``..._r.fits``, ``..._i.fits``) and the pixels say
otherwise. galcolor therefore reads the band from the header *and* from the
file name, and trusts the file name when the two disagree (with a warning).
"""

from __future__ import annotations

import re

from astropy.io import fits

__all__ = [
    "SDSS_PIXEL_SCALE_ARCSEC",
    "BAND_WAVELENGTHS_NM",
    "normalize_band",
    "band_wavelength",
    "band_from_header",
    "band_from_filename",
    "bands_from_cube_header",
    "order_by_wavelength",
    "COMPOSITE_WEIGHTS",
    "composite_weight",
]

#: Approximate effective wavelengths (nm) used only to order bands from blue
#: to red: SDSS ugriz (Fukugita et al. 1996), HSC/LSST y, UKIDSS/2MASS YJHK.
BAND_WAVELENGTHS_NM = {
    "u": 355.0,
    "g": 469.0,
    "r": 617.0,
    "i": 748.0,
    "z": 893.0,
    "y": 990.0,
    "Y": 1031.0,
    "J": 1248.0,
    "H": 1631.0,
    "K": 2201.0,
    "Ks": 2159.0,
}

#: SDSS imaging pixel scale in arcsec (York et al. 2000).
SDSS_PIXEL_SCALE_ARCSEC = 0.396

#: Flux multipliers that color-balance an asinh composite made from
#: calibrated (nanomaggy) images, as in the Legacy Survey viewer's
#: ``sdss_rgb`` (legacypipe): without them z/i dominate and every galaxy
#: renders orange. Only ratios matter; the stretch absorbs the scale.
COMPOSITE_WEIGHTS = {"g": 6.0, "r": 3.4, "i": 3.0, "z": 2.2}

# Header keywords that name the band of a single image, in order of trust.
_BAND_KEYWORDS = ("BAND", "FILTER", "FILTER1", "FILTNAM1", "EXTNAME")

# HST/JWST style filter names: F606W, F814W, F160W, F435W, F150W2 ...
_WIDE_FILTER = re.compile(r"^F(\d{3,4})[WMNLX]P?\d?$", re.IGNORECASE)

# A band token in a file name: a single band letter (or HST filter) between
# separators, e.g. "frame-r-001.fits", "ngc6976_i.fits", "cut_F814W.fits".
_FILENAME_TOKEN = re.compile(
    r"(?:^|[_\-.])(u|g|r|i|z|y|Y|J|H|Ks|K|F\d{3,4}[WMNLX]P?\d?)(?=$|[_\-.])",
)


def normalize_band(name: str) -> str:
    """Canonical spelling of a band name.

    Strips survey prefixes such as ``"SDSS_"``, ``"HSC-"``, ``"DES "`` and
    trailing primes, keeps case where it matters (y vs Y).

    Examples
    --------
    >>> normalize_band(" SDSS_r' ")
    'r'
    >>> normalize_band("HSC-G")
    'g'
    >>> normalize_band("f814w")
    'F814W'
    """
    text = str(name).strip().strip("'\"").rstrip("'").strip()
    text = re.sub(r"^(sdss|hsc|des|decam|decals|ps1|lsst|megacam|ukidss|2mass)[\s_\-.]*", "", text, flags=re.I)
    if _WIDE_FILTER.match(text):
        return text.upper()
    if len(text) == 1 and text.lower() in "ugriz":
        return text.lower()
    if text.lower() == "ks":
        return "Ks"
    return text


def band_wavelength(name: str | None) -> float | None:
    """Effective wavelength in nm of a band name, or None when unknown.

    Examples
    --------
    >>> band_wavelength("r")
    617.0
    >>> band_wavelength("F814W")
    814.0
    >>> band_wavelength("mystery") is None
    True
    """
    if name is None:
        return None
    band = normalize_band(name)
    if band in BAND_WAVELENGTHS_NM:
        return BAND_WAVELENGTHS_NM[band]
    match = _WIDE_FILTER.match(band)
    if match:
        digits = match.group(1)
        # HST WFC3/IR and JWST use F105W...F160W (x10 nm); UVIS/ACS F435W (nm).
        value = float(digits)
        return value * 10.0 if value < 300 else value
    return None


def band_from_header(header: fits.Header) -> tuple[str | None, str | None]:
    """Band named by a header, and the keyword that named it.

    Only values that look like a band (a known name or an HST-style filter)
    count, so ``EXTNAME = 'SCI'`` is not a band.

    Examples
    --------
    >>> from astropy.io import fits
    >>> band_from_header(fits.Header({"FILTER": "r"}))
    ('r', 'FILTER')
    >>> band_from_header(fits.Header({"EXTNAME": "SCI"}))
    (None, None)
    """
    for keyword in _BAND_KEYWORDS:
        if keyword in header and isinstance(header[keyword], str):
            band = normalize_band(header[keyword])
            if band_wavelength(band) is not None:
                return band, keyword
    return None, None


def band_from_filename(path: str) -> str | None:
    """Band named by a file name, or None.

    The last band-like token between separators wins (``sdss_g_r.fits`` is r).

    Examples
    --------
    >>> band_from_filename("data/reprojected_sdss_i.fits.bz2")
    'i'
    >>> band_from_filename("NGC1300-F814W.fits")
    'F814W'
    >>> band_from_filename("galaxy.fits") is None
    True
    """
    name = re.split(r"[\\/]", str(path))[-1]
    stem = re.sub(r"(\.(fits|fit|fts))?(\.(gz|bz2|fz))?$", "", name, flags=re.I)
    tokens = _FILENAME_TOKEN.findall(stem)
    return normalize_band(tokens[-1]) if tokens else None


def bands_from_cube_header(header: fits.Header, n_bands: int) -> list[str | None]:
    """Band names of the planes of an (N, H, W) cube.

    Reads ``BAND0 .. BAND{N-1}`` (DECaLS cutout convention), then ``BANDS``
    (a string with one letter per plane, e.g. ``'grz'``, or comma separated),
    else returns ``None`` for every plane.

    Examples
    --------
    >>> from astropy.io import fits
    >>> bands_from_cube_header(fits.Header({"BANDS": "grz"}), 3)
    ['g', 'r', 'z']
    >>> bands_from_cube_header(fits.Header(), 2)
    [None, None]
    """
    indexed = [header.get(f"BAND{index}") for index in range(n_bands)]
    if all(isinstance(value, str) and value.strip() for value in indexed):
        return [normalize_band(value) for value in indexed]
    packed = header.get("BANDS")
    if isinstance(packed, str):
        text = packed.strip()
        parts = [p for p in re.split(r"[,\s]+", text) if p] if re.search(r"[,\s]", text) else list(text)
        if len(parts) == n_bands:
            return [normalize_band(part) for part in parts]
    return [None] * n_bands


def order_by_wavelength(names: list[str | None]) -> list[int]:
    """Indices of ``names`` from bluest to reddest.

    Bands without a known wavelength keep their file order, which by the
    convention of survey cubes (DECaLS grz, HSC grizy) runs blue to red.

    Examples
    --------
    >>> order_by_wavelength(["z", "g", "r"])
    [1, 2, 0]
    >>> order_by_wavelength([None, None, None])
    [0, 1, 2]
    """
    wavelengths = [band_wavelength(name) for name in names]
    if any(value is None for value in wavelengths):
        return list(range(len(names)))
    return sorted(range(len(names)), key=lambda index: wavelengths[index])


def composite_weight(name: str | None) -> float:
    """Color-balance weight of a band in a composite (1 when unknown).

    Examples
    --------
    >>> composite_weight("g"), composite_weight(None)
    (6.0, 1.0)
    """
    if name is None:
        return 1.0
    return COMPOSITE_WEIGHTS.get(normalize_band(name), 1.0)
