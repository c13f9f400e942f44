"""Every real file in ../shared/data loads correctly (skipped without ../shared)."""

from __future__ import annotations

import csv
import warnings

import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS, FITSFixedWarning
from astropy.wcs.utils import proj_plane_pixel_scales
from PIL import Image
from scipy.stats import spearmanr

import galcolor
import galcolor.color
from galcolor import GalcolorWarning

from .conftest import SHARED_DATA, requires_shared_data

pytestmark = requires_shared_data()

def header_wcs(header) -> WCS:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FITSFixedWarning)  # astropy's 'cdfix' note
        return WCS(header).celestial


DECALS = ["example_a", "example_b", "example_bad_pix", "example_c", "example_d", "example_e", "temp_small"]


@pytest.mark.parametrize("name", DECALS)
def test_decals_grz_cubes(name):
    path = SHARED_DATA / "fits" / "decals-grz" / f"{name}.fits"
    header = fits.getheader(path)
    cutout = galcolor.load(path)
    assert cutout.meta["band_names"] == ["g", "r", "z"]
    assert cutout.meta["truth_bands"] == ["r+z", "r", "g"]
    assert cutout.meta["truth_convention"] == "sdss-gri (fluxes per native pixel of decals)"
    assert cutout.shape == (header["NAXIS2"], header["NAXIS1"])
    assert cutout.truth_rgb is not None and np.isfinite(cutout.truth_rgb).all()
    expected_scale = np.mean(proj_plane_pixel_scales(header_wcs(header))) * 3600
    assert cutout.pixel_scale == pytest.approx(expected_scale, rel=1e-9)
    centre = header_wcs(header).pixel_to_world((header["NAXIS1"] - 1) / 2, (header["NAXIS2"] - 1) / 2)
    assert cutout.center.separation(centre).arcsec < 1e-6
    if name == "example_bad_pix":
        # g and r are 73-76% exact-zero no-data; z is complete, so z is L.
        assert cutout.band == "z" and not cutout.mask.any()
        assert 0.7 < cutout.truth_mask.mean() < 0.8
    else:
        assert cutout.band == "r"


def survey_lightness(jpeg_path) -> np.ndarray:
    """L of a survey's own JPEG, flipped to FITS row order (JPEG row 0 is the top)."""
    return galcolor.load(np.asarray(Image.open(jpeg_path).convert("RGB"))).lightness[::-1]


@pytest.mark.parametrize("name", ["example_a", "example_b", "example_c", "example_e"])
def test_decals_r_band_lightness_follows_the_survey_rendering(name):
    folder = SHARED_DATA / "fits" / "decals-grz"
    cutout = galcolor.load(folder / f"{name}.fits")
    survey = survey_lightness(folder / f"{name}.jpeg")
    # Same pixels, same orientation: on the galaxy (survey L > 15) the rank
    # correlation is 0.91-0.985 for these four; the unflipped or transposed
    # JPEG gives 0.52-0.88, so 0.9 catches an orientation error.
    galaxy = survey > 15
    rho = spearmanr(cutout.lightness[galaxy], survey[galaxy]).statistic
    assert rho > 0.9
    # Dark sky, bright but unclipped core, as in SDSS composites (sky L ~ 1,
    # core peak L 57-88 on Galaxy Zoo images).
    assert np.median(cutout.lightness) < 10.0
    assert 60.0 < cutout.lightness.max() < 99.0


@pytest.mark.parametrize("band", ["g", "r", "i"])
def test_sdss_single_band_files_take_the_band_from_the_file_name(band):
    path = SHARED_DATA / "fits" / "sdss-ngc6976" / f"reprojected_sdss_{band}.fits.bz2"
    if band == "g":
        cutout = galcolor.load(path)
        assert cutout.meta["warnings"] == []
    else:
        with pytest.warns(GalcolorWarning, match=f"FILTER='g' but the file name says band '{band}'"):
            cutout = galcolor.load(path)
    assert cutout.band == band
    assert cutout.shape == (496, 682) and cutout.meta["stretch"]["name"] == "asinh"
    assert cutout.header["BUNIT"] == "nanomaggy"
    assert cutout.center.ra.deg == pytest.approx(313.1702, abs=1e-3)


@pytest.mark.parametrize("name", ["Cut_HSC.fits", "Cut_HSC1.fits"])
def test_hsc_five_band_cubes_without_band_keywords(name):
    cutout = galcolor.load(SHARED_DATA / "fits" / "hsc-cosmos" / name)
    assert cutout.shape == (50, 50) and cutout.band is None
    assert cutout.meta["band_index"] == 2 and len(cutout.meta["band_names"]) == 5
    assert cutout.meta["truth_bands"] == ["plane 4", "plane 2", "plane 0"]
    assert cutout.wcs is not None and cutout.pixel_scale == pytest.approx(0.168, abs=1e-3)
    assert galcolor.load(SHARED_DATA / "fits" / "hsc-cosmos" / name, band=4).meta["band_index"] == 4


@pytest.mark.parametrize("name", ["Cut_HST.fits", "Cut_HST1.fits"])
def test_hst_2d_cutouts(name):
    cutout = galcolor.load(SHARED_DATA / "fits" / "hsc-cosmos" / name)
    assert cutout.shape == (250, 250) and cutout.truth_rgb is None
    assert cutout.pixel_scale == pytest.approx(0.03, abs=1e-4)
    assert cutout.lightness.max() > 50.0


def test_sdss_galaxy_zoo_jpegs():
    paths = sorted((SHARED_DATA / "sdss-gz" / "train").glob("*.jpg"))[:25]
    paths += sorted((SHARED_DATA / "sdss-gz" / "val").glob("*.jpg"))[:25]
    assert len(paths) == 50
    for path in paths:
        cutout = galcolor.load(path)
        assert cutout.shape == (424, 424) and cutout.truth_rgb.shape == (424, 424, 3)
        assert cutout.meta["format"] == "jpeg"


def test_every_multisurvey_image_loads():
    folder = SHARED_DATA / "multisurvey"
    with open(folder / "MANIFEST.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 591
    for row in rows:
        cutout = galcolor.load(folder / row["file"])
        assert cutout.shape == (int(row["height"]), int(row["width"])), row["file"]
        assert cutout.truth_rgb is not None, row["file"]


@pytest.mark.parametrize("name", ["example_a", "example_b", "example_c", "example_e"])
def test_decals_truth_color_inverts_to_the_cubes_own_g_minus_r(name):
    # The true color of a cube is galcolor's convention (a Lupton composite,
    # which keeps the ratios of its channels), so inverting it gives back
    # the g - r of the cube's own fluxes, pixel by pixel. Compared on the
    # galaxy's brightest unsaturated pixels (S/N >> 100 in g and r), where
    # only the sky subtraction differs (a few 1e-3 of the flux): 0.03 mag.
    from galcolor.io.convention import SDSS_GRI
    from galcolor.io.stretch import sky_statistics

    path = SHARED_DATA / "fits" / "decals-grz" / f"{name}.fits"
    cutout = galcolor.load(path)
    cube = fits.getdata(path).astype(np.float64)
    flux = [cube[k] - sky_statistics(cube[k], None)[0] for k in range(2)]
    unsaturated = cutout.truth_rgb.max(axis=-1) < 0.98
    bright = unsaturated & (flux[0] > np.percentile(flux[0][unsaturated], 99.5))
    measured = -2.5 * np.log10(flux[0][bright] / flux[1][bright])
    inverted = SDSS_GRI.color_indices(cutout.truth_rgb)["g-r"][bright]
    assert np.median(np.abs(inverted - measured)) < 0.03
