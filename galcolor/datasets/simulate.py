"""Simulated multi-band galaxies with star-forming-clump truth, rendered by GalSim.

Real color images teach the colorizer; only simulations know where the
star-forming clumps are. :func:`simulate` draws SDSS-like g, r, i (or any
SDSS/LSST ugrizy) images of disk galaxies at redshift 0.02-0.15 with:

* a bulge (de Vaucouleurs or Sersic n = 2-4) with an elliptical (CWW E) SED;
* an exponential disk (CWW Sbc or Scd SED) with random inclination and
  position angle, optionally with two logarithmic spiral arms (strings of
  disk-colored knots) and a bar (flattened Sersic n = 0.5);
* 0-N compact **star-forming clumps** in the disk with the bluest SED
  (CWW Im), each holding 1-20 % of the galaxy's g-band light;
* hard negatives that are *not* star-forming: foreground stars (point
  sources with black-body colors from 3,000 to 12,000 K), red compact
  companions or off-centre nuclei (CWW E), and neighbouring galaxies;
* a Moffat (default) or Kolmogorov PSF with FWHM 1.0-1.6 arcsec, SDSS's
  0.396 arcsec pixels, and sky with Poisson and read noise.

Fluxes are in nanomaggies (AB zero point 22.5), colors come from the SEDs
redshifted and integrated through GalSim's LSST bandpasses (AB), and sizes
and magnitudes from the Planck 2018 cosmology. The color composite ``rgb``
is made like the SDSS images of Galaxy Zoo: :func:`~astropy.visualization.make_lupton_rgb`
with i -> R, r -> G, g -> B and fixed parameters (``COMPOSITE_Q``,
``COMPOSITE_STRETCH``, ``SDSS_COMPOSITE_WEIGHTS``), tuned so that simulated composites match the lightness
and color of ``../shared/data/sdss-gz`` (``benchmarks/bench_realism.py``).

Each component is drawn once per galaxy (convolved with the PSF) and the band
images are the components weighted by their band fluxes, so a 3-band 128 x 128
galaxy costs a handful of FFTs (``benchmarks/bench_simulate.py``). One PSF
serves all bands: the chromatic variation of seeing (~10 % from g to i) is
neglected.

Examples
--------
>>> from galcolor.datasets import simulate
>>> galaxy = simulate(1, size=64, seed=3)[0]
>>> galaxy.bands.shape, galaxy.rgb.shape
((3, 64, 64), (64, 64, 3))
>>> sorted(set(galaxy.truth["kind"])) # doctest: +SKIP
['clump', 'star']
"""

from __future__ import annotations

import dataclasses
import functools
import math
from dataclasses import dataclass, field
from typing import Any, Iterator, Sequence

import astropy.units as u
import galsim
import numpy as np
from astropy.cosmology import Planck18
from astropy.io import fits
from astropy.table import QTable
from astropy.visualization import make_lupton_rgb
from astropy.wcs import WCS

from .._version import __version__
from ..exceptions import InputError
from ..io import Cutout, load
from ..io.bands import SDSS_PIXEL_SCALE_ARCSEC, normalize_band
from ..io.lupton import COMPOSITE_Q, COMPOSITE_STRETCH, SDSS_COMPOSITE_WEIGHTS  # the recipe, defined once

__all__ = [
    "simulate",
    "iter_simulate",
    "SimulatedGalaxy",
    "Physics",
    "TRUTH_KINDS",
    "COMPOSITE_Q",
    "COMPOSITE_STRETCH",
    "SDSS_COMPOSITE_WEIGHTS",
    "sdss_composite",
]

#: Kinds of objects in a truth table; only "clump" is star-forming.
TRUTH_KINDS = ("clump", "star", "companion", "neighbour")


# SDSS dark-sky surface brightness, AB mag / arcsec^2 (SDSS DR7 documentation;
# Abazajian et al. 2009), and electrons per nanomaggy of a 53.9 s SDSS
# exposure (gain / NMGY of typical frames, e.g. 4.7 e/DN / 0.005 nmgy/DN).
_SKY_MAG = {"u": 22.1, "g": 21.9, "r": 20.9, "i": 20.2, "z": 18.9, "y": 18.5}
_ELECTRONS_PER_NMGY = {"u": 150.0, "g": 900.0, "r": 900.0, "i": 650.0, "z": 120.0, "y": 100.0}
_READ_NOISE_E = 5.0
_AB_ZERO_POINT = 22.5  # nanomaggies

