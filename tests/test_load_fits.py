"""galcolor.load on FITS: images, cubes, multi-extension files, WCS and masks."""

from __future__ import annotations

import bz2
import gzip
import hashlib
import shutil

import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs.utils import proj_plane_pixel_scales

import galcolor
from galcolor import GalcolorWarning, InputError

from .conftest import galaxy_image, make_wcs


def sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_single_band_image_with_wcs(fits_2d):
    cutout = galcolor.load(fits_2d)
    assert cutout.shape == (48, 64)
    assert cutout.lightness.dtype == np.float32
    assert 0.0 <= cutout.lightness.min() and cutout.lightness.max() <= 100.0
    assert cutout.band == "r"
    assert cutout.source == str(fits_2d)
    assert cutout.meta["format"] == "fits" and cutout.meta["stretch"]["name"] == "asinh"
    assert cutout.truth_rgb is None and not cutout.mask.any()
    # The pixel centre of a 64 x 48 image with CRPIX at (32.5, 24.5) is CRVAL.
    assert cutout.center.ra.deg == pytest.approx(150.0, abs=1e-9)
    assert cutout.center.dec.deg == pytest.approx(2.0, abs=1e-9)
    assert cutout.pixel_scale == pytest.approx(0.396, rel=1e-9)
    assert cutout.header["FILTER"] == "r"
    # The galaxy (centre) is bright, the sky dark: the stretch did its job.
    assert cutout.lightness[24, 32] > 60 and np.median(cutout.lightness[:5]) < 5


def test_rows_keep_fits_order_so_the_wcs_applies(tmp_path):
    image = np.zeros((40, 30), dtype=np.float32) + np.random.default_rng(0).normal(0, 1, (40, 30))
    image[35, 5] += 1000.0  # a star near the top-left of the displayed (origin="lower") image
    path = tmp_path / "star.fits"
    fits.PrimaryHDU(image, header=make_wcs(image.shape).to_header()).writeto(path)
    cutout = galcolor.load(path)
    row, column = np.unravel_index(np.argmax(cutout.lightness), cutout.shape)
    assert (row, column) == (35, 5)
    star = cutout.wcs.pixel_to_world(5, 35)
    assert star.separation(cutout.center).arcsec == pytest.approx(np.hypot(14.5 - 5, 35 - 19.5) * 0.396, rel=1e-3)


def test_loading_never_modifies_the_input(fits_2d):
    before = sha256(fits_2d), fits_2d.stat().st_mtime_ns
    galcolor.load(fits_2d)
    assert (sha256(fits_2d), fits_2d.stat().st_mtime_ns) == before


def test_nan_and_inf_pixels_are_masked(tmp_path):
    image = galaxy_image()
    image[0, :10] = np.nan
    image[1, 0] = np.inf
    path = tmp_path / "holes.fits"
    fits.writeto(path, image)
    cutout = galcolor.load(path)
    assert cutout.mask.sum() == 11 and cutout.mask[0, :10].all() and cutout.mask[1, 0]
    assert np.all(cutout.lightness[cutout.mask] == 0.0)
    assert np.isfinite(cutout.lightness).all()


def test_bscale_bzero_applied_and_blank_masked(tmp_path):
    flux = galaxy_image(shape=(20, 20), sky=100.0, noise=3.0, peak=2000.0)
    raw = np.round((flux - 1000.0) / 0.5).astype(np.int16)
    raw[0, 0] = -32768
    path = tmp_path / "scaled.fits"
    fits.PrimaryHDU(raw, header=fits.Header({"BLANK": -32768})).writeto(path)
    # astropy drops BSCALE/BZERO that do not match the data it writes, so add
    # them to the raw file afterwards, as a survey pipeline would have.
    with fits.open(path, mode="update", do_not_scale_image_data=True) as hdul:
        hdul[0].header["BSCALE"], hdul[0].header["BZERO"] = 0.5, 1000.0
    cutout = galcolor.load(path)
    assert cutout.mask[0, 0] and cutout.mask.sum() == 1
    # The stretch saw physical values, exactly as if the flux had been given.
    physical = raw * 0.5 + 1000.0
    physical[0, 0] = np.nan
    np.testing.assert_allclose(cutout.lightness, galcolor.load(physical).lightness, atol=1e-4)
    assert cutout.stretch.sky > 100.0


