"""Colour metrics and the reference colorizers (grey, lightness lookup)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from skimage.color import deltaE_ciede2000

from galcolor import InputError
from galcolor.baselines import GreyColorizer, LightnessLookup
from galcolor.metrics import ab_mae, delta_e2000, galaxy_mask


def test_ab_mae_averages_channels_over_masked_pixels():
    truth = np.zeros((2, 3, 2))
    predicted = truth.copy()
    predicted[0, 0] = (4.0, -2.0)  # |error| mean 3 at one pixel
    assert ab_mae(predicted, truth) == pytest.approx(3.0 / 6)
    mask = np.zeros((2, 3), dtype=bool)
    mask[0, :2] = True
    assert ab_mae(predicted, truth, mask) == pytest.approx(1.5)
    assert np.isnan(ab_mae(predicted, truth, np.zeros((2, 3), dtype=bool)))


def test_delta_e2000_matches_skimage_on_masked_pixels():
    rng = np.random.default_rng(0)
    truth = np.dstack([rng.uniform(20, 80, (5, 5)), rng.uniform(-20, 20, (5, 5)), rng.uniform(-20, 40, (5, 5))])
    predicted = truth + rng.normal(0, 3, truth.shape)
    mask = truth[..., 0] > 50
    expected = deltaE_ciede2000(predicted, truth)[mask].mean()
    assert delta_e2000(predicted, truth, mask) == pytest.approx(expected, rel=1e-12)


def test_metric_shape_errors():
    with pytest.raises(InputError, match="expected two"):
        ab_mae(np.zeros((2, 2, 3)), np.zeros((2, 2, 3)))
    with pytest.raises(InputError, match="mask shape"):
        delta_e2000(np.zeros((2, 2, 3)), np.zeros((2, 2, 3)), np.zeros((3, 3), dtype=bool))


def test_galaxy_mask_is_l_above_15_and_valid():
    lightness = np.array([[10.0, 15.0, 15.5, 90.0]])
    valid = np.array([[True, True, True, False]])
    assert galaxy_mask(lightness).tolist() == [[False, False, True, True]]
    assert galaxy_mask(lightness, valid).tolist() == [[False, False, True, False]]


def test_grey_predicts_zero_chroma():
    ab, ab_std = GreyColorizer().predict(torch.rand(2, 1, 4, 4) * 100)
    assert ab.shape == (2, 2, 4, 4) and not ab.any() and not ab_std.any()
    with pytest.raises(InputError, match=r"\(B, 1, H, W\)"):
        GreyColorizer().predict(torch.zeros(4, 4))


def test_lookup_learns_mean_and_spread_per_lightness_bin():
    lightness = torch.tensor([20.2, 20.7, 20.5, 70.1]).reshape(1, 1, 2, 2)
    ab = torch.tensor([[2.0, 6.0, 100.0, -8.0], [1.0, 3.0, 100.0, 5.0]]).reshape(1, 2, 2, 2)
    valid = torch.tensor([True, True, False, True]).reshape(1, 1, 2, 2)
    lookup = LightnessLookup().fit([{"lightness": lightness, "ab": ab, "valid_mask": valid}])
    predicted, spread = lookup.predict(torch.tensor([20.9, 70.9, 45.0]).reshape(1, 1, 1, 3))
    # Bin 20: mean of (2, 1) and (6, 3) = (4, 2), std (2, 1); the invalid
    # pixel (100, 100) is ignored. Bin 70: one pixel. Bin 45: unseen -> grey.
    assert predicted[0, :, 0, 0].tolist() == [4.0, 2.0]
    assert spread[0, :, 0, 0].tolist() == [2.0, 1.0]
    assert predicted[0, :, 0, 1].tolist() == [-8.0, 5.0]
    assert predicted[0, :, 0, 2].tolist() == [0.0, 0.0]
