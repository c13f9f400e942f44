"""Survey styles (galcolor.styles) and color indices in magnitudes (Colorization.color_indices)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

import galcolor
from galcolor import Colorization
from galcolor.cli import main
from galcolor.color import rgb_to_lab_numpy
from galcolor.evaluation.quality import uncertainty_coverage
from galcolor.exceptions import InputError
from galcolor.io.convention import SDSS_GRI
from galcolor.colorizer import resolve_style
from galcolor.styles import BUILTIN_STYLES, ColorStyle, fit_style, read_style

SHA = "0" * 64


def survey_pixels(n_images=40, per_image=600, seed=0, gain=0.4, offset=(2.0, -3.0), per_image_spread=1.5):
    """Pixels of a survey that renders the model's color at ``gain`` x saturation plus an offset and noise."""
    rng = np.random.default_rng(seed)
    lightness = rng.uniform(16, 90, n_images * per_image)
    ab = rng.normal(0, 12, (n_images * per_image, 2))
    groups = np.repeat(np.arange(n_images), per_image)
    image_offset = rng.normal(0, per_image_spread, (n_images, 2))[groups]  # each image a little off
    truth = gain * ab + np.asarray(offset) + image_offset + rng.normal(0, 1.0, ab.shape)
    return lightness, ab, truth, groups


def test_a_style_learns_a_surveys_saturation_and_offset():
    lightness, ab, truth, groups = survey_pixels()
    style = fit_style(lightness, ab, truth, name="pale", weights_sha256=SHA, groups=groups)
    assert style.provenance["mapping"] in ("linear in color and L", "quadratic in color and L")
    styled, std = style.apply(np.array([50.0, 50.0]), np.array([[10.0, 0.0], [0.0, -10.0]]))
    # 0.4 x the color + (2, -3), to the noise of 2,400 pixels per image group
    assert np.allclose(styled, [[6.0, -3.0], [2.0, -7.0]], atol=0.4)
    assert styled.dtype == np.float32 and std.shape == (2, 2) and (std > 0).all()


def test_style_uncertainty_covers_68_percent_of_unseen_images():
    # The table is fitted on out-of-fold residuals and scaled to cover
    # 68.27 % of an image's pixels on average over images: it must hold for
    # images drawn afresh (same survey), with their own offsets. Each
    # image's coverage varies by ~0.15 with its offset, so the mean over
    # 80 fitting and 200 fresh images is uncertain by ~0.02 (1 sigma):
    # 0.05 is 2.5 sigma.
    lightness, ab, truth, groups = survey_pixels(n_images=80, per_image=300, seed=0)
    style = fit_style(lightness, ab, truth, name="pale", weights_sha256=SHA, groups=groups)
    lightness, ab, truth, groups = survey_pixels(n_images=200, per_image=300, seed=1)
    styled, std = style.apply(lightness, ab)
    covered = [
        uncertainty_coverage(
            styled[groups == k], std[groups == k], truth[groups == k], np.ones((groups == k).sum(), bool)
        )
        for k in range(200)
    ]
    assert abs(np.mean([inside / total for inside, total in covered]) - 0.6827) < 0.05


def test_a_survey_whose_color_the_model_cannot_see_gets_a_mapping_without_it():
    # The survey's color depends on L only (think near-infrared bands): the
    # cross-validation must not keep a mapping of the model's (useless) color.
    rng = np.random.default_rng(3)
    lightness = rng.uniform(16, 90, 24_000)
    ab = rng.normal(0, 12, (24_000, 2))
    truth = np.column_stack([0.002 * (lightness - 50) ** 2, 0.1 * lightness]) + rng.normal(0, 1, (24_000, 2))
    style = fit_style(
        lightness, ab, truth, name="ir", weights_sha256=SHA, groups=np.repeat(np.arange(40), 600)
    )
    assert style.provenance["mapping"] == "quadratic in L"
    assert all(exponents[0] == exponents[1] == 0 for exponents in style.powers)


def test_styles_never_extrapolate_a_polynomial():
    lightness, ab, truth, groups = survey_pixels()
    style = fit_style(lightness, ab, truth, name="pale", weights_sha256=SHA, groups=groups)
    edge, _ = style.apply(np.array([90.0]), np.array([[60.0, 60.0]]))
    far, _ = style.apply(np.array([90.0]), np.array([[600.0, 600.0]]))
    assert np.array_equal(edge, far)  # inputs clipped to the range seen in fitting


