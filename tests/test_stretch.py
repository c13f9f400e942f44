"""The asinh stretch that turns single-band flux into lightness."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.visualization import ImageNormalize, LinearStretch, MinMaxInterval

import galcolor
from galcolor import InputError
from galcolor.io import DEFAULT_WHITE_LIGHTNESS, AsinhStretch, sky_statistics

from .conftest import galaxy_image


def test_sky_statistics_ignore_the_galaxy_and_masked_pixels():
    image = galaxy_image(shape=(200, 200), sky=10.0, noise=1.0, peak=500.0).astype(np.float64)
    mask = np.zeros(image.shape, dtype=bool)
    image[:5] = 1e6
    mask[:5] = True
    sky, noise = sky_statistics(image, mask)
    # ~40000 sky pixels give the median to 0.006 sigma, but the galaxy's
    # exponential wings (above 1 sigma out to r = 25 px) lift it by a few
    # hundredths of sigma; clipping at 3 sigma shrinks the std by ~1.3%.
    assert sky == pytest.approx(10.0, abs=0.1)
    assert noise == pytest.approx(1.0, abs=0.05)


def test_auto_stretch_maps_sky_to_black_and_the_peak_to_the_white_level():
    image = galaxy_image(shape=(100, 100), sky=10.0, noise=1.0, peak=800.0)
    stretch = AsinhStretch.from_data(image)
    sky_l = stretch.lightness(np.array([stretch.sky]))[0]
    assert sky_l == 0.0
    # The robust peak (3x3 median) is a little below the raw maximum.
    from scipy import ndimage
    peak = ndimage.median_filter(image.astype(np.float64), 3).max()
    assert stretch.lightness(np.array([peak]))[0] == pytest.approx(DEFAULT_WHITE_LIGHTNESS, abs=0.01)
    # One sigma of sky noise should be a faint, visible grey: a few L units,
    # like the sky noise of SDSS composites (median std 2.2 L on Galaxy Zoo).
    one_sigma = stretch.lightness(np.array([stretch.sky + stretch.noise]))[0]
    assert 0.5 < one_sigma < 6.0


def test_stretch_is_monotonic_and_bounded():
    stretch = AsinhStretch(sky=1.0, stretch=3.0, q=8.0)
    flux = np.linspace(-10.0, 1e5, 20001)
    lightness = stretch.lightness(flux)
    assert np.all(np.diff(lightness) >= 0)
    assert lightness.min() == 0.0 and lightness.max() == pytest.approx(100.0)


def test_hot_pixel_does_not_set_the_white_point():
    image = galaxy_image(shape=(64, 64), peak=300.0)
    centre = image[32, 32]
    reference = AsinhStretch.from_data(image).lightness(np.array([centre]))[0]
    image[3, 3] = 1e7
    # Only the sky statistics move (one more clipped pixel): well under 0.1 L.
    assert AsinhStretch.from_data(image).lightness(np.array([centre]))[0] == pytest.approx(reference, abs=0.1)


def test_constant_image_gives_flat_black_lightness():
    cutout = galcolor.load(np.full((16, 16), 7.5))
    assert np.all(cutout.lightness == 0.0)
    assert not cutout.mask.any()


def test_invalid_parameters_are_refused():
    with pytest.raises(InputError, match="stretch > 0"):
        AsinhStretch(sky=0.0, stretch=0.0, q=8.0)
    with pytest.raises(InputError, match="finite"):
        AsinhStretch(sky=np.nan, stretch=1.0, q=8.0)


def test_user_stretch_object_is_used_and_recorded():
    image = galaxy_image()
    mine = AsinhStretch(sky=10.0, stretch=50.0, q=2.0)
    cutout = galcolor.load(image, stretch=mine)
    assert cutout.stretch is mine
    assert cutout.meta["stretch"] == {"name": "asinh", "sky": 10.0, "stretch": 50.0, "q": 2.0, "noise": None}
    np.testing.assert_allclose(cutout.lightness, mine.lightness(image), atol=1e-4)


def test_astropy_normalize_works_as_a_stretch():
    image = galaxy_image()
    norm = ImageNormalize(image, interval=MinMaxInterval(), stretch=LinearStretch())
    cutout = galcolor.load(image, stretch=norm)
    assert cutout.lightness.max() == pytest.approx(100.0)
    assert cutout.lightness.min() == pytest.approx(0.0)
    assert cutout.meta["stretch"]["name"] == "custom"


def test_stretch_returning_the_wrong_shape_is_an_input_error():
    with pytest.raises(InputError, match="array input: stretch returned shape"):
        galcolor.load(galaxy_image(), stretch=lambda data: data.ravel())


def test_unknown_stretch_name_is_an_input_error():
    with pytest.raises(InputError, match="unknown stretch 'log'"):
        galcolor.load(galaxy_image(), stretch="log")


def test_a_large_frame_is_stretched_a_band_of_rows_at_a_time_with_the_same_result(monkeypatch):
    # The robust peak (3x3 median filter) and the stretch work on bands of
    # rows so that a large frame holds no full-size temporaries; the bands
    # give exactly what the whole frame gives.
    from scipy import ndimage

    from galcolor.io import stretch as module

    rng = np.random.default_rng(3)
    image = rng.normal(10.0, 1.0, (203, 157))
    image[100:103, 40:43] += 500.0  # the peak sits across two bands
    image[7, 9] = np.nan
    mask = rng.random(image.shape) < 0.02
    whole = AsinhStretch.from_data(image, mask)
    lightness = module.apply_stretch(whole, image, "test")
    monkeypatch.setattr(module, "_BLOCK_PIXELS", 157 * 10)  # bands of 10 rows
    assert len(module._row_blocks(image.shape)) == 21
    filled = np.where(np.isfinite(image) & ~mask, image, 10.0)
    assert module._median_filtered_max(image, mask, 10.0) == ndimage.median_filter(filled, size=3).max()
    assert AsinhStretch.from_data(image, mask) == whole
    np.testing.assert_array_equal(module.apply_stretch(whole, image, "test"), lightness)
    # a last band of one row (201 = 20 x 10 + 1) still has its hot pixel filtered away
    short = image[:201].copy()
    short[200, 80] = 1e6
    filled = np.where(np.isfinite(short) & ~mask[:201], short, 10.0)
    assert module._median_filtered_max(short, mask[:201], 10.0) == ndimage.median_filter(filled, size=3).max() < 1e3