_SED_FILES = {"E": "CWW_E_ext.sed", "Sbc": "CWW_Sbc_ext.sed", "Scd": "CWW_Scd_ext.sed", "Im": "CWW_Im_ext.sed"}
_LSST_BANDS = ("u", "g", "r", "i", "z", "y")


@dataclass(frozen=True)
class Physics:
    """Parameters of the simulated universe; pass any as ``simulate(**physics)``.

    Attributes
    ----------
    redshift_range : tuple of float
        Uniform redshift range (Clump Scout's 0.02-0.15).
    absolute_magnitude_r : tuple of float
        Mean and scatter of the galaxies' r-band absolute magnitude.
    disk_radius_kpc : tuple of float
        Median and log-normal scatter (dex) of the disk half-light radius.
    bulge_to_total : tuple of float
        Uniform range of the bulge's fraction of the r-band light.
    max_clumps : int
        Largest number of clumps per galaxy (uniform 0..max_clumps).
    clump_fraction : tuple of float
        Range (log-uniform) of each clump's fraction of the galaxy's g light.
    clump_radius_kpc : tuple of float
        Range of clump Gaussian sigma in kpc.
    spiral_probability, bar_probability : float
        Chance that a disk has two spiral arms / a bar.
    star_rate : float
        Mean number (Poisson) of foreground stars per 128 x 128 frame.
    companion_probability, neighbour_probability : float
        Chance of a red compact companion/nucleus, of a neighbouring galaxy.
    seeing_fwhm : tuple of float
        Range of PSF FWHM in arcsec.
    psf : {"moffat", "kolmogorov"}
        PSF profile (Moffat with beta = 3.5, or Kolmogorov turbulence).
    pixel_scale : float
        Arcsec per pixel (default SDSS's, :data:`~galcolor.io.bands.SDSS_PIXEL_SCALE_ARCSEC`).
    max_frame_fraction : float
        Largest disk half-light radius as a fraction of the frame size.
    """

    redshift_range: tuple[float, float] = (0.02, 0.15)
    absolute_magnitude_r: tuple[float, float] = (-21.0, 0.8)
    disk_radius_kpc: tuple[float, float] = (4.0, 0.15)
    bulge_to_total: tuple[float, float] = (0.05, 0.6)
    max_clumps: int = 6
    clump_fraction: tuple[float, float] = (0.01, 0.20)
    clump_radius_kpc: tuple[float, float] = (0.15, 0.5)
    spiral_probability: float = 0.5
    bar_probability: float = 0.3
    star_rate: float = 1.5
    companion_probability: float = 0.3
    neighbour_probability: float = 0.3
    seeing_fwhm: tuple[float, float] = (1.0, 1.6)
    psf: str = "moffat"
    pixel_scale: float = SDSS_PIXEL_SCALE_ARCSEC
    max_frame_fraction: float = 1.0 / 6.0

    def __post_init__(self) -> None:
        if self.psf not in ("moffat", "kolmogorov"):
            raise InputError(f"psf must be 'moffat' or 'kolmogorov', got {self.psf!r}")
        low, high = self.redshift_range
        if not 0 < low <= high:
            raise InputError(f"redshift_range must satisfy 0 < low <= high, got {self.redshift_range}")
        if self.max_clumps < 0:
            raise InputError(f"max_clumps must be >= 0, got {self.max_clumps}")


