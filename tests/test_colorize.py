"""galcolor.colorize, Colorizer and Colorization: alignment, TTA, tiling, masks, products."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from astropy.io import fits
from astropy.wcs import WCS
from PIL import Image
from torch import nn

import galcolor
from galcolor import Colorization, Colorizer, colorize
from galcolor.exceptions import FileFormatError, InputError
from galcolor.geometry import central_galaxy_mask, galaxy_radius
from galcolor.io import example_hdulist
from galcolor.models import get_model, save_weights
from galcolor.models import ColorizerNet as Network


class Pointwise(Network):
    """ab = f(L) pixel by pixel (a 1x1 convolution): makes alignment checks exact."""

    name = "pointwise"

    def __init__(self) -> None:
        super().__init__(head="regression")
        self.conv = nn.Conv2d(1, self.out_channels, 1)
        with torch.no_grad():
            self.conv.weight.copy_(torch.tensor([[[[0.5]]], [[[1.0]]]]))
            self.conv.bias.copy_(torch.tensor([0.5, 1.0]))  # L = 0 -> ab = 0

    def network(self, normalized_lightness: torch.Tensor) -> torch.Tensor:
        return self.conv(normalized_lightness)


def blob(shape=(96, 128), centre=(40.3, 70.6), sigma=6.0, peak=300.0) -> np.ndarray:
    y, x = np.mgrid[:shape[0], :shape[1]]
    return peak * np.exp(-((y - centre[0]) ** 2 + (x - centre[1]) ** 2) / (2 * sigma**2))


@pytest.fixture(scope="module")
def tiny_unet() -> Network:
    torch.manual_seed(0)
    model = get_model("unet", width=4, depth=2)
    with torch.no_grad():  # non-trivial batch-norm statistics
        for module in model.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.running_mean.uniform_(-0.2, 0.2)
                module.running_var.uniform_(0.5, 1.5)
    return model.eval()


def centroid(weights: np.ndarray) -> np.ndarray:
    y, x = np.mgrid[:weights.shape[0], :weights.shape[1]]
    return np.array([(weights * y).sum(), (weights * x).sum()]) / weights.sum()


# --------------------------------------------------------------------- alignment and L


def test_output_has_the_input_shape_wcs_and_unchanged_lightness():
    hdulist = example_hdulist()
    cutout = galcolor.load(hdulist)
    result = colorize(hdulist, model=Pointwise(), tta=False)
    assert isinstance(result, Colorization)
    assert result.shape == cutout.shape and result.ab.shape == cutout.shape + (2,)
    assert np.array_equal(result.lightness, cutout.lightness)
    assert result.wcs.wcs.compare(cutout.wcs.wcs)
    assert result.rgb.shape == cutout.shape + (3,) and 0.0 <= result.rgb.min() <= result.rgb.max() <= 1.0


def test_colorizing_the_lightness_of_an_rgb_image_returns_exactly_that_lightness(tmp_path, tiny_unet):
    rng = np.random.default_rng(1)
    pixels = (rng.random((50, 70, 3)) * 255).astype(np.uint8)
    path = tmp_path / "color.png"
    Image.fromarray(pixels).save(path)
    result = colorize(path, model=tiny_unet, tta=False, scale=0.5)
    expected = galcolor.color.rgb_to_lab_numpy(pixels / 255.0)[..., 0]
    assert np.array_equal(result.lightness, galcolor.load(path).lightness)
    np.testing.assert_allclose(result.lightness, expected, atol=1e-3)
    np.testing.assert_allclose(result.lab[..., 0], result.lightness)


@pytest.mark.parametrize("scale", [1.0, 0.5, 0.37])
def test_predicted_color_lines_up_with_the_input_pixels(scale):
    image = blob()
    result = colorize(image, model=Pointwise(), tta=False, scale=scale)
    cutout = galcolor.load(image)
    # ab of the pointwise model grows with L; its centroid must sit on the L centroid
    assert np.abs(centroid(result.ab[..., 1]) - centroid(cutout.lightness)).max() < 0.1
    if scale == 1.0:  # no resampling: exactly the network applied to L
        expected = Pointwise().predict(torch.from_numpy(cutout.lightness)[None, None])[0][0]
        np.testing.assert_allclose(result.ab, expected.permute(1, 2, 0).numpy(), atol=1e-5)


def test_auto_scale_brings_the_galaxy_to_the_training_size():
    small, large = blob(sigma=4.0, shape=(128, 128), centre=(64, 64)), blob(sigma=16.0, shape=(256, 256),
                                                                             centre=(128, 128))
    colorizer = Colorizer(Pointwise(), tta=False)
    scales = [colorizer(image).meta["scale"] for image in (small, large)]
    radii = [galaxy_radius(galcolor.load(image).lightness) for image in (small, large)]
    for scale, radius in zip(scales, radii):
        # meta["scale"] is the scale applied, after rounding the network image to whole pixels
        assert scale * radius == pytest.approx(galcolor.geometry.REFERENCE_GALAXY_RADIUS, rel=0.005)


def test_auto_scale_follows_the_training_geometry_recorded_with_the_weights(tmp_path):
    image = blob(sigma=8.0, shape=(128, 128), centre=(64, 64))
    radius = galaxy_radius(galcolor.load(image).lightness)
    # a network trained at 64 px from the 208 px crop saw galaxies half as large as the default's
    path = tmp_path / "small.pt"
    save_weights(get_model("unet", width=4, depth=2), path, extra={"training": {"data": {"size": 64, "crop": 208}}})
    colorizer = Colorizer(str(path), tta=False)
    assert colorizer.reference_radius == pytest.approx(galcolor.geometry.REFERENCE_GALAXY_RADIUS / 2)
    assert colorizer._network_scale(galcolor.load(image)) * radius == pytest.approx(colorizer.reference_radius,
                                                                                   rel=1e-6)
    # the applied scale is within 1/8 of it (the network image rounded to stride multiples)
    assert colorizer(image).meta["scale"] * radius == pytest.approx(colorizer.reference_radius, rel=0.125)
    # a fractional crop refers to the 424 px Galaxy Zoo frame: 0.5 -> 212 px
    save_weights(get_model("unet", width=4, depth=2), path, extra={"training": {"data": {"size": 128, "crop": 0.5}}})
    assert Colorizer(str(path), tta=False).reference_radius == pytest.approx(
        galcolor.geometry.REFERENCE_GALAXY_RADIUS * (128 / 212) / (128 / 208))


def test_central_galaxy_is_the_region_at_the_centre_not_the_brightest():
    image = np.zeros((40, 40))
    image[18:23, 18:23] = 30.0  # the target, faint
    image[2:12, 2:12] = 90.0  # a bright neighbour
    mask = central_galaxy_mask(image)
    assert mask[20, 20] and not mask[5, 5] and 21 <= mask.sum() <= 25  # corners smoothed away
    assert galaxy_radius(np.zeros((8, 8))) is None
    shifted = np.zeros((40, 40))
    shifted[25:30, 25:30] = 40.0  # nothing at the centre: the region near it
    assert central_galaxy_mask(shifted)[27, 27]
    offset = np.zeros((80, 80))
    offset[42:45, 40:43] = 60.0  # a star next to the centre
    offset[20:34, 44:60] = 50.0  # the galaxy, a little further but far brighter
    assert central_galaxy_mask(offset)[27, 50] and not central_galaxy_mask(offset)[43, 41]
    far = np.zeros((80, 80))
    far[2:6, 2:6] = 50.0  # only a region far from the centre: it is the one
    assert central_galaxy_mask(far)[3, 3]


# ------------------------------------------------------------------------------ TTA


def test_tta_makes_the_prediction_equivariant_to_rotations_and_flips(tiny_unet):
    image = blob(shape=(64, 96), centre=(30, 41))
    image += np.random.default_rng(0).normal(0, 3, image.shape)
    reference = colorize(image, model=tiny_unet, tta=True, scale=1.0)
    for transform in (np.rot90, np.fliplr, lambda array: np.rot90(array, 3)):
        moved = colorize(np.ascontiguousarray(transform(image)), model=tiny_unet, tta=True, scale=1.0)
        np.testing.assert_allclose(moved.ab, transform(reference.ab), atol=2e-4)
        np.testing.assert_allclose(moved.ab_std, transform(reference.ab_std), atol=2e-4)
    plain = colorize(image, model=tiny_unet, tta=False, scale=1.0)
    assert not np.allclose(plain.ab, reference.ab, atol=1e-3)  # TTA did average something


def test_ab_std_from_tta_spread_and_from_the_classification_head(tiny_unet):
    image = blob(shape=(64, 64), centre=(30, 33))
    for scale in (1.0, 0.5):  # 0.5: the spread is resampled to the input's grid
        assert np.all(colorize(image, model=tiny_unet, tta=False, scale=scale).ab_std == 0.0)
        spread = colorize(image, model=tiny_unet, tta=True, scale=scale).ab_std
        assert spread.max() > 0.0 and np.all(spread >= 0.0)
    torch.manual_seed(2)
    classifier = get_model("unet", width=4, depth=2, head="classification").eval()
    own = colorize(image, model=classifier, tta=False, scale=1.0).ab_std
    both = colorize(image, model=classifier, tta=True, scale=1.0).ab_std
    assert own.min() > 0.0  # the predicted distribution's own spread
    # total variance = mean model variance + TTA variance >= ... the model spread alone is not lost
    assert np.median(both) > 0.5 * np.median(own)


def test_a_list_is_batched_and_gives_what_single_calls_give(tiny_unet):
    images = [blob(centre=(40 + i, 60 - i)) for i in range(3)]
    colorizer = Colorizer(tiny_unet, tta=False, scale=0.5, batch_size=2)
    batched = colorizer(images)
    assert isinstance(batched, list) and len(batched) == 3
    for image, result in zip(images, batched):
        np.testing.assert_allclose(result.ab, colorizer(image).ab, atol=1e-4)
    generator = colorizer(image for image in images)  # any iterable
    assert len(generator) == 3


def test_auto_scale_rounds_the_network_image_to_stride_multiples(tiny_unet):
    # tiny_unet has stride 4: sides of >= 16 network pixels are rounded to multiples of 4
    colorizer = Colorizer(tiny_unet, tta=False, batch_size=4)
    images = [blob(shape=(96, 128), centre=(48, 64), sigma=sigma) for sigma in (4.9, 5.0, 9.0)]
    cutouts = [galcolor.load(image) for image in images]
    unrounded = [(round(96 * scale), round(128 * scale)) for scale in map(colorizer._network_scale, cutouts)]
    assert unrounded[0] != unrounded[1]  # (119, 159) and (118, 158)
    plans = [colorizer._plan(cutout) for cutout in cutouts]
    for plan in plans:
        height, width = plan["network_shape"]
        assert height % 4 == 0 and width % 4 == 0
        assert plan["network_lightness"].shape[-2:] == (height, width)
        assert plan["scale"] == pytest.approx(np.sqrt(height / 96 * width / 128))
    # nearby galaxy sizes share a rounded shape, so they share a forward pass
    assert plans[0]["network_shape"] == plans[1]["network_shape"] != plans[2]["network_shape"]
    results = colorizer(images)
    for image, result in zip(images, results):
        assert result.shape == image.shape
        assert result.meta["network_shape"] == list(colorizer._plan(galcolor.load(image))["network_shape"])
        np.testing.assert_allclose(result.ab, colorizer(image).ab, atol=1e-4)  # batched == alone
    # an explicit scale is applied as given (the network image is padded instead)
    exact = Colorizer(tiny_unet, tta=False, scale=0.33)._plan(galcolor.load(images[0]))
    assert exact["network_shape"] == (32, 42)


# --------------------------------------------------------------------------- tiling


def test_tiles_blend_to_exactly_the_untiled_result_for_a_pointwise_model():
    rng = np.random.default_rng(3)
    image = blob(shape=(300, 420), centre=(150, 200), sigma=60) + rng.normal(0, 2, (300, 420))
    whole = Colorizer(Pointwise(), tta=False, scale=1.0, tile=512)(image)
    tiled = Colorizer(Pointwise(), tta=False, scale=1.0, tile=128, overlap=32)(image)
    assert whole.meta["tiles"] == 1 and tiled.meta["tiles"] == 3 * 5
    np.testing.assert_allclose(tiled.ab, whole.ab, atol=1e-4)


def test_tiling_a_convolutional_model_leaves_no_seams(tiny_unet):
    image = blob(shape=(256, 256), centre=(128, 128), sigma=70)
    whole = Colorizer(tiny_unet, tta=False, scale=1.0, tile=256)(image).ab
    tiled = Colorizer(tiny_unet, tta=False, scale=1.0, tile=96, overlap=32)(image).ab
    # far from the frame edges the tiles see enough context to agree with the whole
    difference = np.abs(tiled - whole)[32:-32, 32:-32]
    assert difference.max() < 0.25 * np.abs(whole).max()
    # no jumps: neighbouring-pixel differences are no larger than in the untiled map
    assert np.abs(np.diff(tiled, axis=1)).max() < 2.0 * np.abs(np.diff(whole, axis=1)).max() + 1e-3


# ---------------------------------------------------------------------- masks and products


@pytest.fixture
def masked_result(tiny_unet) -> tuple[Colorization, np.ndarray]:
    hdulist = example_hdulist()
    data = hdulist[0].data.astype(np.float32)
    data[:, 10:14, 20:30] = np.nan
    hdulist[0].data = data
    return colorize(hdulist, model=tiny_unet, tta=True), np.isnan(data).any(axis=0)


def test_masked_pixels_stay_masked_in_every_output(masked_result, tmp_path):
    result, bad = masked_result
    assert np.array_equal(result.mask, bad)
    assert np.all(result.ab[bad] == 0) and np.all(result.ab_std[bad] == 0) and np.all(result.rgb[bad] == 0)
    with fits.open(result.to_fits(tmp_path / "out.fits")) as hdulist:
        for name in ("L", "A", "B", "A_STD", "B_STD"):
            assert np.all(np.isnan(hdulist[name].data[bad])), name
            assert np.all(np.isfinite(hdulist[name].data[~bad])), name
        assert np.all(np.isnan(hdulist["RGB"].data[:, bad]))
        assert np.array_equal(hdulist["MASK"].data.astype(bool), bad)
    png = np.asarray(Image.open(result.save(tmp_path / "out.png", origin="upper")))
    assert png.shape[-1] == 4 and np.all(png[bad][:, 3] == 0) and np.all(png[~bad][:, 3] == 255)


def test_fits_product_carries_the_wcs_and_provenance(masked_result, tmp_path):
    result, _ = masked_result
    path = result.to_fits(tmp_path / "product.fits")
    with fits.open(path) as hdulist:
        assert [hdu.name for hdu in hdulist] == ["L", "RGB", "A", "B", "A_STD", "B_STD", "MASK"]
        for hdu in hdulist:
            wcs = WCS(hdu.header).celestial
            sky = wcs.pixel_to_world([0, 50, 127], [0, 70, 127])
            expected = result.wcs.pixel_to_world([0, 50, 127], [0, 70, 127])
            assert np.all(sky.separation(expected).arcsec < 1e-6), hdu.name
            assert hdu.header["GCMODEL"] == "unet" and hdu.header["GCTTA"] is True
            assert hdu.header["GCVERS"] == galcolor.__version__
        np.testing.assert_allclose(hdulist["A"].data, np.where(result.mask, np.nan, result.ab[..., 0]))
        assert hdulist["RGB"].data.shape == (3,) + result.shape
    with pytest.raises(InputError, match="file exists"):
        result.to_fits(path)


def test_the_streamed_product_is_the_product_written_at_once(masked_result, tmp_path, monkeypatch):
    # A .fits product is written one HDU at a time, the RGB cube a band of
    # rows at a time (a large frame never holds its cube); a .fits.gz one,
    # which astropy cannot append to, all at once. They hold the same.
    import galcolor.colorization as module

    result, _ = masked_result
    fresh = Colorization(result.lightness, result.ab, result.ab_std, result.mask, wcs=result.wcs,
                         header=result.header, source=result.source, meta=result.meta)
    monkeypatch.setattr(module, "_BAND_PIXELS", 7 * result.shape[1] + 3)  # bands of 7 rows, the last short
    streamed = fresh.to_fits(tmp_path / "streamed.fits")
    assert fresh._rgb is None  # the cube was converted band by band, never kept
    at_once = result.to_fits(tmp_path / "at_once.fits.gz")
    with fits.open(streamed) as one, fits.open(at_once) as two:
        assert [hdu.name for hdu in one] == [hdu.name for hdu in two] == [
            "L", "RGB", "A", "B", "A_STD", "B_STD", "MASK"]
        for first, second in zip(one, two):
            np.testing.assert_array_equal(first.data, second.data, err_msg=first.name)
            assert first.data.dtype == second.data.dtype
            assert dict(first.header) == dict(second.header), first.name
    np.testing.assert_array_equal(Colorization.read_fits(streamed).ab, result.ab)


def test_save_writes_8_and_16_bit_png_tiff_and_jpeg(tmp_path):
    result = colorize(blob(shape=(40, 50), centre=(20, 25)), model=Pointwise(), tta=False)
    eight = np.asarray(Image.open(result.save(tmp_path / "a.png", origin="upper")))
    np.testing.assert_array_equal(eight, np.round(result.rgb * 255).astype(np.uint8))
    import png
    import tifffile

    _, _, rows, info = png.Reader(filename=str(result.save(tmp_path / "b.png", bits=16, origin="upper"))).read()
    sixteen = np.vstack([np.asarray(row, dtype=np.uint16) for row in rows]).reshape(40, 50, 3)
    assert info["bitdepth"] == 16
    np.testing.assert_array_equal(sixteen, np.round(result.rgb * 65535).astype(np.uint16))
    tiff = tifffile.imread(result.save(tmp_path / "c.tiff", bits=16, origin="upper"))
    np.testing.assert_array_equal(tiff, sixteen)
    jpeg = np.asarray(Image.open(result.save(tmp_path / "d.jpg")))
    assert jpeg.shape == (40, 50, 3)
    lower = np.asarray(Image.open(result.save(tmp_path / "e.png", origin="lower")))
    np.testing.assert_array_equal(lower, eight[::-1])
    with pytest.raises(InputError, match="unknown image format"):
        result.save(tmp_path / "f.gif")
    with pytest.raises(InputError, match="JPEG holds 8 bits"):
        result.save(tmp_path / "g.jpg", bits=16)


def test_fits_inputs_are_saved_north_up():
    result = colorize(example_hdulist(), model=Pointwise(), tta=False)
    assert result.origin == "lower"
    assert colorize(blob(), model=Pointwise(), tta=False).origin == "upper"


def test_plot_shows_grey_color_and_uncertainty(masked_result):
    result, _ = masked_result
    figure = result.plot()
    titles = [axes.get_title() for axes in figure.axes]
    assert titles[:3] == ["grey input (L)", "galcolor color", "color uncertainty"]
    assert figure.axes[0].coords[0].get_axislabel() == "RA"  # sky axes from the WCS
    assert len(result.plot(sky=False).axes) == 4  # three panels and the color bar


# ------------------------------------------------------------------ models and errors


def test_weights_are_loaded_once_per_colorizer_and_cached_by_colorize(monkeypatch, tmp_path, tiny_unet):
    from galcolor import colorizer as colorizer_module
    from galcolor import models

    path = tmp_path / "tiny.pt"
    checksum = save_weights(tiny_unet, path)
    calls = []
    original = models.load_weights
    monkeypatch.setattr(models, "load_weights", lambda *a, **k: calls.append(a) or original(*a, **k))
    monkeypatch.setattr(colorizer_module, "_CACHE", {})
    colorizer = Colorizer(path, tta=False)
    for _ in range(3):
        colorizer(blob())
    assert len(calls) == 1 and colorizer.weights_sha256 == checksum
    for _ in range(3):
        colorize(blob(), model=path, tta=False)
    assert len(calls) == 2
    result = colorize(blob(), model=path, tta=False)
    assert result.meta["weights_sha256"] == checksum and result.meta["model"] == str(path)


def test_the_default_model_colorizes_the_example():
    result = colorize(example_hdulist(), tta=False)
    assert result.meta["model"] == "default"
    assert result.meta["weights_sha256"] == galcolor.models.load_bundle("default").weights_sha256
    galaxy = result.lightness > 30
    assert np.abs(result.ab[galaxy]).mean() > 1.0  # it is colored, not grey


def test_bad_inputs_and_options_get_clear_errors(tmp_path):
    corrupt = tmp_path / "broken.fits"
    corrupt.write_bytes(b"SIMPLE  =                    T" + b"\0" * 100)
    with pytest.raises(FileFormatError, match="broken.fits"):
        colorize(corrupt, model=Pointwise())
    with pytest.raises(InputError, match="neither a shipped model"):
        Colorizer("no-such-model")
    with pytest.raises(InputError, match="scale"):
        Colorizer(Pointwise(), scale=-1)
    with pytest.raises(InputError, match="tile"):
        Colorizer(Pointwise(), tile=100, overlap=60)
    with pytest.raises(InputError, match="cannot colorize"):
        colorize(3.5, model=Pointwise())
    if not torch.cuda.is_available():
        with pytest.raises(InputError, match="CUDA is not available"):
            Colorizer(Pointwise(), device="cuda")
    with pytest.raises(InputError, match="unknown device 'gpu7'"):
        Colorizer(Pointwise(), device="gpu7")


def test_inputs_are_never_modified(tmp_path, tiny_unet):
    path = tmp_path / "input.fits"
    example_hdulist().writeto(path)
    before = path.read_bytes()
    array = blob()
    copy = array.copy()
    colorize([path, array], model=tiny_unet)
    assert path.read_bytes() == before and np.array_equal(array, copy)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_matches_cpu(tiny_unet):
    image = blob()
    cpu = colorize(image, model=tiny_unet, device="cpu", tta=True)
    gpu = colorize(image, model=tiny_unet, device="cuda", tta=True)
    assert gpu.meta["device"].startswith("cuda")
    np.testing.assert_allclose(gpu.ab, cpu.ab, atol=1.0)  # bf16 autocast on CUDA


# -------------------------------------------------------------------------------- CLI


def test_cli_colorize_writes_products_and_reports_failures(tmp_path, capsys):
    from galcolor.cli import main

    good = tmp_path / "galaxy.fits"
    example_hdulist().writeto(good)
    bad = tmp_path / "broken.fits"
    bad.write_bytes(b"not a fits file at all")
    weights = tmp_path / "tiny.pt"
    torch.manual_seed(0)
    save_weights(get_model("unet", width=4, depth=2), weights)
    status = main(["colorize", str(good), str(bad), "-o", str(tmp_path / "out"), "--model", str(weights),
                   "--no-tta", "--format", "png,fits,tiff", "--quiet"])
    captured = capsys.readouterr()
    assert status == 1
    assert "FAILED" in captured.err and "broken.fits" in captured.err
    written = sorted(path.name for path in (tmp_path / "out").iterdir())
    assert written == ["galaxy_galcolor.fits", "galaxy_galcolor.png", "galaxy_galcolor.tiff"]
    assert "colorized 1 of 2" in captured.out
    assert main(["colorize", str(good), "-o", str(tmp_path / "out2"), "--model", str(weights),
                 "--no-tta", "--quiet"]) == 0
    product = tmp_path / "out2" / "galaxy_galcolor.png"
    before = product.stat().st_mtime_ns
    # existing products stay unless --overwrite, as for galcolor regions
    assert main(["colorize", str(good), "-o", str(tmp_path / "out2"), "--model", str(weights),
                 "--no-tta", "--quiet"]) == 1
    assert "exists (pass --overwrite to replace it)" in capsys.readouterr().err
    assert product.stat().st_mtime_ns == before
    assert main(["colorize", str(good), "-o", str(tmp_path / "out2"), "--model", str(weights),
                 "--no-tta", "--quiet", "--overwrite"]) == 0
    # --hdu and --band take indices as well as names
    assert main(["colorize", str(good), "-o", str(tmp_path / "out3"), "--model", str(weights),
                 "--no-tta", "--quiet", "--hdu", "0", "--band", "0"]) == 0
    # the RGB cube (12 of 33 bytes a pixel) can stay out; the product still reads back
    assert main(["colorize", str(good), "-o", str(tmp_path / "out4"), "--model", str(weights),
                 "--no-tta", "--quiet", "--format", "fits", "--no-rgb-cube"]) == 0
    lean, full = tmp_path / "out4" / "galaxy_galcolor.fits", tmp_path / "out2" / "galaxy_galcolor.fits"
    with fits.open(lean) as hdus:
        assert [hdu.name for hdu in hdus] == ["L", "A", "B", "A_STD", "B_STD", "MASK"]
    assert lean.stat().st_size < 0.75 * full.stat().st_size
    np.testing.assert_array_equal(Colorization.read_fits(lean).ab, Colorization.read_fits(full).ab)


def test_cli_demo_runs_end_to_end(tmp_path, capsys):
    from galcolor.cli import main

    assert main(["demo", "-o", str(tmp_path), "-n", "2", "--size", "64", "--no-tta", "--quiet"]) == 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["n"] == 2 and summary["model"] == "default"
    assert (tmp_path / "montage.png").stat().st_size > 0
    assert len(list((tmp_path / "color").glob("*_galcolor.fits"))) == 2
    assert all("delta_e2000_galaxy" in record for record in summary["galaxies"])
    assert "montage.png" in capsys.readouterr().out


# -------------------------------------------------------------- real files (../shared/data)

from .conftest import SHARED_DATA, requires_shared_data  # noqa: E402

REAL_INPUTS = [
    ("sdss-gz/val/100062.jpg", {}, (424, 424), False),
    ("fits/sdss-ngc6976/reprojected_sdss_r.fits.bz2", {}, (496, 682), True),
    ("fits/decals-grz/example_a.fits", {"band": "r"}, (424, 424), True),
    ("fits/hsc-cosmos/Cut_HSC.fits", {}, (50, 50), True),
]


@requires_shared_data()
@pytest.mark.parametrize("relative, options, shape, has_wcs", REAL_INPUTS,
                         ids=[item[0].split("/")[-1] for item in REAL_INPUTS])
def test_real_files_keep_shape_wcs_and_lightness(relative, options, shape, has_wcs, tmp_path):
    import warnings

    path = SHARED_DATA / relative
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", galcolor.GalcolorWarning)  # NGC 6976's FILTER keyword
        cutout = galcolor.load(path, **options)
        result = colorize(path, tta=False, **options)
    assert result.shape == shape == cutout.shape
    assert np.array_equal(result.lightness, cutout.lightness)
    assert np.array_equal(result.mask, cutout.mask)
    assert result.source == str(path)
    assert (result.wcs is not None) == has_wcs
    if has_wcs:
        written = result.to_fits(tmp_path / "product.fits")
        height, width = shape
        pixels = ([0, width - 1, width / 2], [0, height - 1, height / 3])
        with fits.open(written) as hdulist:
            for name in ("L", "RGB", "A", "B_STD"):
                reopened = WCS(hdulist[name].header).celestial
                assert np.all(reopened.pixel_to_world(*pixels).separation(
                    cutout.wcs.pixel_to_world(*pixels)).arcsec < 1e-6), name
    assert np.isfinite(result.ab).all() and np.isfinite(result.ab_std).all()


@requires_shared_data()
def test_decals_bad_pixels_stay_masked():
    result = colorize(SHARED_DATA / "fits/decals-grz/example_bad_pix.fits", band="g", tta=False)
    assert result.mask.mean() > 0.5
    assert np.all(result.ab[result.mask] == 0) and np.all(result.rgb[result.mask] == 0)


def test_a_2000_pixel_frame_takes_the_tiling_path(tiny_unet):
    rng = np.random.default_rng(5)
    frame = rng.normal(0.0, 1.0, (2000, 2000)).astype(np.float32)
    for row, column in [(300, 400), (1000, 1000), (1700, 1500), (1024, 260)]:
        frame[row - 60:row + 60, column - 60:column + 60] += blob(shape=(120, 120), centre=(60, 60),
                                                                  sigma=12.0, peak=400.0).astype(np.float32)
    result = Colorizer(tiny_unet, tta=False, scale=1.0)(frame)
    assert result.shape == (2000, 2000) and result.meta["tiles"] == 25
    assert np.isfinite(result.ab).all()
    assert np.array_equal(result.lightness, galcolor.load(frame).lightness)


def test_the_given_network_is_not_modified_and_folding_batch_norm_changes_nothing():
    from galcolor.colorizer import fold_batch_norm

    torch.manual_seed(4)
    model = get_model("unet", width=4, depth=2)
    model.train()
    before = {key: value.clone() for key, value in model.state_dict().items()}
    image = blob(shape=(64, 64), centre=(30, 30))
    result = colorize(image, model=model, tta=False, scale=1.0)
    assert model.training  # still in training mode: inference ran on a copy
    assert all(torch.equal(before[key], value) for key, value in model.state_dict().items())
    model.eval()
    expected = model.predict(torch.from_numpy(galcolor.load(image).lightness)[None, None])[0][0]
    np.testing.assert_allclose(result.ab, expected.permute(1, 2, 0).numpy(), atol=1e-3)
    assert not any(isinstance(module, nn.BatchNorm2d) for module in fold_batch_norm(model).modules())


def test_bfloat16_precision_on_cpu_is_close_to_float32_and_recorded():
    image = example_hdulist(seed=3)
    exact = Colorizer(tta=False, device="cpu")(image)
    fast = Colorizer(tta=False, device="cpu", precision="bfloat16")(image)
    assert exact.meta["precision"] == "float32" and fast.meta["precision"] == "bfloat16"
    difference = np.abs(fast.ab - exact.ab)
    assert 0 < difference.mean() < 1.0  # bf16 differs, by well under the ~5 Lab units of model error
    np.testing.assert_array_equal(fast.lightness, exact.lightness)
    with pytest.raises(InputError, match="precision must be one of"):
        Colorizer(tta=False, precision="float16")


@pytest.mark.parametrize("image, problem", [
    (np.zeros((64, 64), np.float32), "blank"),
    (np.full((40, 30), 123.0), "blank"),
    (np.ones((1, 1), np.float32), "1 x 1 pixels"),
    (blob((12, 200)), "12 x 200 pixels"),
])
def test_an_image_with_nothing_to_colorize_is_refused_by_name(tiny_unet, image, problem):
    # It loads (galcolor info describes it), but a colorized black frame
    # written with exit status 0 told the user nothing.
    galcolor.load(image)
    with pytest.raises(InputError, match=f"array input.*{problem}"):
        Colorizer(tiny_unet, tta=False)(image)


def test_the_fits_product_records_the_band_used_and_fixes_a_stale_filter(tmp_path, tiny_unet):
    # NGC 6976's r frame says FILTER='g'; the product copied that keyword
    # and never said which band became L.
    path = tmp_path / "frame_r.fits"
    fits.PrimaryHDU(blob().astype(np.float32), header=fits.Header({"FILTER": "g"})).writeto(path)
    with pytest.warns(galcolor.GalcolorWarning, match="FILTER='g'.*file name says band 'r'"):
        result = Colorizer(tiny_unet, tta=False)(path)
    header = fits.getheader(result.to_fits(tmp_path / "product.fits"))
    assert header["GCBAND"] == "r" and header["FILTER"] == "r"
    assert "'g'" in header.comments["FILTER"]


def test_a_large_frame_shows_its_progress_over_the_tiles(monkeypatch):
    # A 6000 x 6000 frame sat at 0/1 images for minutes: the tiles now count.
    import tqdm.auto

    bars = []

    class Recording:
        def __init__(self, total, disable=None, **options):
            self.total, self.disable, self.done = total, disable, 0
            bars.append(self)

        def update(self, n):
            self.done += n

        def close(self):
            pass

    monkeypatch.setattr(tqdm.auto, "tqdm", Recording)
    image = blob((300, 260), centre=(150.0, 130.0), sigma=40.0)
    Colorizer(Pointwise(), tta=False, scale=1.0, tile=64, overlap=16, batch_size=4)(image)
    assert len(bars) == 1 and bars[0].total == bars[0].done == 6 * 6 and bars[0].disable is False
    Colorizer(Pointwise(), tta=False, scale=1.0, tile=64, overlap=16, batch_size=4, progress=False)(image)
    assert bars[1].disable is True
