"""Knots injected into Lupton composites: the stretch inverts, fluxes and colors are what was asked."""

from __future__ import annotations

import math

import numpy as np
import pytest

from galcolor import InputError
from galcolor.evaluation.injection import (
    CLUMP_COLORS,
    KNOT_FLUX_FRACTIONS,
    Knot,
    display_from_linear,
    draw_knots,
    inject_knots,
    linear_from_display,
)

SIZE = 96


def disk_composite(peak: float = 2.0) -> tuple[np.ndarray, np.ndarray]:
    """A red-ish exponential disk: linear (i, r, g) and its composite."""
    y, x = np.mgrid[:SIZE, :SIZE]
    disk = peak * np.exp(-np.hypot(x - SIZE / 2, y - SIZE / 2) / 10.0)
    linear = np.stack([disk * 1.3, disk, disk * 0.6], axis=-1)
    return linear, display_from_linear(linear)


def test_the_stretch_inverts_to_float_precision_below_saturation():
    linear, image = disk_composite()
    # relative to the brightest pixel: the tabulated curve is interpolated
    assert np.abs(linear_from_display(image) - linear).max() < 1e-5 * linear.max()


def test_injected_flux_and_color_are_those_asked_for():
    linear, image = disk_composite()
    knot = Knot(60.0, 40.0, fwhm=3.5, flux_fraction=0.05, delta_gr=-0.6, delta_ri=-0.2)
    injected, truth = inject_knots(image, [knot], galaxy=np.ones((SIZE, SIZE), bool))
    added = linear_from_display(injected) - linear
    # all the knot's r light is inside the frame (a Gaussian of 3.5 px at 36 px from the edge)
    assert added[..., 1].sum() == pytest.approx(0.05 * linear[..., 1].sum(), rel=1e-4)
    # the disk is i:r:g = 1.3:1:0.6; the knot is 0.6 mag bluer in g - r and 0.2 in r - i
    g_over_r = added[..., 2].sum() / added[..., 1].sum()
    i_over_r = added[..., 0].sum() / added[..., 1].sum()
    assert -2.5 * math.log10(g_over_r) == pytest.approx(-2.5 * math.log10(0.6) - 0.6, abs=1e-3)
    assert -2.5 * math.log10(1 / i_over_r) == pytest.approx(-2.5 * math.log10(1 / 1.3) - 0.2, abs=1e-3)
    assert truth["disk_gr"][0] == pytest.approx(-2.5 * math.log10(0.6), abs=1e-6)
    assert truth["x"].unit == "pix" and truth["kind"][0] == "clump"


def test_a_clump_looks_bluer_and_a_hard_negative_redder_than_the_disk_in_the_composite():
    _, image = disk_composite()
    blue, _ = inject_knots(image, [Knot(60.0, 40.0, fwhm=3.5, flux_fraction=0.05, delta_gr=-0.6)])
    red, _ = inject_knots(image, [Knot(60.0, 40.0, fwhm=3.5, flux_fraction=0.05, delta_gr=0.4, kind="star")])
    blueness = lambda rgb: rgb[40, 60, 2] / rgb[40, 60, 0]  # noqa: E731 - B over R at the knot
    assert blueness(blue) > blueness(image) > blueness(red)


def test_saturated_pixels_keep_their_value_and_quantize_gives_8_bit_levels():
    linear, image = disk_composite(peak=400.0)
    saturated = (image >= 1 - 1 / 512).any(axis=-1)
    assert saturated.any()
    injected, _ = inject_knots(image, [Knot(48.0, 48.0, fwhm=4.0, flux_fraction=0.05, delta_gr=-0.5)],
                               quantize=True)
    assert np.array_equal(injected[saturated], np.round(image[saturated] * 255) / 255)
    assert np.allclose(injected * 255, np.round(injected * 255))


def test_drawn_knots_are_on_the_galaxy_off_its_nucleus_apart_and_in_the_documented_ranges():
    _, image = disk_composite()
    knots = draw_knots(np.random.default_rng(3), image, fwhm=3.0, n=3)
    assert len(knots) == 3
    for knot in knots:
        assert math.hypot(knot.x - SIZE / 2, knot.y - SIZE / 2) >= 3.0 - 1.0  # light-weighted centre ~ SIZE/2
        assert KNOT_FLUX_FRACTIONS[0] <= knot.flux_fraction <= KNOT_FLUX_FRACTIONS[1]
        assert CLUMP_COLORS[0][0] <= knot.delta_gr <= CLUMP_COLORS[0][1]
    separations = [math.hypot(a.x - b.x, a.y - b.y) for i, a in enumerate(knots) for b in knots[i + 1:]]
    assert min(separations) >= 2 * 3.0
    stars = draw_knots(np.random.default_rng(3), image, fwhm=3.0, n=2, kind="star")
    assert all(star.delta_gr >= 0 and star.kind == "star" for star in stars)