@dataclass(eq=False)
class SimulatedGalaxy:
    """One simulated galaxy: band images, color composite and truth.

    Attributes
    ----------
    bands : numpy.ndarray, shape (n_band, H, W), float32
        Sky-subtracted images in nanomaggies per pixel, with noise.
    band_names : tuple of str
        Band of each plane, blue to red as given to :func:`simulate`.
    header : astropy.io.fits.Header
        TAN WCS, ``BANDS``/``BAND0..``, ``BUNIT`` and simulation keywords.
    rgb : numpy.ndarray, shape (H, W, 3), float32, or None
        gri color composite in [0, 1], made like the SDSS Galaxy Zoo images
        (None when g, r and i were not all simulated).
    truth : astropy.table.QTable
        One row per clump and per contaminant: ``id``, ``kind``,
        ``is_star_forming``, ``x``, ``y`` (0-based pixels), ``ra``, ``dec``,
        ``flux_<band>`` (nanomaggies), ``radius`` (arcsec; 0 for stars) and
        ``flux_fraction_g`` (of the galaxy's g light).
    params : dict
        Galaxy parameters (redshift, magnitudes, sizes, angles, seeing, ...).
    """

    bands: np.ndarray
    band_names: tuple[str, ...]
    header: fits.Header
    rgb: np.ndarray | None
    truth: QTable
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def wcs(self) -> WCS:
        """The celestial WCS of the images."""
        return WCS(self.header).celestial

    def to_hdulist(self) -> fits.HDUList:
        """The band images as one FITS cube (``BANDS`` keywords, WCS)."""
        return fits.HDUList([fits.PrimaryHDU(self.bands, header=self.header.copy())])

    def band_hdu(self, band: str = "r") -> fits.PrimaryHDU:
        """One band as a single-band FITS HDU with ``FILTER`` and the WCS."""
        index = self._band_index(band)
        header = self.header.copy()
        for key in ["BANDS"] + [f"BAND{i}" for i in range(len(self.band_names))]:
            header.remove(key, ignore_missing=True)
        header["FILTER"] = (self.band_names[index], "band of this image")
        return fits.PrimaryHDU(self.bands[index], header=header)

    def to_cutout(self, band: str = "r", stretch="auto") -> Cutout:
        """A :class:`~galcolor.Cutout` of one band with ``truth_rgb`` = :attr:`rgb`.

        This is how a single-band survey image of this galaxy would reach
        the colorizer, with the true color attached for evaluation.

        Examples
        --------
        >>> from galcolor.datasets import simulate
        >>> cutout = simulate(1, size=48, seed=1)[0].to_cutout("r")
        >>> cutout.band, cutout.truth_rgb.shape
        ('r', (48, 48, 3))
        """
        cutout = load(self.band_hdu(band), stretch=stretch)
        cutout.truth_rgb = None if self.rgb is None else self.rgb.copy()
        cutout.source = f"simulated galaxy (seed {self.params['seed']}, index {self.params['index']})"
        cutout.meta["simulated"] = True
        return cutout

    def _band_index(self, band: str) -> int:
        name = normalize_band(band)
        if name not in self.band_names:
            raise InputError(f"simulated galaxy has bands {list(self.band_names)}, not {band!r}")
        return self.band_names.index(name)


def simulate(
    n: int,
    *,
    size: int = 128,
    bands: Sequence[str] = ("g", "r", "i"),
    seed: int = 0,
    **physics: Any,
) -> list[SimulatedGalaxy]:
    """Simulate ``n`` galaxies (see the module documentation for the model).

    Parameters
    ----------
    n : int
        Number of galaxies.
    size : int, optional
        Width and height of each image in pixels (>= 32).
    bands : sequence of str, optional
        Bands among u, g, r, i, z, y (LSST bandpasses). The composite needs
        g, r and i.
    seed : int, optional
        Galaxy ``k`` depends only on ``(seed, k)``: the same seed gives
        bit-identical images, and ``simulate(10)[:5]`` equals ``simulate(5)``.
    **physics
        Overrides of :class:`Physics` fields, e.g. ``max_clumps=0``.

    Returns
    -------
    list of SimulatedGalaxy

    Examples
    --------
    >>> from galcolor.datasets import simulate
    >>> first = simulate(2, size=48, seed=7)
    >>> again = simulate(1, size=48, seed=7)
    >>> bool((first[0].bands == again[0].bands).all())
    True
    >>> simulate(1, size=48, max_clumps=0)[0].params["n_clumps"]
    0
    """
    return list(iter_simulate(n, size=size, bands=bands, seed=seed, **physics))


