"""Color metrics and the reference colorizers (grey, lightness lookup)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from skimage.color import deltaE_ciede2000
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from galcolor import InputError
from galcolor.baselines import GreyColorizer, LightnessLookup
from galcolor.color import AbGrid, lab_to_rgb_numpy
from galcolor.metrics import (
    ab_error_auc,
    ab_error_curve,
    ab_mae,
    ab_rmse,
    bootstrap_ci,
    classification_metrics,
    colorfulness,
    colorfulness_difference,
    delta_e2000,
    evaluate_image,
    galaxy_mask,
    psnr,
    ssim,
    summarize,
)


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


# ---------------------------------------------------------------------------
# Evaluation harness metrics (issue "galcolor evaluate").


def _random_lab(shape=(16, 16), seed=0):
    """A Lab image with galaxy-like values: L 20-80, |a*|, |b*| <= 20 (inside sRGB)."""
    rng = np.random.default_rng(seed)
    return np.dstack([rng.uniform(20, 80, shape), rng.uniform(-20, 20, shape), rng.uniform(-20, 20, shape)])


def _random_rgb(shape=(20, 20), seed=0):
    return np.random.default_rng(seed).uniform(0.05, 0.95, (*shape, 3))


def test_identical_images_score_perfectly_on_every_metric():
    truth = _random_lab()
    metrics = evaluate_image(truth, truth)
    assert metrics["ab_mae"] == 0.0 and metrics["ab_rmse"] == 0.0 and metrics["delta_e2000"] == 0.0
    assert metrics["auc"] == 1.0
    # Decision: a perfect prediction has PSNR = +inf (MSE = 0), as in scikit-image.
    assert metrics["psnr"] == np.inf
    # SSIM is (2 mu^2 + C1)(2 sigma^2 + C2) over itself: 1 up to rounding.
    assert metrics["ssim"] == pytest.approx(1.0, abs=1e-12)
    assert metrics["colorfulness_difference"] == 0.0
    assert metrics["colorfulness_predicted"] == metrics["colorfulness_true"] > 0


def test_constant_ab_offset_of_3_4_is_an_error_of_5_everywhere():
    # Integer-valued truth keeps every difference exactly (3, 4), so every
    # per-pixel error is exactly 5.0 and the curve's step sits exactly at t = 5.
    truth = np.random.default_rng(1).integers(-30, 30, (6, 7, 2)).astype(float)
    predicted = truth + np.array([3.0, 4.0])
    assert ab_mae(predicted, truth) == pytest.approx(3.5, rel=1e-12)
    assert ab_rmse(predicted, truth) == pytest.approx(np.sqrt((9 + 16) / 2), rel=1e-12)
    # The AuC integral is exact: the mean of 1 - e / 150.
    assert ab_error_auc(predicted, truth) == pytest.approx(1 - 5 / 150, rel=1e-12)
    thresholds, fraction = ab_error_curve(predicted, truth)
    assert thresholds.tolist() == list(range(151))
    assert (fraction[:5] == 0).all() and (fraction[5:] == 1).all()
    # The trapezoid over 1-unit steps counts half of the [4, 5] segment that
    # the exact integral leaves out: 145.5 / 150, off by half a step.
    trapezoid = (fraction[1:] + fraction[:-1]).sum() / 2 / 150
    assert trapezoid == pytest.approx(145.5 / 150, rel=1e-12)


def test_auc_equals_the_area_under_the_curve_within_half_a_step():
    rng = np.random.default_rng(2)
    truth = rng.uniform(-40, 40, (12, 12, 2))
    predicted = truth + rng.normal(0, 30, truth.shape)  # errors spread over 0-150 and beyond
    mask = rng.random((12, 12)) < 0.6
    thresholds, fraction = ab_error_curve(predicted, truth, mask)
    trapezoid = (fraction[1:] + fraction[:-1]).sum() / 2 / thresholds[-1]
    # Each pixel's contribution differs by at most half a step (1 unit) / 150.
    assert abs(trapezoid - ab_error_auc(predicted, truth, mask)) <= 0.5 / 150 + 1e-12
    assert ab_error_auc(predicted, truth, mask) != ab_error_auc(predicted, truth)


def test_ab_error_curve_rejects_a_threshold_that_is_not_a_multiple_of_the_step():
    ab = np.zeros((2, 2, 2))
    with pytest.raises(InputError, match="multiple of step"):
        ab_error_curve(ab, ab, max_threshold=10.0, step=3.0)
    with pytest.raises(InputError, match="max_threshold must be > 0"):
        ab_error_auc(ab, ab, max_threshold=0.0)


def test_psnr_equals_skimage_without_mask():
    truth = _random_rgb()
    predicted = np.clip(truth + np.random.default_rng(3).normal(0, 0.05, truth.shape), 0, 1)
    expected = peak_signal_noise_ratio(truth, predicted, data_range=1.0)
    # Same MSE summed in a different order: equal to rounding.
    assert psnr(predicted, truth) == pytest.approx(expected, rel=1e-12)
    assert psnr(truth + 0.01, truth) == pytest.approx(40.0, rel=1e-9)  # MSE = 1e-4


def test_ssim_equals_skimage_without_mask():
    truth = _random_rgb()
    predicted = np.clip(truth + np.random.default_rng(4).normal(0, 0.05, truth.shape), 0, 1)
    expected = structural_similarity(truth, predicted, channel_axis=-1, data_range=1.0)
    # Both average the same map over the pixels 3 or more from the edge.
    assert ssim(predicted, truth) == pytest.approx(expected, rel=1e-12)
    # Leading axes are separate images, pooled over pixels.
    pair = ssim(np.stack([predicted, truth]), np.stack([truth, truth]))
    assert pair == pytest.approx((expected + 1.0) / 2, rel=1e-12)


def test_masked_psnr_and_ssim_ignore_errors_outside_the_mask():
    truth = _random_rgb()
    predicted = truth.copy()
    noise = np.random.default_rng(10).normal(0, 0.2, (20, 8, 3))
    predicted[:, :8] = np.clip(predicted[:, :8] + noise, 0, 1)  # errors in columns 0-7 only
    mask = np.zeros((20, 20), dtype=bool)
    mask[:, 11:] = True  # SSIM windows (radius 3) of columns >= 11 never reach column 7
    assert np.isfinite(psnr(predicted, truth)) and psnr(predicted, truth, mask) == np.inf
    # The noisy windows are over half of the pixels SSIM evaluates (columns
    # 3-16): the mean drops to ~0.91, far below the 1 - 1e-12 of the masked one.
    assert ssim(predicted, truth) < 0.95
    assert ssim(predicted, truth, mask) == pytest.approx(1.0, abs=1e-12)


def test_ssim_needs_images_of_at_least_7_pixels_a_side():
    with pytest.raises(InputError, match=r"at least 7 x 7 .*\(6, 9, 3\)"):
        ssim(np.zeros((6, 9, 3)), np.zeros((6, 9, 3)))


def test_colorfulness_of_grey_is_zero_and_of_red_green_matches_hasler_susstrunk():
    assert colorfulness(np.full((4, 4, 3), 0.37)) == 0.0
    # Half pure red (rg = 255, yb = 127.5), half pure green (rg = -255,
    # yb = 127.5): std(rg) = 255, std(yb) = 0, mean(rg) = 0, mean(yb) = 127.5.
    image = np.zeros((2, 2, 3))
    image[0, :, 0] = 1.0
    image[1, :, 1] = 1.0
    assert colorfulness(image) == pytest.approx(255 + 0.3 * 127.5, rel=1e-12)
    only_red = np.zeros((2, 2), dtype=bool)
    only_red[0] = True
    assert colorfulness(image, only_red) == pytest.approx(0.3 * np.hypot(255, 127.5), rel=1e-12)
    grey = np.full_like(image, 0.5)
    assert colorfulness_difference(grey, image) == pytest.approx(-(255 + 0.3 * 127.5), rel=1e-12)


def test_empty_masks_give_nan_like_ab_mae_and_warn_nothing():
    # Same convention as ab_mae / delta_e2000: NaN, which summarize drops.
    truth = _random_lab()
    empty = np.zeros((16, 16), dtype=bool)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        metrics = evaluate_image(truth + 1.0, truth, empty)
        thresholds, fraction = ab_error_curve(truth[..., 1:], truth[..., 1:], empty)
    assert all(np.isnan(value) for value in metrics.values())
    assert np.isnan(fraction).all() and len(thresholds) == 151


def test_evaluate_image_gathers_the_metric_functions_on_the_mask():
    truth = _random_lab(seed=5)
    predicted = truth.copy()
    predicted[..., 1:] *= 0.5  # a desaturated prediction
    mask = galaxy_mask(truth[..., 0]) & (truth[..., 0] > 40)
    metrics = evaluate_image(predicted, truth, mask)
    predicted_rgb, true_rgb = lab_to_rgb_numpy(predicted), lab_to_rgb_numpy(truth)
    assert list(metrics) == ["ab_mae", "ab_rmse", "delta_e2000", "psnr", "ssim", "auc",
                             "colorfulness_predicted", "colorfulness_true", "colorfulness_difference"]
    assert metrics["ab_rmse"] == ab_rmse(predicted[..., 1:], truth[..., 1:], mask)
    assert metrics["psnr"] == psnr(predicted_rgb, true_rgb, mask)
    assert metrics["ssim"] == ssim(predicted_rgb, true_rgb, mask)
    assert metrics["auc"] == ab_error_auc(predicted[..., 1:], truth[..., 1:], mask)
    assert metrics["colorfulness_difference"] < 0  # halving the chroma dulls the image
    assert metrics["ab_mae"] != ab_mae(predicted[..., 1:], truth[..., 1:])  # the mask mattered


def test_bootstrap_interval_contains_the_mean_and_narrows_with_more_values():
    rng = np.random.default_rng(6)
    few, many = rng.normal(0, 1, 25), rng.normal(0, 1, 2500)
    estimate, low, high = bootstrap_ci(many)
    assert estimate == pytest.approx(many.mean(), rel=1e-12) and low < estimate < high
    # Normal theory: 2 * 1.96 * s / sqrt(n). 1000 resamples pin the 2.5 % and
    # 97.5 % quantiles to a few per cent, so 15 % is a safe margin.
    assert high - low == pytest.approx(2 * 1.96 * many.std() / np.sqrt(2500), rel=0.15)
    _, few_low, few_high = bootstrap_ci(few)
    # Expected ratio of widths ~sqrt(100) = 10; the width from 25 values is
    # itself uncertain by ~15 %, so 5 leaves ample room.
    assert (high - low) < (few_high - few_low) / 5


def test_bootstrap_is_reproducible_with_a_seed_and_drops_nan():
    values = np.random.default_rng(7).exponential(1.0, 50)
    assert bootstrap_ci(values, seed=3) == bootstrap_ci(values, seed=3)
    assert bootstrap_ci(values, seed=3) != bootstrap_ci(values, seed=4)
    assert bootstrap_ci(np.append(values, np.nan)) == bootstrap_ci(values)
    assert bootstrap_ci([2.5]) == (2.5, 2.5, 2.5)
    median, low, high = bootstrap_ci(values, statistic=np.median)
    assert median == np.median(values) and low <= median <= high
    with pytest.raises(InputError, match="no non-NaN value"):
        bootstrap_ci([np.nan, np.nan])
    with pytest.raises(InputError, match=r"1-D .*\(2, 2\)"):
        bootstrap_ci(np.zeros((2, 2)))


def test_bootstrap_keeps_infinite_psnr_without_turning_it_into_nan():
    estimate, low, high = bootstrap_ci([30.0, 35.0, np.inf])
    assert estimate == np.inf and high == np.inf and not np.isnan(low)


def test_summarize_gives_mean_interval_median_and_count_per_metric():
    rng = np.random.default_rng(8)
    per_image = pd.DataFrame({
        "galaxy": [f"g{i}" for i in range(40)],
        "ab_mae": np.append(rng.uniform(2, 6, 39), np.nan),  # one empty mask
        "auc": rng.uniform(0.9, 1.0, 40),
        "ssim": np.full(40, np.nan),
    })
    summary = summarize(per_image, n_resamples=500)
    assert list(summary.index) == ["ab_mae", "auc", "ssim"]  # numeric columns only
    assert list(summary.columns) == ["mean", "low", "high", "median", "n"]
    row = summary.loc["ab_mae"]
    assert row["n"] == 39 and row["mean"] == pytest.approx(np.nanmean(per_image["ab_mae"]), rel=1e-12)
    assert row["low"] < row["mean"] < row["high"]
    assert row["median"] == pytest.approx(np.nanmedian(per_image["ab_mae"]), rel=1e-12)
    assert summary.loc["ssim", "n"] == 0 and summary.loc["ssim", ["mean", "low", "high"]].isna().all()
    assert summarize(per_image, ["auc"], n_resamples=500).equals(summary.loc[["auc"]])
    with pytest.raises(InputError, match="no column"):
        summarize(per_image, ["psnr"])
    with pytest.raises(InputError, match="'galaxy' is not numeric"):
        summarize(per_image, ["galaxy"])


def _grid_and_truth():
    grid = AbGrid.from_samples(np.stack(np.meshgrid(np.arange(-12, 13, 4.0), np.arange(-12, 13, 4.0)), -1)
                               .reshape(-1, 2))
    true_ab = torch.from_numpy(np.random.default_rng(9).uniform(-12, 12, (2, 2, 5, 6))).float()
    return grid, true_ab


def test_classification_accuracy_is_one_for_logits_peaked_at_the_true_bin():
    grid, true_ab = _grid_and_truth()
    nearest = grid.quantize(true_ab)
    logits = 30.0 * torch.nn.functional.one_hot(nearest, grid.num_bins).permute(0, 3, 1, 2).float()
    metrics = classification_metrics(logits, true_ab, grid)
    assert metrics["accuracy"] == 1.0
    # -log p = log(1 + (K - 1) e^-30) ~ 5e-12, below float32 log-softmax rounding.
    assert metrics["cross_entropy"] == pytest.approx(0.0, abs=1e-6)
    uniform = classification_metrics(torch.zeros_like(logits), true_ab, grid)
    assert uniform["cross_entropy"] == pytest.approx(np.log(grid.num_bins), rel=1e-6)


def test_classification_metrics_average_over_the_mask():
    grid, true_ab = _grid_and_truth()
    nearest = grid.quantize(true_ab)
    predicted = nearest.clone()
    predicted[:, :, :3] = (nearest[:, :, :3] + 1) % grid.num_bins  # wrong in columns 0-2
    logits = 30.0 * torch.nn.functional.one_hot(predicted, grid.num_bins).permute(0, 3, 1, 2).float()
    assert classification_metrics(logits, true_ab, grid)["accuracy"] == pytest.approx(0.5)
    right_half = torch.zeros(2, 5, 6, dtype=torch.bool)
    right_half[..., 3:] = True
    assert classification_metrics(logits, true_ab, grid, right_half)["accuracy"] == 1.0
    assert classification_metrics(logits, true_ab, grid, right_half.numpy())["accuracy"] == 1.0


def test_classification_metrics_check_shapes():
    grid, true_ab = _grid_and_truth()
    logits = torch.zeros(2, grid.num_bins, 5, 6)
    with pytest.raises(InputError, match=r"true_ab must have shape \(2, 2, 5, 6\).*\(2, 2, 5, 5\)"):
        classification_metrics(logits, true_ab[..., :5], grid)
    with pytest.raises(InputError, match=r"logits must have shape \(B, K, H, W\)"):
        classification_metrics(logits[:, :3], true_ab, grid)
    with pytest.raises(TypeError, match="true_ab must be a torch.Tensor"):
        classification_metrics(logits, true_ab.permute(0, 2, 3, 1).numpy(), grid)
    with pytest.raises(InputError, match="mask shape"):
        classification_metrics(logits, true_ab, grid, np.ones((5, 6), dtype=bool))


def test_new_metric_shape_errors_name_the_argument_and_shape():
    with pytest.raises(InputError, match=r"ab_rmse: predicted_ab must have shape .*, got \(2, 2, 3\)"):
        ab_rmse(np.zeros((2, 2, 3)), np.zeros((2, 2, 2)))
    with pytest.raises(InputError, match=r"psnr: true_rgb shape \(3, 3, 3\) does not match predicted_rgb"):
        psnr(np.zeros((2, 2, 3)), np.zeros((3, 3, 3)))
    with pytest.raises(InputError, match=r"colorfulness: rgb must have shape .*, got \(4, 4\)"):
        colorfulness(np.zeros((4, 4)))
    with pytest.raises(InputError, match="ab_error_auc: mask shape"):
        ab_error_auc(np.zeros((2, 2, 2)), np.zeros((2, 2, 2)), np.ones((2, 3), dtype=bool))
    with pytest.raises(InputError, match=r"evaluate_image: predicted_lab must be one image .*\(2, 8, 8, 3\)"):
        evaluate_image(np.zeros((2, 8, 8, 3)), np.zeros((2, 8, 8, 3)))