def test_bad_input_is_refused_with_what_is_wrong():
    _, image = disk_composite()
    with pytest.raises(InputError, match="divide 8-bit"):
        linear_from_display(image * 255)
    with pytest.raises(InputError, match=r"\(H, W, 3\)"):
        linear_from_display(image[..., 0])
    with pytest.raises(InputError, match="positive"):
        inject_knots(image, [Knot(48.0, 48.0, fwhm=0.0, flux_fraction=0.05, delta_gr=-0.5)])
    with pytest.raises(InputError, match="no galaxy light"):
        inject_knots(np.zeros((32, 32, 3)), [Knot(16.0, 16.0, fwhm=3.0, flux_fraction=0.05, delta_gr=-0.5)])
    with pytest.raises(InputError, match="kind"):
        draw_knots(np.random.default_rng(0), image, fwhm=3.0, kind="galaxy")


def test_frame_psf_comes_from_the_stars_not_the_central_galaxy_nor_saturated_ones():
    from galcolor.evaluation.injection import frame_psf_fwhm

    rng = np.random.default_rng(1)
    y, x = np.mgrid[:128, :128]
    galaxy = 5.0 * np.exp(-np.hypot(x - 63.5, y - 63.5) / 6.0)     # round, broad, at the centre
    star = 20.0 * np.exp(-((x - 20) ** 2 + (y - 100) ** 2) / (2 * 2.0 ** 2))
    bright = 1e4 * np.exp(-((x - 105) ** 2 + (y - 20) ** 2) / (2 * 4.0 ** 2))  # saturates the display
    frame = display_from_linear((np.clip(0.002 * rng.normal(size=(128, 128)), 0, None)
                                 + galaxy + star + bright)[..., None] * np.ones(3))
    fwhm, n = frame_psf_fwhm(frame)
    assert n == 1 and fwhm == pytest.approx(2.355 * 2.0, rel=0.05)  # a Gaussian fitted to the star
    assert frame_psf_fwhm(np.zeros((64, 64, 3))) == (None, 0)


def _moffat(shape: tuple[int, int], cx: float, cy: float, fwhm: float, beta: float = 3.0) -> np.ndarray:
    y, x = np.mgrid[:shape[0], :shape[1]]
    alpha = fwhm / (2.0 * np.sqrt(2.0 ** (1.0 / beta) - 1.0))
    return (1.0 + ((x - cx) ** 2 + (y - cy) ** 2) / alpha ** 2) ** -beta


def test_frame_psf_of_a_star_with_wings_does_not_grow_with_its_brightness():
    # A Moffat star (beta = 3, the wings of a real PSF): the moments of its segment, cut at 5 sky sigmas, grew
    # with its brightness as the cut reached further into the wings; a fitted Gaussian does not.
    from galcolor.evaluation.injection import frame_psf_fwhm

    sky = 0.002 * np.random.default_rng(2).normal(size=(160, 160))
    widths = []
    for peak in (0.2, 2.0, 20.0):  # 100 to 10,000 sky sigmas, display peak 0.2 to 0.82
        frame = display_from_linear(np.clip(sky + peak * _moffat(sky.shape, 40, 120, 6.0), 0, None)[..., None]
                                    * np.ones(3))
        fwhm, n = frame_psf_fwhm(frame)
        assert n == 1
        widths.append(fwhm)
    assert max(widths) / min(widths) < 1.02
    assert widths[0] == pytest.approx(6.0, rel=0.15)


def test_lightness_psf_leaves_out_a_star_clipped_in_one_channel():
    # A red star whose R channel clips while its grey stays below saturation: its flattened core measured
    # 8-10 px beside a 6 px star; the grey reaches 0.81 there, above max_grey.
    from galcolor.color import rgb_to_lab_numpy
    from galcolor.regions import lightness_psf_fwhm

    sky = 0.002 * np.random.default_rng(2).normal(size=(160, 160))
    star = 0.3 * _moffat(sky.shape, 40, 120, 6.0)
    red = np.array([1.3, 1.0, 0.7]) * (200.0 * _moffat(sky.shape, 120, 40, 6.0))[..., None]
    display = display_from_linear(np.clip(sky[..., None] + star[..., None] + red, 0, None))
    assert (display[..., 0] >= 1.0 - 1.0 / 512).sum() > 100
    lightness = rgb_to_lab_numpy(display.astype(np.float32))[..., 0]
    fwhm, n = lightness_psf_fwhm(lightness)
    assert n == 1 and fwhm == pytest.approx(6.0, rel=0.15)
    with_clipped, n_all = lightness_psf_fwhm(lightness, max_grey=1.0)
    assert n_all == 2 and with_clipped > 1.3 * fwhm