def iter_simulate(
    n: int,
    *,
    size: int = 128,
    bands: Sequence[str] = ("g", "r", "i"),
    seed: int = 0,
    **physics: Any,
) -> Iterator[SimulatedGalaxy]:
    """Like :func:`simulate`, but yields galaxies one at a time."""
    if n < 0:
        raise InputError(f"n must be >= 0, got {n}")
    if size < 32:
        raise InputError(f"size must be at least 32 pixels, got {size}")
    names = tuple(normalize_band(b) for b in bands)
    unknown = [b for b in names if b not in _LSST_BANDS]
    if unknown or not names:
        raise InputError(f"bands must be among {_LSST_BANDS}, got {list(bands)}")
    fields = {f.name for f in dataclasses.fields(Physics)}
    wrong = sorted(set(physics) - fields)
    if wrong:
        raise InputError(f"unknown physics parameter(s) {wrong}; known: {sorted(fields)}")
    model = Physics(**physics)
    for index in range(n):
        yield _simulate_one(index, size=size, bands=names, seed=seed, physics=model)


# ----------------------------------------------------------------------------
# Spectra and cosmology (cached: each costs ~0.2 ms, and galaxies share them).


@functools.lru_cache(maxsize=None)
def _bandpass(band: str) -> galsim.Bandpass:
    return galsim.Bandpass(f"LSST_{band}.dat", "nm").withZeropoint("AB")


@functools.lru_cache(maxsize=None)
def _template_sed(name: str) -> galsim.SED:
    return galsim.SED(_SED_FILES[name], wave_type="Ang", flux_type="flambda")


@functools.lru_cache(maxsize=4096)
def _sed_colors(name: str, redshift: float, bands: tuple[str, ...]) -> tuple[float, ...]:
    """AB magnitude of each band minus r for a template SED at a redshift."""
    sed = _template_sed(name).atRedshift(redshift)
    mags = [sed.calculateMagnitude(_bandpass(b)) for b in bands + ("r",)]
    return tuple(m - mags[-1] for m in mags[:-1])


@functools.lru_cache(maxsize=256)
def _blackbody_colors(temperature: float, bands: tuple[str, ...]) -> tuple[float, ...]:
    def planck(wavelength_nm):
        wavelength = np.asarray(wavelength_nm) * 1e-9
        return 1.0 / (wavelength**5 * (np.exp(0.0143877735 / (wavelength * temperature)) - 1.0))

    sed = galsim.SED(planck, wave_type="nm", flux_type="flambda")
    mags = [sed.calculateMagnitude(_bandpass(b)) for b in bands + ("r",)]
    return tuple(m - mags[-1] for m in mags[:-1])


@functools.lru_cache(maxsize=1)
def _cosmology_table() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    redshifts = np.linspace(0.005, 0.5, 400)
    distance_modulus = Planck18.distmod(redshifts).value
    kpc_per_arcsec = Planck18.kpc_proper_per_arcmin(redshifts).to(u.kpc / u.arcsec).value
    return redshifts, distance_modulus, kpc_per_arcsec


def _cosmology(redshift: float) -> tuple[float, float]:
    """Distance modulus and kpc per arcsec at a redshift (Planck 2018)."""
    redshifts, distance_modulus, kpc_per_arcsec = _cosmology_table()
    return (float(np.interp(redshift, redshifts, distance_modulus)),
            float(np.interp(redshift, redshifts, kpc_per_arcsec)))


def _band_fluxes(flux_r: float, colors: Sequence[float]) -> np.ndarray:
    """Nanomaggies in each band from the r flux and (m_band - m_r) colors."""
    return flux_r * 10.0 ** (-0.4 * np.asarray(colors))


# ----------------------------------------------------------------------------
# One galaxy.


@dataclass
class _Component:
    """A group of profiles sharing one SED: drawn once, weighted per band."""

    profile: galsim.GSObject  # unit r-band flux in total
    fluxes: np.ndarray  # nanomaggies per band