def test_style_files_round_trip_and_bad_files_name_themselves(tmp_path):
    lightness, ab, truth, groups = survey_pixels()
    style = fit_style(lightness, ab, truth, name="pale", weights_sha256=SHA, groups=groups)
    path = style.save(tmp_path / "pale.json")
    again = read_style(path)
    assert again == style and again.sha256 == style.sha256
    (tmp_path / "broken.json").write_text('{"name": "x"}')
    with pytest.raises(InputError, match="broken.json"):
        read_style(tmp_path / "broken.json")
    with pytest.raises(InputError, match="unknown style"):
        resolve_style("hubble-deep-field-2")
    with pytest.raises(InputError, match="fitted for weights"):
        resolve_style(path, weights_sha256="f" * 64)


def test_every_builtin_style_ships_for_the_default_model():
    bundle_sha = galcolor.models.load_bundle("default").weights_sha256
    for name in BUILTIN_STYLES:
        style = resolve_style(name, weights_sha256=bundle_sha)
        assert isinstance(style, ColorStyle) and style.name == name
        assert style.provenance["images"] and style.residual.weights_sha256 == bundle_sha


def test_colorizer_style_is_the_style_applied_to_the_models_color():
    from galcolor.io import example_hdulist

    plain = galcolor.Colorizer(tta=True, uncertainty="spread", progress=False)(example_hdulist(seed=3))
    styled = galcolor.Colorizer(tta=True, style="decals", progress=False)(example_hdulist(seed=3))
    expected_ab, expected_std = resolve_style("decals").apply(plain.lightness, plain.ab)
    expected_ab[plain.mask] = 0.0
    assert np.allclose(styled.ab, expected_ab, atol=1e-5) and np.allclose(
        styled.ab_std[~plain.mask], expected_std[~plain.mask], atol=1e-5
    )
    assert styled.meta["style"] == "decals" and styled.meta["uncertainty"] == "style"
    assert len(styled.meta["style_sha256"]) == 64
    with pytest.raises(InputError, match="convention"):
        styled.color_indices()


def test_integrated_colors_invert_the_convention():
    # A galaxy whose composite is in the convention with g - r = 0.70 and
    # r - i = 0.35 everywhere: its own L and ab give the colors back.
    y, x = np.mgrid[:64, :64]
    r = 3.0 * np.exp(-np.hypot(x - 32, y - 32) / 6.0)
    rgb = SDSS_GRI.composite({"r": r, "g": r * 10 ** (-0.4 * 0.70), "i": r * 10 ** (0.4 * 0.35)})
    lab = rgb_to_lab_numpy(rgb)
    result = Colorization(
        lightness=lab[..., 0],
        ab=lab[..., 1:],
        ab_std=np.zeros_like(lab[..., 1:]),
        mask=np.zeros((64, 64), bool),
    )
    colors = result.integrated_colors()
    assert colors["pixels"] > 100
    assert colors["g-r"] == pytest.approx(0.70, abs=0.02) and colors["r-i"] == pytest.approx(0.35, abs=0.02)
    assert colors["g-r_std"] == 0.0
    per_pixel = result.color_indices()
    bright = r > 0.5
    assert np.nanmedian(np.abs(per_pixel["g-r"][bright] - 0.70)) < 0.01


def test_fit_style_command_fits_and_colorize_uses_the_style(tmp_path):
    from galcolor.datasets import simulate

    folder = tmp_path / "survey"
    folder.mkdir()
    for k, galaxy in enumerate(simulate(4, size=64, seed=11)):
        # a survey rendering the simulated galaxies at half the saturation
        lab = rgb_to_lab_numpy(galaxy.rgb)
        lab[..., 1:] *= 0.5
        rgb = galcolor.color.lab_to_rgb_numpy(lab)
        Image.fromarray((np.clip(rgb, 0, 1) * 255).round().astype(np.uint8)).save(folder / f"g{k}.png")
    (folder / "grey.png").write_bytes(
        (folder / "g0.png").read_bytes()[:100]
    )  # truncated: reported and skipped
    output = tmp_path / "half.json"
    assert (
        main(["fit-style", *map(str, sorted(folder.glob("*.png"))), "-o", str(output), "--no-tta", "--quiet"])
        == 0
    )
    data = json.loads(output.read_text())
    assert data["name"] == "half" and len(data["provenance"]["images"]) == 4
    assert (
        main(["fit-style", str(folder / "g0.png"), "-o", str(output), "--quiet"]) == 1
    )  # exists: no overwrite
    out = tmp_path / "out"
    assert (
        main(
            [
                "colorize",
                str(folder / "g1.png"),
                "-o",
                str(out),
                "--style",
                str(output),
                "--no-tta",
                "--quiet",
            ]
        )
        == 0
    )
    assert list(out.glob("*"))
