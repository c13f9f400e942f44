"""The GalSim galaxy simulator: determinism, WCS, truth that matches the pixels."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS
from scipy import ndimage

import galcolor
from galcolor import InputError
from galcolor.datasets import Physics, simulate
from galcolor.datasets.simulate import TRUTH_KINDS

SIZE = 64


@pytest.fixture(scope="module")
def galaxies():
    # Bright clumps (5-20 % of the g light) so their positions and colors
    # stand out from the noise; 50 galaxies give ~150 clumps and ~100 stars.
    return simulate(50, size=SIZE, seed=11, clump_fraction=(0.05, 0.2), star_rate=8.0)


def test_same_seed_gives_bit_identical_galaxies_and_prefixes_agree():
    first = simulate(3, size=SIZE, seed=5)
    second = simulate(2, size=SIZE, seed=5)
    for a, b in zip(first, second):
        assert np.array_equal(a.bands, b.bands) and np.array_equal(a.rgb, b.rgb)
        assert a.truth.pformat() == b.truth.pformat() and a.params == b.params
    assert not np.array_equal(simulate(1, size=SIZE, seed=6)[0].bands, first[0].bands)


def test_shapes_units_and_header(galaxies):
    galaxy = galaxies[0]
    assert galaxy.bands.shape == (3, SIZE, SIZE) and galaxy.bands.dtype == np.float32
    assert galaxy.rgb.shape == (SIZE, SIZE, 3) and 0.0 <= galaxy.rgb.min() and galaxy.rgb.max() <= 1.0
    header = galaxy.header
    assert header["BANDS"] == "gri" and [header[f"BAND{i}"] for i in range(3)] == ["g", "r", "i"]
    assert header["BUNIT"] == "nanomaggy" and header["CTYPE1"] == "RA---TAN"
    assert 0.02 <= header["REDSHIFT"] <= 0.15
    assert 1.0 <= galaxy.params["seeing_fwhm_arcsec"] <= 1.6


def test_wcs_round_trip_and_truth_coordinates(galaxies):
    for galaxy in galaxies:
        wcs = WCS(galaxy.header)
        x, y = np.array([0.0, 10.5, SIZE - 1.0]), np.array([3.0, 40.0, SIZE - 1.0])
        back = wcs.world_to_pixel(wcs.pixel_to_world(x, y))
        np.testing.assert_allclose(back, (x, y), atol=1e-8)
        scale = np.sqrt(abs(np.linalg.det(wcs.pixel_scale_matrix))) * 3600
        assert scale == pytest.approx(0.396, rel=1e-9)
        truth = galaxy.truth
        if len(truth):
            sky = wcs.pixel_to_world(truth["x"].value, truth["y"].value)
            np.testing.assert_allclose(sky.ra.deg, truth["ra"].value, atol=1e-10)
            np.testing.assert_allclose(sky.dec.deg, truth["dec"].value, atol=1e-10)


def test_truth_table_schema(galaxies):
    truth = galaxies[0].truth
    for column in ["id", "kind", "is_star_forming", "x", "y", "ra", "dec", "flux_g", "flux_r", "flux_i",
                   "radius", "flux_fraction_g"]:
        assert column in truth.colnames
    assert str(truth["x"].unit) == "pix" and str(truth["ra"].unit) == "deg"
    assert str(truth["flux_r"].unit) == "nmgy" and str(truth["radius"].unit) == "arcsec"
    kinds = np.concatenate([g.truth["kind"] for g in galaxies])
    assert set(kinds) <= set(TRUTH_KINDS) and "clump" in kinds and "star" in kinds
    for galaxy in galaxies:
        np.testing.assert_array_equal(galaxy.truth["is_star_forming"], galaxy.truth["kind"] == "clump")
    fractions = np.concatenate([g.truth["flux_fraction_g"][g.truth["kind"] == "clump"] for g in galaxies])
    assert fractions.min() >= 0.05 and fractions.max() <= 0.2


def _local_peak(image: np.ndarray, x: float, y: float, half: int = 3) -> tuple[float, float]:
    """Peak near (x, y) of the contrast image (smoothed minus heavily smoothed).

    The contrast (Mehta et al. 2021) removes the disk and bulge gradients,
    on which a clump is a bump rather than a maximum.
    """
    row, column = int(round(y)), int(round(x))
    smooth = ndimage.gaussian_filter(image, 1.0) - ndimage.gaussian_filter(image, 4.0)
    window = smooth[row - half: row + half + 1, column - half: column + half + 1]
    peak_row, peak_column = np.unravel_index(np.argmax(window), window.shape)
    return column - half + peak_column, row - half + peak_row


def _inside(x: float, y: float, margin: int = 6) -> bool:
    return margin <= x < SIZE - margin and margin <= y < SIZE - margin


def _isolated(truth, row, distance: float) -> bool:
    others = truth[truth["id"] != row["id"]]
    x, y = row["x"].value, row["y"].value
    return not len(others) or np.min(np.hypot(others["x"].value - x, others["y"].value - y)) > distance


def test_truth_positions_sit_on_flux_peaks(galaxies):
    checked = 0
    centre = (SIZE - 1) / 2
    for galaxy in galaxies:
        disk_px = galaxy.params["disk_radius_arcsec"] / 0.396
        for row in galaxy.truth:
            x, y = row["x"].value, row["y"].value
            # A faint star on a bright disk is invisible (as in real data):
            # check stars off the disk, clumps anywhere clear of the bulge.
            off_disk = np.hypot(x - centre, y - centre) > 2.5 * disk_px
            bright = (row["kind"] == "star" and row["flux_r"].value > 5.0 and off_disk) or row["kind"] == "clump"
            # Near the galaxy centre the bulge, not the clump, is the peak.
            clear = np.hypot(x - centre, y - centre) > 10 and _isolated(galaxy.truth, row, 8)
            if not (bright and clear and _inside(x, y)):
                continue
            # Clumps are bluest (g); stars can be as cool as 3000 K (use r).
            plane = 0 if row["kind"] == "clump" else 1
            peak_x, peak_y = _local_peak(galaxy.bands[plane], x, y)
            # Bright compact sources dominate a 7x7 box: the smoothed g peak
            # falls within 2 pixels of the truth (disk gradients shift it ~1 px).
            assert np.hypot(peak_x - x, peak_y - y) <= 2.0, (row["kind"], row["id"])
            checked += 1
    assert checked >= 10


def _aperture_color(galaxy, x: float, y: float, inner: float, outer: float | None = None) -> float:
    yy, xx = np.mgrid[0:SIZE, 0:SIZE]
    radius = np.hypot(xx - x, yy - y)
    region = radius <= inner if outer is None else (radius > inner) & (radius <= outer)
    g, i = galaxy.bands[0][region].sum(), galaxy.bands[2][region].sum()
    return -2.5 * np.log10(max(g, 1e-6) / max(i, 1e-6))


def test_clumps_are_bluer_in_g_minus_i_than_the_disk_around_them(galaxies):
    differences = []
    for galaxy in galaxies:
        truth = galaxy.truth
        for row in truth[truth["kind"] == "clump"]:
            x, y = row["x"].value, row["y"].value
            if not _inside(x, y, margin=8):
                continue
            if not _isolated(truth, row, 7):
                continue  # another object in the annulus would muddle the disk color
            differences.append(_aperture_color(galaxy, x, y, 1.5) - _aperture_color(galaxy, x, y, 3.5, 6.5))
    assert len(differences) >= 8
    # CWW Im clumps on Sbc/Scd disks: g - i bluer by ~0.3-0.8 mag at these
    # redshifts; noise and the PSF blend some disk light into the aperture.
    assert np.median(differences) < -0.15
    assert np.mean(np.array(differences) < 0) >= 0.8


def test_stars_are_point_like(galaxies):
    measured = []
    for galaxy in galaxies:
        truth = galaxy.truth
        seeing_px = galaxy.params["seeing_fwhm_arcsec"] / 0.396
        for row in truth[truth["kind"] == "star"]:
            x, y = row["x"].value, row["y"].value
            far_from_galaxy = np.hypot(x - (SIZE - 1) / 2, y - (SIZE - 1) / 2) > 20
            if row["flux_r"].value < 10.0 or not (_isolated(truth, row, 10) and far_from_galaxy
                                                  and _inside(x, y, 8)):
                continue
            stamp = galaxy.bands[1][int(y) - 7: int(y) + 8, int(x) - 7: int(x) + 8]
            area = np.sum(stamp >= 0.5 * stamp.max())
            measured.append(2.0 * np.sqrt(area / np.pi) / seeing_px)
    assert len(measured) >= 3
    # FWHM from the half-maximum area is the PSF FWHM widened by the pixel
    # (~0.4 px in quadrature) and pixel counting (+-0.5 px): within 35 %.
    assert np.all(np.abs(np.array(measured) - 1.0) < 0.35), measured


def test_to_cutout_carries_the_true_color(galaxies):
    galaxy = galaxies[1]
    cutout = galaxy.to_cutout("r")
    assert cutout.band == "r" and cutout.meta["simulated"]
    assert np.array_equal(cutout.truth_rgb, galaxy.rgb)
    assert cutout.wcs is not None and cutout.pixel_scale == pytest.approx(0.396)
    assert galaxy.to_cutout("g").band == "g"
    with pytest.raises(InputError, match="not 'z'"):
        galaxy.to_cutout("z")


def test_fits_cube_round_trip_through_galcolor_load(tmp_path, galaxies):
    path = tmp_path / "sim.fits"
    galaxies[2].to_hdulist().writeto(path)
    cutout = galcolor.load(path)
    assert cutout.band == "r" and cutout.meta["band_names"] == ["g", "r", "i"]
    np.testing.assert_array_equal(fits.getdata(path), galaxies[2].bands)


def test_physics_options_and_validation():
    quiet = simulate(2, size=SIZE, seed=1, max_clumps=0, star_rate=0.0, companion_probability=0.0,
                     neighbour_probability=0.0)
    assert all(len(g.truth) == 0 for g in quiet)
    kolmogorov = simulate(1, size=SIZE, seed=1, psf="kolmogorov")[0]
    assert kolmogorov.params["psf"] == "kolmogorov"
    with pytest.raises(InputError, match=r"unknown physics parameter\(s\) \['clumps'\]"):
        simulate(1, clumps=3)
    with pytest.raises(InputError, match="psf must be"):
        Physics(psf="gaussian")
    with pytest.raises(InputError, match="bands must be among"):
        simulate(1, bands=("g", "q"))
    with pytest.raises(InputError, match="at least 32"):
        simulate(1, size=16)


def test_other_band_sets():
    five = simulate(1, size=SIZE, bands=("u", "g", "r", "i", "z"), seed=2)[0]
    assert five.bands.shape == (5, SIZE, SIZE) and five.rgb is not None
    single = simulate(1, size=SIZE, bands=("r",), seed=2)[0]
    assert single.rgb is None and single.to_cutout("r").truth_rgb is None