def _simulate_one(index: int, *, size: int, bands: tuple[str, ...], seed: int, physics: Physics) -> SimulatedGalaxy:
    rng = np.random.default_rng([seed, index])
    scale = physics.pixel_scale
    redshift = float(np.round(rng.uniform(*physics.redshift_range), 3))  # 0.001 grid: SED cache hits
    distance_modulus, kpc_per_arcsec = _cosmology(redshift)
    magnitude_r = rng.normal(*physics.absolute_magnitude_r) + distance_modulus
    total_r = 10.0 ** (-0.4 * (magnitude_r - _AB_ZERO_POINT))
    frame_arcsec = size * scale

    disk_kpc = physics.disk_radius_kpc[0] * 10.0 ** rng.normal(0.0, physics.disk_radius_kpc[1])
    disk_radius = min(disk_kpc / kpc_per_arcsec, physics.max_frame_fraction * frame_arcsec)
    inclination = math.acos(rng.uniform(0.15, 1.0))  # cos i uniform: random orientations
    axis_ratio = math.cos(inclination)
    position_angle = rng.uniform(0.0, math.pi)
    bulge_fraction = rng.uniform(*physics.bulge_to_total)
    bulge_radius = disk_radius * rng.uniform(0.12, 0.3)
    bulge_index = float(rng.choice([2.0, 3.0, 4.0]))
    disk_type = "Sbc" if rng.random() < 0.5 else "Scd"

    def colors(sed_name: str) -> tuple[float, ...]:
        return _sed_colors(sed_name, redshift, bands)

    def project(radius_arcsec: np.ndarray, angle: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Disk-plane polar coordinates -> sky offsets (arcsec) of the inclined disk."""
        x_disk = radius_arcsec * np.cos(angle)
        y_disk = radius_arcsec * np.sin(angle) * axis_ratio
        cos_pa, sin_pa = math.cos(position_angle), math.sin(position_angle)
        return x_disk * cos_pa - y_disk * sin_pa, x_disk * sin_pa + y_disk * cos_pa

    shear = galsim.Shear(q=axis_ratio, beta=position_angle * galsim.radians)
    components: list[_Component] = []
    flux_bulge_r = bulge_fraction * total_r
    flux_disk_r = total_r - flux_bulge_r
    if bulge_index == 4.0:
        bulge = galsim.DeVaucouleurs(half_light_radius=bulge_radius)
    else:
        bulge = galsim.Sersic(n=bulge_index, half_light_radius=bulge_radius)
    bulge = bulge.shear(q=max(axis_ratio, 0.6), beta=position_angle * galsim.radians)
    components.append(_Component(bulge, _band_fluxes(flux_bulge_r, colors("E"))))

    has_bar = rng.random() < physics.bar_probability
    has_spiral = rng.random() < physics.spiral_probability
    disk_parts = [galsim.Exponential(half_light_radius=disk_radius).shear(shear)]
    disk_weights = [1.0]
    if has_spiral:
        # Two logarithmic arms r = r0 exp(theta tan(pitch)), as knots of disk light.
        pitch = math.radians(rng.uniform(12.0, 25.0))
        phase = rng.uniform(0.0, 2 * math.pi)
        theta = np.linspace(0.0, 1.6 * math.pi, 28)
        radius = 0.5 * disk_radius * np.exp(theta * math.tan(pitch))
        keep = radius < 2.5 * disk_radius
        knots = []
        for arm in range(2):
            dx, dy = project(radius[keep], theta[keep] + phase + arm * math.pi)
            knots += [galsim.Gaussian(sigma=0.12 * disk_radius).shift(x, y) for x, y in zip(dx, dy)]
        arm_fraction = rng.uniform(0.15, 0.35)
        disk_parts.append(galsim.Sum(knots))
        disk_weights = [1.0 - arm_fraction, arm_fraction]
    if has_bar:
        bar = galsim.Sersic(n=0.5, half_light_radius=0.5 * disk_radius).shear(
            q=0.3, beta=(position_angle + rng.uniform(-0.8, 0.8)) * galsim.radians)
        bar_fraction = rng.uniform(0.05, 0.15)
        disk_parts.append(bar)
        disk_weights = [w * (1.0 - bar_fraction) for w in disk_weights] + [bar_fraction]
    disk = galsim.Sum([part.withFlux(weight) for part, weight in zip(disk_parts, disk_weights)])
    components.append(_Component(disk, _band_fluxes(flux_disk_r, colors(disk_type))))

    def g_minus_r(sed_name: str) -> float:
        return _sed_colors(sed_name, redshift, ("g",))[0]

    # Clump brightness is quoted against the galaxy's g light (Clump Scout
    # uses u; g is the bluest band of the composites), whatever bands are drawn.
    galaxy_g = (flux_bulge_r * 10.0 ** (-0.4 * g_minus_r("E"))
                + flux_disk_r * 10.0 ** (-0.4 * g_minus_r(disk_type)))

    rows: list[dict[str, Any]] = []
    centre = (size - 1) / 2.0

    def add_row(kind: str, dx: float, dy: float, flux_r: float, band_fluxes: np.ndarray,
                flux_g: float, radius_arcsec: float) -> None:
        rows.append({
            "kind": kind,
            "is_star_forming": kind == "clump",
            "x": centre + dx / scale,
            "y": centre + dy / scale,
            "fluxes": band_fluxes,
            "radius": radius_arcsec,
            "flux_fraction_g": flux_g / galaxy_g,
        })

    n_clumps = int(rng.integers(0, physics.max_clumps + 1))
    clump_colors = colors("Im")
    clump_parts = []
    clump_r_total = 0.0
    for _ in range(n_clumps):
        fraction = math.exp(rng.uniform(*np.log(physics.clump_fraction)))
        flux_g = fraction * galaxy_g
        flux_r = flux_g * 10.0 ** (0.4 * g_minus_r("Im"))
        radius = rng.uniform(0.25, 1.6) * disk_radius
        angle = rng.uniform(0.0, 2 * math.pi)
        dx, dy = project(np.array(radius), np.array(angle))
        sigma = rng.uniform(*physics.clump_radius_kpc) / kpc_per_arcsec
        clump_parts.append(galsim.Gaussian(sigma=sigma, flux=flux_r).shift(float(dx), float(dy)))
        clump_r_total += flux_r
        add_row("clump", float(dx), float(dy), flux_r, _band_fluxes(flux_r, clump_colors), flux_g, sigma)
    if clump_parts:
        # All clumps share the Im SED: one component, fluxes scaled by the r total.
        components.append(_Component(galsim.Sum(clump_parts).withFlux(1.0),
                                     _band_fluxes(clump_r_total, clump_colors)))

    def add_object(kind: str, profile, dx: float, dy: float, flux_r: float, sed_name: str, radius: float) -> None:
        fluxes = _band_fluxes(flux_r, colors(sed_name))
        components.append(_Component(profile.shift(dx, dy), fluxes))
        add_row(kind, dx, dy, flux_r, fluxes, flux_r * 10.0 ** (-0.4 * g_minus_r(sed_name)), radius)

    if rng.random() < physics.companion_probability:
        radius = rng.uniform(0.3, 1.5) * disk_radius
        dx, dy = project(np.array(radius), np.array(rng.uniform(0.0, 2 * math.pi)))
        flux_r = total_r * math.exp(rng.uniform(math.log(0.01), math.log(0.08)))
        half_light = rng.uniform(0.4, 1.0)
        add_object("companion", galsim.DeVaucouleurs(half_light_radius=half_light),
                   float(dx), float(dy), flux_r, "E", half_light)

    if rng.random() < physics.neighbour_probability:
        dx, dy = _position_away_from_centre(rng, frame_arcsec, 2.5 * disk_radius)
        flux_r = total_r * math.exp(rng.uniform(math.log(0.05), math.log(0.5)))
        half_light = disk_radius * rng.uniform(0.3, 0.8)
        sed_name = str(rng.choice(["E", "Sbc", "Scd"]))
        neighbour = galsim.Sersic(n=float(rng.choice([1.0, 2.0, 4.0])), half_light_radius=half_light).shear(
            q=rng.uniform(0.3, 1.0), beta=rng.uniform(0, math.pi) * galsim.radians)
        add_object("neighbour", neighbour, dx, dy, flux_r, sed_name, half_light)

    n_stars = int(rng.poisson(physics.star_rate * (size / 128.0) ** 2))
    stars = []
    for _ in range(n_stars):
        dx, dy = (rng.uniform(-0.45, 0.45, 2) * frame_arcsec).tolist()
        flux_r = 10.0 ** (-0.4 * (rng.uniform(15.5, 21.0) - _AB_ZERO_POINT))
        temperature = float(np.round(math.exp(rng.uniform(math.log(3000.0), math.log(12000.0))), -2))
        fluxes = _band_fluxes(flux_r, _blackbody_colors(temperature, bands))
        flux_g = flux_r * 10.0 ** (-0.4 * _blackbody_colors(temperature, ("g",))[0])
        stars.append((dx, dy, fluxes))
        add_row("star", dx, dy, flux_r, fluxes, flux_g, 0.0)

    seeing = rng.uniform(*physics.seeing_fwhm)
    if physics.psf == "moffat":
        psf = galsim.Moffat(beta=3.5, fwhm=seeing)
    else:
        psf = galsim.Kolmogorov(fwhm=seeing)

    images = np.zeros((len(bands), size, size), dtype=np.float64)
    for component in components:
        drawn = galsim.Convolve(component.profile.withFlux(1.0), psf).drawImage(
            nx=size, ny=size, scale=scale).array
        images += component.fluxes[:, None, None] * drawn[None]
    if stars:
        # Stars differ in color, so draw them per band: one FFT per band
        # for all of them (a real-space draw per star costs ~30 ms).
        for plane in range(len(bands)):
            points = galsim.Sum([galsim.DeltaFunction(flux=fluxes[plane]).shift(dx, dy)
                                 for dx, dy, fluxes in stars])
            images[plane] += galsim.Convolve(points, psf).drawImage(nx=size, ny=size, scale=scale).array

    noisy = _add_noise(images, bands, scale, rng)
    header, wcs = _header(size, scale, bands, rng, redshift, seeing, seed, index)
    truth = _truth_table(rows, bands, wcs)
    params = {
        "seed": seed, "index": index, "redshift": redshift, "magnitude_r": float(magnitude_r),
        "absolute_magnitude_r": float(magnitude_r - distance_modulus), "kpc_per_arcsec": kpc_per_arcsec,
        "disk_radius_arcsec": float(disk_radius), "disk_sed": disk_type, "inclination_deg": math.degrees(inclination),
        "position_angle_deg": math.degrees(position_angle), "bulge_fraction_r": float(bulge_fraction),
        "bulge_radius_arcsec": float(bulge_radius), "bulge_sersic_n": bulge_index, "has_spiral": has_spiral,
        "has_bar": has_bar, "n_clumps": n_clumps, "n_stars": n_stars, "seeing_fwhm_arcsec": float(seeing),
        "psf": physics.psf, "pixel_scale": scale, "total_flux_r": float(total_r),
    }
    has_gri = all(b in bands for b in "gri")
    return SimulatedGalaxy(bands=noisy.astype(np.float32), band_names=bands, header=header,
                           rgb=sdss_composite(noisy, bands) if has_gri else None, truth=truth, params=params)


def _position_away_from_centre(rng: np.random.Generator, frame: float, minimum: float) -> tuple[float, float]:
    """A random offset inside the frame at least ``minimum`` arcsec from the centre."""
    for _ in range(100):
        dx, dy = rng.uniform(-0.45, 0.45, 2) * frame
        if math.hypot(dx, dy) >= min(minimum, 0.4 * frame):
            return float(dx), float(dy)
    return float(0.4 * frame), 0.0


def _add_noise(images: np.ndarray, bands: tuple[str, ...], scale: float, rng: np.random.Generator) -> np.ndarray:
    """Sky-subtracted images with sky + source Poisson noise and read noise."""
    noisy = np.empty_like(images)
    for plane, band in enumerate(bands):
        gain = _ELECTRONS_PER_NMGY[band]
        sky = 10.0 ** (-0.4 * (_SKY_MAG[band] - _AB_ZERO_POINT)) * scale**2
        electrons = rng.poisson(np.clip(images[plane] + sky, 0.0, None) * gain).astype(np.float64)
        electrons += rng.normal(0.0, _READ_NOISE_E, electrons.shape)
        noisy[plane] = electrons / gain - sky
    return noisy


def sdss_composite(
    bands_image: np.ndarray,
    band_names: Sequence[str],
    *,
    weights: dict[str, float] | None = None,
    q: float = COMPOSITE_Q,
    stretch: float = COMPOSITE_STRETCH,
) -> np.ndarray:
    """gri composite like the SDSS Galaxy Zoo images: i -> R, r -> G, g -> B.

    Parameters
    ----------
    bands_image : numpy.ndarray, shape (n_band, H, W)
        Sky-subtracted images in nanomaggies, including g, r and i.
    band_names : sequence of str
        Band of each plane.
    weights : dict, optional
        Multipliers of the g, r, i fluxes (default :data:`SDSS_COMPOSITE_WEIGHTS`).
    q, stretch : float, optional
        Lupton et al. (2004) asinh parameters.

    Returns
    -------
    numpy.ndarray, shape (H, W, 3), float32 in [0, 1]
    """
    names = [normalize_band(b) for b in band_names]
    missing = [b for b in "gri" if b not in names]
    if missing:
        raise InputError(f"a gri composite needs bands g, r and i; missing {missing}")
    weights = SDSS_COMPOSITE_WEIGHTS if weights is None else weights
    planes = [bands_image[names.index(b)] * weights[b] for b in "irg"]
    with np.errstate(invalid="ignore", divide="ignore"):  # astropy divides 0 by 0 on black sky
        rgb = make_lupton_rgb(*planes, minimum=0.0, stretch=stretch, Q=q, output_dtype=np.float64)
    return rgb.astype(np.float32)


def _header(size: int, scale: float, bands: tuple[str, ...], rng: np.random.Generator,
            redshift: float, seeing: float, seed: int, index: int) -> tuple[fits.Header, WCS]:
    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    # A random field in the SDSS footprint's latitude range.
    wcs.wcs.crval = [rng.uniform(0.0, 360.0), math.degrees(math.asin(rng.uniform(-0.2, 0.95)))]
    wcs.wcs.crpix = [(size + 1) / 2.0, (size + 1) / 2.0]
    wcs.wcs.cd = [[-scale / 3600.0, 0.0], [0.0, scale / 3600.0]]
    wcs.wcs.radesys = "ICRS"
    header = wcs.to_header()
    header["BUNIT"] = ("nanomaggy", "1 nanomaggy = 3.631e-6 Jy")
    header["BANDS"] = ("".join(bands), "band of each plane")
    for plane, band in enumerate(bands):
        header[f"BAND{plane}"] = band
    header["REDSHIFT"] = (redshift, "simulated redshift")
    header["SEEING"] = (round(seeing, 4), "[arcsec] PSF FWHM")
    header["SIMSEED"] = (seed, "galcolor.datasets.simulate seed")
    header["SIMINDEX"] = (index, "galaxy index within the seed")
    header["ORIGIN"] = (f"galcolor {__version__}", "simulated with GalSim")
    return header, wcs


def _truth_table(rows: list[dict[str, Any]], bands: tuple[str, ...], wcs: WCS) -> QTable:
    x = np.array([row["x"] for row in rows], dtype=np.float64)
    y = np.array([row["y"] for row in rows], dtype=np.float64)
    sky = wcs.pixel_to_world(x, y) if rows else None
    table = QTable()
    table["id"] = np.arange(1, len(rows) + 1, dtype=np.int32)
    table["kind"] = np.array([row["kind"] for row in rows], dtype="U9")
    table["is_star_forming"] = np.array([row["is_star_forming"] for row in rows], dtype=bool)
    table["x"] = x * u.pix
    table["y"] = y * u.pix
    table["ra"] = (sky.ra.deg if rows else np.zeros(0)) * u.deg
    table["dec"] = (sky.dec.deg if rows else np.zeros(0)) * u.deg
    for plane, band in enumerate(bands):
        values = np.array([row["fluxes"][plane] for row in rows], dtype=np.float64)
        table[f"flux_{band}"] = values * u.nanomaggy
    table["radius"] = np.array([row["radius"] for row in rows], dtype=np.float64) * u.arcsec
    table["flux_fraction_g"] = np.array([row["flux_fraction_g"] for row in rows], dtype=np.float64)
    table["x"].info.description = "0-based pixel column of the centre"
    table["y"].info.description = "0-based pixel row of the centre"
    table["radius"].info.description = "Gaussian sigma (clumps), half-light radius (galaxies), 0 (stars)"
    table["flux_fraction_g"].info.description = "flux as a fraction of the main galaxy's g-band light"
    return table