def test_unscaled_integer_blank_is_masked():
    raw = np.arange(100, dtype=np.int32).reshape(10, 10)
    hdu = fits.PrimaryHDU(raw)
    hdu.header["BLANK"] = 42
    cutout = galcolor.load(hdu)
    assert cutout.mask[4, 2] and cutout.mask.sum() == 1


def cube_hdu(bands="grz", named=True, size=32) -> fits.PrimaryHDU:
    """A cube whose reddest band is bright on the left half, bluest on the right."""
    base = galaxy_image(shape=(size, size), sky=0.0, noise=0.01, peak=5.0)
    planes = []
    for index in range(len(bands)):
        plane = base.copy()
        if index == len(bands) - 1:
            plane[:, : size // 2] *= 3.0
        if index == 0:
            plane[:, size // 2:] *= 3.0
        planes.append(plane)
    header = make_wcs((size, size)).to_header()
    if named:
        header["BANDS"] = bands
        for index, band in enumerate(bands):
            header[f"BAND{index}"] = band
    return fits.PrimaryHDU(np.stack(planes), header=header)


def test_cube_default_band_is_the_one_nearest_r_and_truth_rgb_is_lupton():
    cutout = galcolor.load(cube_hdu("grz"))
    assert cutout.band == "r" and cutout.meta["band_names"] == ["g", "r", "z"]
    # i (the R channel's band) is interpolated between r and z: galcolor's convention (galcolor.io.convention)
    assert cutout.meta["truth_bands"] == ["r+z", "r", "g"]
    assert cutout.meta["truth_substitutes"] == {"i": "interpolated from r and z"}
    assert cutout.meta["truth_convention"].startswith("sdss-gri bands and weights, stretch from the data")
    rgb = cutout.truth_rgb
    assert rgb.shape == (32, 32, 3) and rgb.min() >= 0 and rgb.max() <= 1
    # Reddest band (z) -> R: the left half is red, the right half blue.
    left, right = rgb[8:24, 10:14].mean(axis=(0, 1)), rgb[8:24, 18:22].mean(axis=(0, 1))
    assert left[0] > left[2] and right[2] > right[0]


def test_cube_band_by_name_and_by_index():
    hdu = cube_hdu("grz")
    assert galcolor.load(hdu, band="z").band == "z"
    assert galcolor.load(hdu, band=0).band == "g"
    assert galcolor.load(hdu, band=-1).band == "z"
    np.testing.assert_array_equal(galcolor.load(hdu, band="g").lightness, galcolor.load(hdu, band=0).lightness)
    with pytest.raises(InputError, match=r"no band 'i'; available bands are \['g', 'r', 'z'\]"):
        galcolor.load(hdu, band="i")
    with pytest.raises(InputError, match="band index 3 out of range for 3 band"):
        galcolor.load(hdu, band=3)


def test_cube_without_band_keywords_uses_the_middle_plane_and_file_order():
    cutout = galcolor.load(cube_hdu("grizy", named=False))
    assert cutout.band is None and cutout.meta["band_index"] == 2
    assert cutout.meta["truth_bands"] == ["plane 4", "plane 2", "plane 0"]
    rgb = cutout.truth_rgb
    assert rgb[8:24, 10:14, 0].mean() > rgb[8:24, 10:14, 2].mean()


def test_multi_extension_file_with_one_band_per_hdu(tmp_path):
    cube = cube_hdu("gri")
    hdus = [fits.PrimaryHDU()]
    for band, plane in zip("gri", cube.data):
        hdus.append(fits.ImageHDU(plane, header=make_wcs(plane.shape).to_header(), name=band.upper()))
        hdus[-1].header["FILTER"] = band
    path = tmp_path / "mef.fits"
    fits.HDUList(hdus).writeto(path)
    cutout = galcolor.load(path)
    assert cutout.meta["layout"] == "extensions"
    assert cutout.band == "r" and cutout.meta["hdu"] == 2
    assert cutout.truth_rgb is not None and cutout.wcs is not None
    reddest = galcolor.load(path, band="i")
    assert reddest.meta["hdu"] == 3 and reddest.header["FILTER"] == "i"


def test_hdu_selection_by_index_and_name(tmp_path):
    path = tmp_path / "two.fits"
    first, second = galaxy_image(seed=1), galaxy_image(seed=2, peak=50.0)
    fits.HDUList([fits.PrimaryHDU(first), fits.ImageHDU(second, name="SCI")]).writeto(path)
    by_index, by_name = galcolor.load(path, hdu=1), galcolor.load(path, hdu="SCI")
    np.testing.assert_array_equal(by_index.lightness, by_name.lightness)
    assert by_index.meta["hdu"] == 1
    with pytest.raises(InputError, match=r"no HDU 'ERR'"):
        galcolor.load(path, hdu="ERR")


@pytest.mark.parametrize("opener,suffix", [(gzip.open, ".fits.gz"), (bz2.open, ".fits.bz2")])
def test_compressed_files(fits_2d, tmp_path, opener, suffix):
    path = tmp_path / ("galaxy_r" + suffix)
    with open(fits_2d, "rb") as source, opener(path, "wb") as target:
        shutil.copyfileobj(source, target)
    np.testing.assert_array_equal(galcolor.load(path).lightness, galcolor.load(fits_2d).lightness)


@pytest.mark.parametrize("suffix", [".fit", ".fts", ".FITS"])
def test_other_fits_suffixes(fits_2d, tmp_path, suffix):
    path = tmp_path / ("copy" + suffix)
    shutil.copy(fits_2d, path)
    assert galcolor.load(path).shape == (48, 64)


def test_filter_keyword_contradicting_the_file_name_is_not_trusted(tmp_path):
    header = fits.Header({"FILTER": "g"})
    path = tmp_path / "reprojected_sdss_i.fits"
    fits.writeto(path, galaxy_image(), header=header)
    with pytest.warns(GalcolorWarning, match="FILTER='g' but the file name says band 'i'"):
        cutout = galcolor.load(path)
    assert cutout.band == "i"
    assert "FILTER='g'" in cutout.meta["warnings"][0]


def test_band_argument_relabels_a_single_band_file(fits_2d):
    assert galcolor.load(fits_2d, band="i").band == "i"


def test_exact_zero_no_data_patch_is_masked_but_an_all_zero_image_is_valid(tmp_path):
    image = galaxy_image(shape=(40, 40))
    image[:10, :] = 0.0  # 400 pixels outside the survey footprint
    cutout = galcolor.load(fits.PrimaryHDU(image))
    assert cutout.mask[:10].all() and not cutout.mask[10:].any()
    assert cutout.meta["zero_pixels_masked"] == 400
    flat = galcolor.load(fits.PrimaryHDU(np.zeros((8, 8), dtype=np.float32)))
    assert not flat.mask.any() and np.all(flat.lightness == 0.0)


def test_radio_style_degenerate_axes_are_dropped():
    cutout = galcolor.load(fits.PrimaryHDU(galaxy_image()[None, None]))
    assert cutout.shape == (48, 64)


def test_image_hdu_and_cutout_inputs():
    image_hdu = fits.ImageHDU(galaxy_image(), header=make_wcs((48, 64)).to_header())
    cutout = galcolor.load(image_hdu)
    assert cutout.source == "ImageHDU input" and cutout.wcs is not None
    assert galcolor.load(cutout) is cutout


def test_cube_wcs_is_reduced_to_its_celestial_part():
    hdu = cube_hdu("grz")
    hdu.header["WCSAXES"] = 3
    hdu.header["CTYPE3"] = "WAVE"
    hdu.header["CRVAL3"], hdu.header["CDELT3"], hdu.header["CRPIX3"] = 4.7e-7, 1e-7, 1.0
    cutout = galcolor.load(hdu)
    assert cutout.wcs.pixel_n_dim == 2 and cutout.wcs.has_celestial
    assert proj_plane_pixel_scales(cutout.wcs)[0] * 3600 == pytest.approx(0.396)
