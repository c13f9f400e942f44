"""galcolor.load on JPEG/PNG/TIFF files and numpy arrays."""

from __future__ import annotations

import numpy as np
import png
import pytest
import tifffile
from PIL import Image
from skimage import color as skcolor

import galcolor
from galcolor import InputError
from galcolor.color import gray_to_lightness

from .conftest import galaxy_image

# Lightness agrees with scikit-image to 1e-3 (the color core's contract).
LAB_TOLERANCE = 1e-3


def rgb8(shape=(12, 16), seed=0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, shape + (3,), dtype=np.uint8)


def test_rgb_png_gives_lab_lightness_and_true_color(tmp_path):
    pixels = rgb8()
    path = tmp_path / "color.png"
    Image.fromarray(pixels).save(path)
    cutout = galcolor.load(path)
    expected = skcolor.rgb2lab(pixels)[..., 0]
    assert np.abs(cutout.lightness - expected).max() <= LAB_TOLERANCE
    np.testing.assert_allclose(cutout.truth_rgb, pixels / 255.0, atol=1e-7)
    assert cutout.meta["format"] == "png" and cutout.stretch is None and cutout.band is None


def test_rgb_jpeg_uses_the_decoded_pixels(tmp_path):
    path = tmp_path / "color.jpg"
    Image.fromarray(rgb8()).save(path, quality=90)
    decoded = np.asarray(Image.open(path))
    cutout = galcolor.load(path)
    assert cutout.meta["format"] == "jpeg"
    assert np.abs(cutout.lightness - skcolor.rgb2lab(decoded)[..., 0]).max() <= LAB_TOLERANCE


@pytest.mark.parametrize("bits", [8, 16])
def test_grey_png_is_read_as_srgb_grey(tmp_path, bits):
    dtype = np.uint8 if bits == 8 else np.uint16
    top = 2**bits - 1
    grey = np.linspace(0, top, 40).astype(dtype).reshape(5, 8)
    path = tmp_path / f"grey{bits}.png"
    png.from_array(grey, f"L;{bits}").save(path)
    cutout = galcolor.load(path)
    expected = gray_to_lightness(grey / top)
    assert np.abs(cutout.lightness - expected).max() <= LAB_TOLERANCE
    assert cutout.truth_rgb is None and cutout.meta["stretch"]["name"] == "identity"


def test_16bit_rgb_png_keeps_all_16_bits(tmp_path):
    pixels = np.random.default_rng(1).integers(0, 65536, (6, 7, 3), dtype=np.uint16)
    path = tmp_path / "deep.png"
    png.from_array(pixels.reshape(6, -1), "RGB;16").save(path)
    cutout = galcolor.load(path)
    # Pillow would truncate to 8 bits (errors up to 1/255); exact means pypng read it.
    np.testing.assert_allclose(cutout.truth_rgb, pixels / 65535.0, atol=1e-7)


def test_rgba_alpha_is_dropped_and_transparent_pixels_masked(tmp_path):
    rgba = np.dstack([rgb8(), np.full((12, 16), 255, dtype=np.uint8)])
    rgba[0, 0, 3] = 0
    rgba[1, 1, 3] = 128  # half transparent: still a valid pixel
    path = tmp_path / "alpha.png"
    Image.fromarray(rgba, "RGBA").save(path)
    cutout = galcolor.load(path)
    assert cutout.truth_rgb.shape == (12, 16, 3)
    assert cutout.mask.sum() == 1 and cutout.mask[0, 0]
    opaque = galcolor.load(rgba[..., :3])
    np.testing.assert_array_equal(cutout.lightness[~cutout.mask], opaque.lightness[~cutout.mask])


def test_palette_png_is_expanded_to_rgb(tmp_path):
    pixels = rgb8((8, 8))
    image = Image.fromarray(pixels).quantize(colors=16)
    path = tmp_path / "palette.png"
    image.save(path)
    expected = np.asarray(image.convert("RGB")) / 255.0
    np.testing.assert_allclose(galcolor.load(path).truth_rgb, expected, atol=1e-7)


def test_grey_with_alpha_png(tmp_path):
    image = Image.fromarray(np.full((4, 4), 200, dtype=np.uint8)).convert("LA")
    path = tmp_path / "la.png"
    image.save(path)
    cutout = galcolor.load(path)
    assert cutout.truth_rgb is None
    assert cutout.lightness[0, 0] == pytest.approx(gray_to_lightness(np.array(200 / 255))[()], abs=1e-4)


def test_16bit_rgb_tiff_and_float_tiff(tmp_path):
    pixels = np.random.default_rng(2).integers(0, 65536, (5, 6, 3), dtype=np.uint16)
    tifffile.imwrite(tmp_path / "deep.tif", pixels, photometric="rgb")
    np.testing.assert_allclose(galcolor.load(tmp_path / "deep.tif").truth_rgb, pixels / 65535.0, atol=1e-7)
    flux = galaxy_image()
    tifffile.imwrite(tmp_path / "flux.tiff", flux)
    cutout = galcolor.load(tmp_path / "flux.tiff")
    assert cutout.meta["stretch"]["name"] == "asinh"
    np.testing.assert_allclose(cutout.lightness, galcolor.load(flux).lightness, atol=1e-5)


@pytest.mark.parametrize("channel,index", [("R", 0), ("g", 1), (2, 2)])
def test_band_picks_one_channel_of_an_rgb_image(channel, index):
    pixels = rgb8()
    cutout = galcolor.load(pixels, band=channel)
    expected = gray_to_lightness(pixels[..., index] / 255.0)
    assert np.abs(cutout.lightness - expected).max() <= LAB_TOLERANCE
    assert cutout.meta["rgb_channel"] == "RGB"[index]
    assert cutout.truth_rgb is not None
    with pytest.raises(InputError, match="bands 'R', 'G', 'B'"):
        galcolor.load(pixels, band="u")


def test_integer_grey_arrays_are_grey_levels_float_arrays_are_flux():
    grey8 = np.full((4, 4), 255, dtype=np.uint8)
    assert galcolor.load(grey8).lightness.min() == pytest.approx(100.0, abs=1e-3)
    grey16 = np.full((4, 4), 65535 // 2, dtype=np.uint16)
    assert galcolor.load(grey16).lightness[0, 0] == pytest.approx(53.39, abs=0.01)
    flux = galcolor.load(galaxy_image())
    assert flux.meta["stretch"]["name"] == "asinh"


def test_float_rgb_array_must_be_in_unit_range():
    rgb = np.random.default_rng(3).random((4, 4, 3))
    cutout = galcolor.load(rgb)
    np.testing.assert_allclose(cutout.truth_rgb, rgb, atol=1e-7)
    with pytest.raises(InputError, match=r"float RGB values must lie in \[0, 1\], got range"):
        galcolor.load(rgb * 255.0)


def test_nan_pixels_of_an_rgb_array_are_masked():
    rgb = np.random.default_rng(4).random((4, 4, 3))
    rgb[2, 3, 1] = np.nan
    cutout = galcolor.load(rgb)
    assert cutout.mask.sum() == 1 and cutout.mask[2, 3]
    assert np.all(cutout.truth_rgb[2, 3] == 0.0) and cutout.lightness[2, 3] == 0.0
