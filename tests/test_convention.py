"""galcolor's color convention (galcolor.io.convention): the recipe, its inversion, its band matching."""

from __future__ import annotations

import numpy as np
import pytest

from galcolor.exceptions import InputError
from galcolor.io.convention import SDSS_GRI, flux_pixel_scale, nanomaggy_units


def test_the_convention_is_the_simulators_galaxy_zoo_recipe():
    # One place for each fact: the simulator's composites (what the models'
    # colors were matched to) and the convention are the same recipe.
    from galcolor.datasets.simulate import sdss_composite

    rng = np.random.default_rng(0)
    flux = {band: rng.uniform(0.0, 3.0, (16, 16)) for band in "gri"}
    simulated = sdss_composite(np.stack([flux[b] for b in "gri"]), ["g", "r", "i"])
    assert np.allclose(SDSS_GRI.composite(flux), simulated, atol=1e-6)
    assert SDSS_GRI.channels == ("i", "r", "g")


@pytest.mark.parametrize("g_minus_r,r_minus_i", [(0.3, 0.1), (0.75, 0.4), (1.1, 0.5), (-0.2, -0.1)])
def test_color_indices_invert_the_composite_at_any_brightness(g_minus_r, r_minus_i):
    # A Lupton composite keeps the channel ratios below saturation, so the
    # indices come back exactly (float composites) at every flux level.
    r = np.geomspace(0.01, 3.0, 50)[None, :]
    flux = {"r": r, "g": r * 10 ** (-0.4 * g_minus_r), "i": r * 10 ** (0.4 * r_minus_i)}
    rgb = SDSS_GRI.composite(flux)
    lit = rgb.max(axis=-1) < 1.0
    indices = SDSS_GRI.color_indices(rgb)
    assert np.allclose(indices["g-r"][lit & ~np.isnan(indices["g-r"])], g_minus_r, atol=1e-4)
    assert np.allclose(indices["r-i"][lit & ~np.isnan(indices["r-i"])], r_minus_i, atol=1e-4)


def test_eight_bit_composites_give_indices_to_a_few_hundredths_where_bright():
    # 8-bit rounding moves a channel of value v by up to 0.5/255: 2.5 log10
    # of (1 + 0.5 / (255 v)) is < 0.03 mag for channels above ~0.07.
    r = np.full((1, 8), 2.0)
    flux = {"r": r, "g": r * 10 ** (-0.4 * 0.7), "i": r * 10 ** (0.4 * 0.35)}
    rgb = np.round(SDSS_GRI.composite(flux) * 255) / 255
    indices = SDSS_GRI.color_indices(rgb)
    assert abs(np.nanmedian(indices["g-r"]) - 0.7) < 0.03 and abs(np.nanmedian(indices["r-i"]) - 0.35) < 0.03


def test_black_sky_carries_no_color():
    indices = SDSS_GRI.color_indices(np.zeros((2, 2, 3)))
    assert np.isnan(indices["g-r"]).all() and np.isnan(indices["r-i"]).all()


def test_channel_sources_interpolate_or_substitute_missing_bands():
    assert SDSS_GRI.channel_sources(["g", "r", "i"]) == {"i": ("i",), "r": ("r",), "g": ("g",)}
    assert SDSS_GRI.channel_sources(["g", "r", "z"])["i"] == ("r", "z")
    # HSC-like grizy: every channel has its own band
    assert SDSS_GRI.channel_sources(["g", "r", "i", "z", "y"]) == {"i": ("i",), "r": ("r",), "g": ("g",)}
    # u r i: g interpolated between u and r
    assert SDSS_GRI.channel_sources(["u", "r", "i"])["g"] == ("u", "r")
    # near-infrared bands cannot make an optical composite; one band cannot light two channels
    assert SDSS_GRI.channel_sources(["J", "H", "K"]) is None
    assert SDSS_GRI.channel_sources(["r", "i"]) is None


def test_interpolated_band_follows_a_power_law_sed():
    # For a power-law SED f ~ lambda^k the interpolation is exact.
    from galcolor.io.bands import band_wavelength

    k = 1.7
    planes = {band: np.full((12, 12), band_wavelength(band) ** k / 1e4) for band in "grz"}
    flux, how = SDSS_GRI.channel_fluxes(planes)
    assert how["i"] == "interpolated from r and z"
    assert np.allclose(flux["i"], band_wavelength("i") ** k / 1e4, rtol=1e-9)
    with pytest.raises(InputError, match="cannot make"):
        SDSS_GRI.channel_fluxes({"J": planes["g"], "H": planes["r"], "K": planes["z"]})


def test_pixel_area_scales_fluxes_to_the_sdss_pixel():
    # The same surface brightness on pixels of half the size is a quarter of the flux per pixel.
    flux = {band: np.full((4, 4), 0.5) for band in "gri"}
    small_pixels = {band: value / 4.0 for band, value in flux.items()}
    assert np.allclose(SDSS_GRI.composite(small_pixels, pixel_scale_arcsec=0.198), SDSS_GRI.composite(flux))


def test_which_pixel_calibrated_values_are_per():
    assert nanomaggy_units({"BUNIT": "nanomaggy"}) and nanomaggy_units({"ORIGIN": "SDSS"})
    assert not nanomaggy_units({"BUNIT": "electron/s"})
    assert flux_pixel_scale({"SURVEY": "DECaLS"}, 0.1) == (0.262, "native pixel of decals")
    assert flux_pixel_scale({"ORIGIN": "SDSS"}, 0.162)[0] == 0.396
    assert flux_pixel_scale({}, None)[0] is None
